/**
 * The exact shortcuts that keep PreToolUse and presence changes cheap with 100 sessions x 10 locks
 * (issue 13 §5): each must say "nothing to do" only when the full computation finds nothing.
 */
import { describe, expect, it } from 'vitest';
import { blockingLock, buildPresence, mayBlockWrite } from '../src/model/view.js';
import { ClaimIndex, claimLive, conflicts, type LockClaim } from '../src/model/locks.js';
import { patternsOverlap } from '../src/model/paths.js';
import { newSessionState, type SessionState } from '../src/model/session.js';
import { ConfirmedClaims, membersToCheck, type YieldMember } from '../src/peer/yield-index.js';
import { othersClaimMeets } from '../src/model/claims-seen.js';

const NOW = 1_000_000;
const state = (id: string, patch: Partial<SessionState> = {}) => ({ huddle: { ...newSessionState({ id, name: id, role: 'agent' }, { host: 'h', pid: 1, cwd: '/' }, NOW - 1000, false), ...patch } });
const lock = (id: string, path: string, o: Partial<LockClaim> = {}): LockClaim => ({ id, path, mode: 'exclusive', claimedAt: NOW - 500, expiresAt: NOW + 60_000, capAt: NOW + 120_000, confirmed: true, ...o });

/** What the hook refuses: an exclusive, non-blocked lock of another session on one of the paths. */
const refused = (states: Map<number, unknown>, me: string, paths: string[], isForced?: (id: string) => boolean) => {
  const v = buildPresence(states, { now: NOW, isForced });
  return paths.some((p) => blockingLock(v, me, p)?.mode === 'exclusive');
};

