/**
 * Which sessions sharing one awareness may have to yield a confirmed claim after a presence
 * change (Presence.checkYield, which asks claimsToYield): one index per awareness of every member's
 * confirmed claims, so that a change is looked at once, not once by each of 100 hosted
 * sessions. Only a member holding a confirmed claim that a changed state's confirmed, live
 * claim overlaps (not both shared) is asked to check; every other member would find nothing
 * to yield, so asking fewer changes no outcome.
 */
import type { Awareness } from 'y-protocols/awareness';
import { ClaimIndex, claimLive, precedes, type LockClaim } from '../model/locks.js';
import { patternsOverlap } from '../model/paths.js';
import { sessionOf, statusOf } from '../model/session.js';
import type { ClaimOwner } from './lock-confirmation.js';
import type { ClaimFilters } from './presence-types.js';

interface Entry<K> {
  path: string;
  claim: LockClaim;
  owner: K;
}

/** Confirmed claims of several owners, by path (pure: no awareness, no timers). */
export class ConfirmedClaims<K> {
  private readonly index = new ClaimIndex<Entry<K>>();
  private readonly byOwner = new Map<K, { locks: readonly LockClaim[]; entries: Entry<K>[] }>();

  /** Record `owner`'s claims (its confirmed ones are indexed); a no-op when it is the same array as last time. */
  set(owner: K, locks: readonly LockClaim[]): void {
    const prev = this.byOwner.get(owner);
    if (prev?.locks === locks) return;
    if (prev) for (const e of prev.entries) this.index.remove(e);
    const entries: Entry<K>[] = [];
    for (const c of locks) {
      if (!c.confirmed) continue;
      const e = { path: c.path, claim: c, owner };
      this.index.add(e);
      entries.push(e);
    }
    this.byOwner.set(owner, { locks, entries });
  }

  delete(owner: K): void {
    const prev = this.byOwner.get(owner);
    if (!prev) return;
    for (const e of prev.entries) this.index.remove(e);
    this.byOwner.delete(owner);
  }

  /**
   * Add to `out` every owner (other than `except`) holding a confirmed claim that `claim`
   * conflicts with by path and mode: the only owners whose claims `claim` could beat.
   */
  ownersMet(claim: Pick<LockClaim, 'path' | 'mode'>, except: (owner: K) => boolean, out: Set<K>): void {
    for (const e of this.index.candidates(claim.path)) {
      if (out.has(e.owner) || (claim.mode === 'shared' && e.claim.mode === 'shared') || except(e.owner)) continue;
      if (patternsOverlap(claim.path, e.path)) out.add(e.owner);
    }
  }
}

export interface YieldMember {
  /** The member's session id (a state of its own session never beats it). */
  readonly id: string;
  /** The member's current claims (replaced, never changed in place). */
  readonly published: { readonly locks: readonly LockClaim[] };
  /** Look at the states of these client IDs for a confirmed claim ours must yield to. */
  checkYield(ids: number[]): void;
}

/**
 * The members among `members` to ask about a change of the states of `ids`: those a
 * changed state's confirmed, live claim meets (see ConfirmedClaims.ownersMet). Stale and
 * force-released claims are not filtered here (a superset: the member filters them).
 */
export function membersToCheck<K extends YieldMember>(claims: ConfirmedClaims<K>, members: Iterable<K>, states: Map<number, unknown>, ids: readonly number[], now: number): Set<K> {
  for (const m of members) claims.set(m, m.published.locks);
  const out = new Set<K>();
  for (const id of ids) {
    const s = sessionOf(states.get(id));
    if (!s || s.kind === 'watcher' || !s.locks?.length) continue;
    for (const c of s.locks) {
      if (!c.confirmed || !claimLive(c, now)) continue;
      claims.ownersMet(c, (m) => m.id === s.id, out);
    }
  }
  return out;
}

/** One change listener per awareness, shared by every Presence viewing it. */
class YieldHub<K extends YieldMember> {
  readonly members = new Set<K>();
  private readonly claims = new ConfirmedClaims<K>();
  private readonly changed = new Set<number>();
  private queued = false;

  constructor(private readonly view: Awareness) {
    view.on('change', this.onChange);
  }

  private onChange = ({ added, updated }: { added: number[]; updated: number[]; removed: number[] }): void => {
    for (const id of added) this.changed.add(id);
    for (const id of updated) this.changed.add(id);
    // Coalesce the changes of one tick into one check.
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      const ids = Array.from(this.changed);
      this.changed.clear();
      if (ids.length === 0) return;
      let ask: Set<K>;
      try {
        ask = membersToCheck(this.claims, this.members, this.view.getStates(), ids, Date.now());
      } catch {
        return;
      }
      for (const m of ask) {
        if (!this.members.has(m)) continue;
        try {
          m.checkYield(ids);
        } catch {
          // Never let one bad state end the process (states are validated; this is the last resort).
        }
      }
    });
  };

  leave(m: K): boolean {
    this.members.delete(m);
    this.claims.delete(m);
    if (this.members.size > 0) return false;
    this.view.off('change', this.onChange);
    return true;
  }
}

const hubs = new WeakMap<Awareness, YieldHub<YieldMember>>();

/** Have `m` asked to check for yielding when the states in `view` change; returns a function that stops it. */
export function joinYieldHub(view: Awareness, m: YieldMember): () => void {
  let hub = hubs.get(view);
  if (!hub) hubs.set(view, (hub = new YieldHub(view)));
  hub.members.add(m);
  const h = hub;
  return () => {
    if (h.leave(m) && hubs.get(view) === h) hubs.delete(view);
  };
}

/**
 * Which of our confirmed claims (`mine`, indexed by literal head) must yield to a confirmed,
 * live claim in the states of `ids`: those the resolution rule puts the other claim before.
 * Only other sessions' confirmed claims can beat a confirmed claim, and ours was checked
 * against every claim in view when it was confirmed, so only the changed states are scanned.
 */
export function claimsToYield(states: Map<number, unknown>, ids: readonly number[], me: ClaimOwner, mine: ClaimIndex<LockClaim>, now: number, opts: ClaimFilters): LockClaim[] {
  const lost: LockClaim[] = [];
  for (const clientId of ids) {
    const raw = states.get(clientId);
    const s = sessionOf(raw);
    if (!s || s.id === me.session || s.kind === 'watcher' || statusOf(s, now, opts.thresholds) === 'stale') continue;
    for (const c of s.locks ?? []) {
      if (!c.confirmed || !claimLive(c, now) || opts.isForced?.(c.id)) continue;
      for (const m of mine.candidates(c.path)) {
        // Cheap tests first: this runs in every hosted session on every presence change.
        if ((c.mode === 'shared' && m.mode === 'shared') || lost.includes(m) || !patternsOverlap(c.path, m.path)) continue;
        const theirs = { ...c, clientId, session: s.id, sessionName: s.name, role: s.role };
        if (precedes(theirs, { ...m, ...me })) lost.push(m);
      }
    }
  }
  return lost;
}
