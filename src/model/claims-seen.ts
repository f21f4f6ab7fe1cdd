/**
 * "Does any live claim of another session meet these paths?" over raw awareness states, without
 * a presence view and without testing every claim: the claims of every state, indexed by literal
 * head (ClaimIndex), kept in step with the states lazily (a state is re-indexed only when its
 * object changed: awareness replaces a state on every update). With 100 sessions x 10 locks a
 * question costs an identity pass over 100 states and a trie lookup, not 1,000 pattern tests.
 * Exact: the index returns a superset of the claims that may overlap; each is then tested as
 * before.
 */
import { ClaimIndex, claimLive, type LockClaim } from './locks.js';
import { patternsOverlap } from './paths.js';
import { sessionOf, statusOf, STATUS_THRESHOLDS, type SessionState } from './session.js';

interface Entry {
  path: string;
  claim: LockClaim;
  s: SessionState;
}

class StatesIndex {
  private readonly byClient = new Map<number, { raw: unknown; entries: Entry[] }>();
  private readonly index = new ClaimIndex<Entry>();

  sync(states: Map<number, unknown>): void {
    for (const [id, raw] of states) {
      const cur = this.byClient.get(id);
      if (cur?.raw === raw) continue;
      if (cur) for (const e of cur.entries) this.index.remove(e);
      const entries: Entry[] = [];
      const s = sessionOf(raw);
      if (s && s.kind !== 'watcher') {
        for (const c of s.locks ?? []) {
          const e = { path: c.path, claim: c, s };
          this.index.add(e);
          entries.push(e);
        }
      }
      this.byClient.set(id, { raw, entries });
    }
    if (this.byClient.size === states.size) return;
    for (const [id, cur] of this.byClient) {
      if (states.has(id)) continue;
      for (const e of cur.entries) this.index.remove(e);
      this.byClient.delete(id);
    }
  }

  candidates(path: string): Entry[] {
    return this.index.candidates(path);
  }
}

/** One index per awareness' state map (the same Map object for the awareness' life). */
const indexes = new WeakMap<Map<number, unknown>, StatesIndex>();

export interface MeetOptions {
  /** Count only exclusive claims (a shared claim being asked about, or a write, which only an exclusive lock refuses). */
  exclusiveOnly: boolean;
  thresholds?: typeof STATUS_THRESHOLDS;
}

/**
 * Whether a live claim of another non-watcher, non-stale session (by session id, not `me`) in
 * `states` overlaps one of `paths`, at `now`. Force-released claims are not looked up: a yes
 * is "look closer", a no is exact.
 */
export function othersClaimMeets(states: Map<number, unknown>, me: string, paths: readonly string[], now: number, opts: MeetOptions): boolean {
  let ix = indexes.get(states);
  if (!ix) indexes.set(states, (ix = new StatesIndex()));
  ix.sync(states);
  const thresholds = opts.thresholds ?? STATUS_THRESHOLDS;
  for (const p of paths) {
    for (const e of ix.candidates(p)) {
      const c = e.claim;
      if (e.s.id === me || (opts.exclusiveOnly && c.mode !== 'exclusive') || !claimLive(c, now)) continue;
      if (statusOf(e.s, now, thresholds) === 'stale' || !patternsOverlap(c.path, p)) continue;
      return true;
    }
  }
  return false;
}
