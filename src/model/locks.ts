/**
 * Advisory locks as claims in their holders' awareness states, and the one
 * rule every peer applies to the claims it sees to decide who holds what.
 * Pure: no sockets, no timers.
 */
import { literalHead, patternsOverlap } from './paths.js';

export type LockMode = 'exclusive' | 'shared';

/** A claim as published in its holder's awareness state. */
export interface LockClaim {
  id: string;
  /** Repository-relative path or glob (see paths.ts). */
  path: string;
  mode: LockMode;
  reason?: string;
  /** Holder's clock, ms since epoch, when first claimed. */
  claimedAt: number;
  /** When it lapses unless renewed. */
  expiresAt: number;
  /** Renewals never extend past claimedAt + this cap. */
  capAt: number;
  /** Set once the claim made the round trip through the relay and won. */
  confirmed: boolean;
}

/** A claim together with who holds it, as seen by one peer. */
export interface SeenClaim extends LockClaim {
  clientId: number;
  session: string;
  sessionName: string;
  role: string;
}

export const LOCK_DEFAULTS = {
  /** Default time to live of a lock. */
  ttlMs: 30 * 60_000,
  /** Absolute cap on a lock's life, renewals included. */
  capMs: 8 * 60 * 60_000,
};

export function conflicts(a: { mode: LockMode; path: string; session: string }, b: { mode: LockMode; path: string; session: string }): boolean {
  if (a.session === b.session) return false;
  if (a.mode === 'shared' && b.mode === 'shared') return false;
  return patternsOverlap(a.path, b.path);
}

/** Precedence: confirmed claims first, then the earliest claim, then the lower client ID. */
export function precedes(a: SeenClaim, b: SeenClaim): boolean {
  if (a.confirmed !== b.confirmed) return a.confirmed;
  if (a.claimedAt !== b.claimedAt) return a.claimedAt < b.claimedAt;
  if (a.clientId !== b.clientId) return a.clientId < b.clientId;
  return a.id < b.id;
}

export interface Resolution {
  /** Claims that hold their lock. */
  held: SeenClaim[];
  /** Claims blocked by a held one, with the claim that blocks each. */
  blocked: Array<{ claim: SeenClaim; by: SeenClaim }>;
}

/**
 * Decide holders among live claims (the caller filters out expired, forced
 * and dead ones). Deterministic for a given set of claims, whatever the order
 * they are passed in, so every peer that sees the same claims agrees.
 */
export function resolve(claims: SeenClaim[]): Resolution {
  const sorted = claims.slice().sort((a, b) => (precedes(a, b) ? -1 : precedes(b, a) ? 1 : 0));
  const held: SeenClaim[] = [];
  const blocked: Resolution['blocked'] = [];
  // Held claims indexed by their literal head, so each claim is compared only with the few
  // that can overlap it (1,000 claims on distinct files: linear, not quadratic).
  const index = new ClaimIndex<SeenClaim>();
  const rank = new Map<SeenClaim, number>();
  for (const c of sorted) {
    // The first held claim (in precedence order) that conflicts blocks it, as a linear scan would find.
    let by: SeenClaim | undefined;
    for (const h of index.candidates(c.path)) {
      if ((!by || rank.get(h)! < rank.get(by)!) && conflicts(h, c)) by = h;
    }
    if (by) blocked.push({ claim: c, by });
    else {
      rank.set(c, held.length);
      held.push(c);
      index.add(c);
    }
  }
  return { held, blocked };
}

interface IndexNode<T> {
  here: T[];
  kids: Map<string, IndexNode<T>>;
}

/**
 * Claims by the leading literal segments of their path (a trie). Two patterns can only
 * overlap when one's literal head is a prefix of the other's (see patternsOverlap), so the
 * candidates for a path are the claims on the trie path down to its head and everything below.
 */
export class ClaimIndex<T extends { path: string }> {
  private readonly root: IndexNode<T> = { here: [], kids: new Map() };

  add(c: T): void {
    let n = this.root;
    for (const seg of literalHead(c.path)) {
      let k = n.kids.get(seg);
      if (!k) n.kids.set(seg, (k = { here: [], kids: new Map() }));
      n = k;
    }
    n.here.push(c);
  }

  /** Remove `c` (the same object that was added); false when it is not here. */
  remove(c: T): boolean {
    let n: IndexNode<T> | undefined = this.root;
    for (const seg of literalHead(c.path)) {
      n = n.kids.get(seg);
      if (!n) return false;
    }
    const i = n.here.indexOf(c);
    if (i < 0) return false;
    n.here.splice(i, 1);
    return true;
  }

  /** Every claim that may overlap `path` (a superset; callers still test each). */
  candidates(path: string): T[] {
    const out: T[] = [];
    let n: IndexNode<T> | undefined = this.root;
    for (const seg of literalHead(path)) {
      out.push(...n.here);
      n = n.kids.get(seg);
      if (!n) return out;
    }
    const stack = [n];
    while (stack.length) {
      const x = stack.pop()!;
      out.push(...x.here);
      for (const k of x.kids.values()) stack.push(k);
    }
    return out;
  }
}

/** Whether a claim is still in force at `now`. */
export function claimLive(c: LockClaim, now: number): boolean {
  return now < c.expiresAt && now < c.capAt;
}
