/**
 * Advisory locks as claims in their holders' awareness states, and the one
 * rule every peer applies to the claims it sees to decide who holds what.
 * Pure: no sockets, no timers.
 */
import { patternsOverlap } from './paths.js';

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
  for (const c of sorted) {
    const by = held.find((h) => conflicts(h, c));
    if (by) blocked.push({ claim: c, by });
    else held.push(c);
  }
  return { held, blocked };
}

/** Whether a claim is still in force at `now`. */
export function claimLive(c: LockClaim, now: number): boolean {
  return now < c.expiresAt && now < c.capAt;
}
