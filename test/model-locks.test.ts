/** src/model/locks.ts: the one rule every peer applies to the claims it sees. */
import { describe, expect, it } from 'vitest';
import { claimLive, conflicts, precedes, resolve, type SeenClaim } from '../src/model/locks.js';

const claim = (o: Partial<SeenClaim> & Pick<SeenClaim, 'id' | 'session'>): SeenClaim => ({
  path: 'src/a.ts', mode: 'exclusive', claimedAt: 100, expiresAt: 10_000, capAt: 20_000, confirmed: true, clientId: 1, sessionName: o.session, role: 'agent', ...o,
});

describe('locks', () => {
  it('conflicts: own claims never, shared with shared never, overlapping paths otherwise', () => {
    const a = { session: 'a', path: 'src', mode: 'exclusive' as const };
    expect(conflicts(a, { session: 'a', path: 'src/x.ts', mode: 'exclusive' })).toBe(false);
    expect(conflicts(a, { session: 'b', path: 'src/x.ts', mode: 'shared' })).toBe(true);
    expect(conflicts({ ...a, mode: 'shared' }, { session: 'b', path: 'src/x.ts', mode: 'shared' })).toBe(false);
    expect(conflicts(a, { session: 'b', path: 'test/x.ts', mode: 'exclusive' })).toBe(false);
  });

  it('precedence: confirmed, then earlier, then lower client id, then id', () => {
    expect(precedes(claim({ id: 'x', session: 'a', confirmed: true, claimedAt: 200 }), claim({ id: 'y', session: 'b', confirmed: false, claimedAt: 100 }))).toBe(true);
    expect(precedes(claim({ id: 'x', session: 'a', claimedAt: 100 }), claim({ id: 'y', session: 'b', claimedAt: 200 }))).toBe(true);
    expect(precedes(claim({ id: 'x', session: 'a', clientId: 2 }), claim({ id: 'y', session: 'b', clientId: 1 }))).toBe(false);
    expect(precedes(claim({ id: 'x', session: 'a' }), claim({ id: 'y', session: 'b' }))).toBe(true);
  });

  it('resolve is the same whatever the order of the claims', () => {
    const cs = [claim({ id: 'l1', session: 'a', claimedAt: 300 }), claim({ id: 'l2', session: 'b', claimedAt: 100, path: 'src' }), claim({ id: 'l3', session: 'c', path: 'test/x.ts' })];
    const r1 = resolve(cs);
    const r2 = resolve(cs.slice().reverse());
    expect(r1.held.map((c) => c.id).sort()).toEqual(['l2', 'l3']);
    expect(r1.blocked).toEqual([{ claim: cs[0], by: cs[1] }]);
    expect(r2.held.map((c) => c.id).sort()).toEqual(r1.held.map((c) => c.id).sort());
  });

  it('a claim lapses at its expiry or its cap, whichever comes first', () => {
    const c = claim({ id: 'l', session: 'a', expiresAt: 500, capAt: 400 });
    expect(claimLive(c, 399)).toBe(true);
    expect(claimLive(c, 400)).toBe(false);
  });
});
