/** src/model/view.ts: presence computed from awareness states, the same by every peer. */
import { describe, expect, it } from 'vitest';
import { blockingLock, buildPresence, editOverlaps } from '../src/model/view.js';
import { newSessionState, type SessionState } from '../src/model/session.js';
import type { LockClaim } from '../src/model/locks.js';

const NOW = 1_000_000;
const state = (id: string, patch: Partial<SessionState> = {}) => ({ huddle: { ...newSessionState({ id, name: id, role: 'agent' }, { host: 'h', pid: 1, cwd: '/' }, NOW - 1000, false), ...patch } });
const lock = (id: string, path: string, o: Partial<LockClaim> = {}): LockClaim => ({ id, path, mode: 'exclusive', claimedAt: NOW - 500, expiresAt: NOW + 60_000, capAt: NOW + 120_000, confirmed: true, ...o });

describe('presence view', () => {
  it('lists sessions and watchers apart; ignores states that are not ours', () => {
    const v = buildPresence(new Map<number, unknown>([[1, state('a')], [2, state('dash', { kind: 'watcher' })], [3, { user: 'x' }], [4, null]]), { now: NOW });
    expect(v.sessions.map((s) => s.id)).toEqual(['a']);
    expect(v.watchers.map((s) => s.id)).toEqual(['dash']);
  });

  it('one session under two client ids is listed once, with its first owner\'s state: a newer one cannot hide its locks (issue 13 §4)', () => {
    const v = buildPresence(new Map<number, unknown>([[1, state('a', { lastActive: NOW - 5000, task: 'old', locks: [lock('l1', 'src/a.ts')] })], [2, state('a', { lastActive: NOW - 10, task: 'new' })]]), { now: NOW });
    expect(v.sessions).toHaveLength(1);
    expect(v.sessions[0]).toMatchObject({ clientId: 1, task: 'old' });
    expect(blockingLock(v, 'b', 'src/a.ts')?.id).toBe('l1');
  });

  it('expired, forced and stale holders\' claims are not in force; the rest block others', () => {
    const states = new Map<number, unknown>([
      [1, state('a', { locks: [lock('l1', 'src/a.ts'), lock('l2', 'src/b.ts', { expiresAt: NOW - 1 }), lock('l3', 'src/c.ts')] })],
      [2, state('old', { lastActive: NOW - 3600_000, locks: [lock('l4', 'src/d.ts')] })],
    ]);
    const v = buildPresence(states, { now: NOW, isForced: (id) => id === 'l3' });
    expect(v.locks.map((l) => l.id)).toEqual(['l1']);
    expect(blockingLock(v, 'b', 'src/a.ts')?.id).toBe('l1');
    expect(blockingLock(v, 'a', 'src/a.ts')).toBeNull();
    expect(blockingLock(v, 'b', 'src/d.ts')).toBeNull();
  });

  it('edits of one file by two sessions overlap; intersecting line ranges are a conflict', () => {
    const v = buildPresence(new Map<number, unknown>([
      [1, state('a', { editing: [{ path: 'x.ts', ranges: [[1, 10]], at: NOW }, { path: 'y.ts', at: NOW }] })],
      [2, state('b', { editing: [{ path: 'x.ts', ranges: [[8, 20]], at: NOW }, { path: 'y.ts', ranges: [[1, 2]], at: NOW }] })],
    ]), { now: NOW });
    const o = editOverlaps(v);
    expect(o.map((e) => [e.path, e.conflict])).toEqual([['x.ts', true], ['y.ts', false]]);
    expect(o[0].overlapping).toEqual([[8, 10]]);
  });
});