/** A small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const PATHS = ['src/a.ts', 'src/b.ts', 'src/**', 'src/*.ts', 'docs', 'docs/x.md', '**', 'lib/c.ts', 'src/sub/d.ts', 'README.md'];

describe('mayBlockWrite (PreToolUse without a presence view)', () => {
  it('finds the lock a view would deny: glob over file, file under folder, another client of the holder', () => {
    const states = new Map<number, unknown>([[1, state('a', { locks: [lock('l1', 'src/**')] })], [2, state('b', { locks: [lock('l2', 'docs')] })]]);
    expect(mayBlockWrite(states, 'c', ['src/x/y.ts'], NOW)).toBe(true);
    expect(refused(states, 'c', ['src/x/y.ts'])).toBe(true);
    expect(mayBlockWrite(states, 'c', ['free.ts', 'docs/guide.md'], NOW)).toBe(true);
    expect(mayBlockWrite(states, 'c', ['**'], NOW)).toBe(true);
    expect(mayBlockWrite(states, 'c', ['lib/z.ts'], NOW)).toBe(false);
  });

  it('says no for what a view never denies: own locks, shared, expired, stale holders, watchers', () => {
    const states = new Map<number, unknown>([
      [1, state('me', { locks: [lock('l1', 'a.ts')] })],
      [2, state('s', { locks: [lock('l2', 'b.ts', { mode: 'shared' })] })],
      [3, state('e', { locks: [lock('l3', 'c.ts', { expiresAt: NOW - 1 })] })],
      [4, state('old', { lastActive: NOW - 3600_000, locks: [lock('l4', 'd.ts')] })],
      [5, state('w', { kind: 'watcher', locks: [lock('l5', 'e.ts')] })],
    ]);
    expect(mayBlockWrite(states, 'me', ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts'], NOW)).toBe(false);
    expect(refused(states, 'me', ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts'])).toBe(false);
  });

  it('never says no where the full view refuses the write (random rooms)', () => {
    const r = rng(13);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    let refusals = 0;
    for (let round = 0; round < 400; round++) {
      const states = new Map<number, unknown>();
      const n = 1 + Math.floor(r() * 5);
      for (let i = 0; i < n; i++) {
        const locks = Array.from({ length: Math.floor(r() * 4) }, (_, k) =>
          lock(`l${i}-${k}`, pick(PATHS), { mode: r() < 0.3 ? 'shared' : 'exclusive', confirmed: r() < 0.7, claimedAt: NOW - Math.floor(r() * 1000), expiresAt: r() < 0.1 ? NOW - 1 : NOW + 1000 }));
        states.set(i + 1, state(pick(['a', 'b', 'c', 'me']), { locks, lastActive: r() < 0.1 ? NOW - 3600_000 : NOW - 10 }));
      }
      const paths = [pick(PATHS), ...(r() < 0.5 ? [pick(PATHS)] : [])];
      const forced = r() < 0.2 ? 'l0-0' : '';
      const deny = refused(states, 'me', paths, (id) => id === forced);
      if (deny) refusals++;
      if (deny) expect(mayBlockWrite(states, 'me', paths, NOW), JSON.stringify({ paths, states: [...states] })).toBe(true);
    }
    expect(refusals).toBeGreaterThan(50);
  });
});

describe('ClaimIndex.remove', () => {
  it('removes the very claim, so it is no longer a candidate', () => {
    const ix = new ClaimIndex<{ path: string }>();
    const a = { path: 'src/a.ts' };
    const b = { path: 'src/**' };
    ix.add(a);
    ix.add(b);
    expect(ix.candidates('src/a.ts')).toEqual(expect.arrayContaining([a, b]));
    expect(ix.remove(a)).toBe(true);
    expect(ix.remove(a)).toBe(false);
    expect(ix.remove({ path: 'src/a.ts' })).toBe(false);
    expect(ix.candidates('src/a.ts')).toEqual([b]);
  });
});

describe('membersToCheck (one yield index per awareness)', () => {
  type Member = YieldMember & { published: { locks: LockClaim[] } };
  const member = (id: string, locks: LockClaim[]): Member => ({ id, published: { locks }, checkYield: () => {} });

  it('asks the holder of a confirmed claim that a changed confirmed claim meets, and only it', () => {
    const m1 = member('m1', [lock('a', 'src/a.ts'), lock('b', 'docs/x.md', { mode: 'shared' })]);
    const m2 = member('m2', [lock('c', 'lib/**')]);
    const m3 = member('m3', [lock('d', 'src/a.ts', { confirmed: false })]);
    const claims = new ConfirmedClaims<typeof m1>();
    const states = new Map<number, unknown>([
      [7, state('x', { locks: [lock('x1', 'src/*.ts')] })],
      [8, state('y', { locks: [lock('y1', 'docs/x.md', { mode: 'shared' }), lock('y2', 'lib/q.ts', { confirmed: false })] })],
      [9, state('m2', { locks: [lock('c2', 'lib/q.ts')] })],
    ]);
    expect([...membersToCheck(claims, [m1, m2, m3], states, [7], NOW)].map((m) => m.id)).toEqual(['m1']);
    // shared meets shared: nothing; unconfirmed rival claims: nothing; the member's own session: nothing.
    expect(membersToCheck(claims, [m1, m2, m3], states, [8, 9], NOW).size).toBe(0);
    // Locks change: the index follows (the old claim no longer counts, the new one does).
    const next = [lock('e', 'elsewhere.ts')];
    m1.published = { locks: next };
    expect(membersToCheck(claims, [m1, m2, m3], states, [7], NOW).size).toBe(0);
    m2.published = { locks: [lock('f', 'src/a.ts')] };
    expect([...membersToCheck(claims, [m1, m2, m3], states, [7], NOW)].map((m) => m.id)).toEqual(['m2']);
  });

  it('never leaves out a member whose claim a changed state could beat (random rooms)', () => {
    const r = rng(7);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const claims = new ConfirmedClaims<ReturnType<typeof member>>();
    const members = Array.from({ length: 6 }, (_, i) => member(`m${i}`, []));
    let asked = 0;
    for (let round = 0; round < 300; round++) {
      for (const m of members) if (r() < 0.5) m.published = { locks: Array.from({ length: Math.floor(r() * 3) }, (_, k) => lock(`${m.id}-${round}-${k}`, pick(PATHS), { mode: r() < 0.3 ? 'shared' : 'exclusive', confirmed: r() < 0.7 })) };
      const states = new Map<number, unknown>();
      for (let i = 0; i < 4; i++) states.set(i, state(pick(['x', 'y', 'm0', 'm1']), { locks: Array.from({ length: Math.floor(r() * 3) }, (_, k) => lock(`s${i}-${k}`, pick(PATHS), { mode: r() < 0.3 ? 'shared' : 'exclusive', confirmed: r() < 0.7, expiresAt: r() < 0.1 ? NOW - 1 : NOW + 1000 })) }));
      const ids = [0, 1, 2, 3].filter(() => r() < 0.6);
      const got = membersToCheck(claims, members, states, ids, NOW);
      // Brute force: a member with a confirmed claim that a changed, confirmed, live claim of another session conflicts with.
      for (const m of members) {
        const must = ids.some((id) => {
          const s = (states.get(id) as { huddle: SessionState }).huddle;
          return s.id !== m.id && s.locks.some((c) => c.confirmed && claimLive(c, NOW) && m.published.locks.some((mine) => mine.confirmed && patternsOverlap(c.path, mine.path) && conflicts({ ...c, session: s.id }, { ...mine, session: m.id })));
        });
        if (must) {
          asked++;
          expect(got.has(m), `${m.id} round ${round}`).toBe(true);
        }
      }
    }
    expect(asked).toBeGreaterThan(50);
  });
});

describe('othersClaimMeets (claims indexed per state map, kept in step lazily)', () => {
  it('follows one map through added, replaced and removed states, exactly as a scan of every claim', () => {
    const r = rng(99);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const states = new Map<number, unknown>();
    const scan = (me: string, paths: string[], exclusiveOnly: boolean) => {
      for (const raw of states.values()) {
        const s = (raw as { huddle?: SessionState } | null)?.huddle;
        if (!s || s.id === me || s.kind === 'watcher' || s.lastActive < NOW - 3600_000 + 1) continue;
        for (const c of s.locks) if (claimLive(c, NOW) && !(exclusiveOnly && c.mode !== 'exclusive') && paths.some((p) => patternsOverlap(c.path, p))) return true;
      }
      return false;
    };
    let yes = 0;
    for (let round = 0; round < 500; round++) {
      const id = Math.floor(r() * 8);
      const what = r();
      if (what < 0.15) states.delete(id);
      else if (what < 0.2) states.set(id, { user: 'not ours' });
      else {
        const locks = Array.from({ length: Math.floor(r() * 4) }, (_, k) => lock(`l${round}-${k}`, pick(PATHS), { mode: r() < 0.3 ? 'shared' : 'exclusive', expiresAt: r() < 0.1 ? NOW - 1 : NOW + 1000 }));
        states.set(id, state(pick(['a', 'b', 'me']), { locks, kind: r() < 0.1 ? 'watcher' : 'session', lastActive: r() < 0.1 ? NOW - 3600_000 : NOW - 10 }));
      }
      const paths = [pick(PATHS), ...(r() < 0.5 ? [pick(PATHS)] : [])];
      const exclusiveOnly = r() < 0.5;
      const want = scan('me', paths, exclusiveOnly);
      if (want) yes++;
      expect(othersClaimMeets(states, 'me', paths, NOW, { exclusiveOnly }), `round ${round}`).toBe(want);
    }
    expect(yes).toBeGreaterThan(100);
  });
});
