/**
 * The contract every Persistence implementation keeps (src/store/persistence.ts),
 * as one suite that test/persistence.test.ts runs for each of them (memory, the
 * write-ahead log + LevelDB, PostgreSQL), the way y-redis' storage tests loop over
 * their storages.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Persistence } from '../src/store/persistence.js';

export interface PersistenceFixture {
  /** A persistence over fresh storage. */
  create(): Promise<Persistence>;
  /** Another persistence over the same storage as `p` (after `p` was closed), or null when there is none (memory). */
  reopen(p: Persistence): Promise<Persistence | null>;
}

/** Updates that push 0..n-1 onto array 'xs', each a separate Yjs update. */
export function pushes(n: number, from = 0): { updates: Uint8Array[]; doc: Y.Doc } {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  for (let i = from; i < from + n; i++) doc.getArray<number>('xs').push([i]);
  return { updates, doc };
}

export function xsOf(update: Uint8Array | null): number[] {
  const doc = new Y.Doc();
  if (update) Y.applyUpdate(doc, update);
  return doc.getArray<number>('xs').toArray();
}

/** A Yjs update that sets key `k` of map 'm' (from a doc with its own client ID). */
export function setKey(k: string, v: unknown): Uint8Array {
  const d = new Y.Doc();
  d.getMap('m').set(k, v);
  return Y.encodeStateAsUpdate(d);
}

export function keysOf(update: Uint8Array | null): Record<string, unknown> {
  const d = new Y.Doc();
  if (update) Y.applyUpdate(d, update);
  return d.getMap('m').toJSON();
}

export function persistenceContract(name: string, fx: PersistenceFixture): void {
  describe(`persistence contract: ${name}`, () => {
    it('a new document loads empty', async () => {
      const p = await fx.create();
      expect(await p.load('fresh')).toEqual({ update: null, records: 0, bytes: 0 });
      expect(p.stats('fresh')).toEqual({ records: 0, bytes: 0, baseBytes: 0 });
      await p.close();
    });

    it('appends are counted at once and load back after commit, in order', async () => {
      const p = await fx.create();
      await p.load('d');
      const { updates } = pushes(5);
      await p.appendDurable('d', updates.slice(0, 2));
      await p.appendDurable('d', updates.slice(2));
      const bytes = updates.reduce((s, u) => s + u.byteLength, 0);
      expect(p.stats('d')).toEqual({ records: 5, bytes, baseBytes: updates[0].byteLength });
      await p.commit('d');
      expect(p.stats('d').records).toBe(5);
      p.forget('d');
      const loaded = await p.load('d');
      expect(loaded.records).toBe(5);
      expect(loaded.bytes).toBe(bytes);
      expect(xsOf(loaded.update)).toEqual([0, 1, 2, 3, 4]);
      expect(await p.list()).toContain('d');
      await p.close();
    });

    it('appends never committed are loaded too', async () => {
      const p = await fx.create();
      await p.load('d');
      await p.appendDurable('d', pushes(3).updates);
      p.forget('d');
      expect(xsOf((await p.load('d')).update)).toEqual([0, 1, 2]);
      await p.close();
      const again = await fx.reopen(p);
      if (again) {
        expect(await again.list()).toContain('d');
        expect(xsOf((await again.load('d')).update)).toEqual([0, 1, 2]);
        await again.close();
      }
    });

    it('compaction replaces the history by one state and keeps what is appended meanwhile', async () => {
      const p = await fx.create();
      await p.load('c');
      const { updates, doc } = pushes(10);
      await p.appendDurable('c', updates);
      await p.commit('c');
      const state = Y.encodeStateAsUpdate(doc);
      const committing = p.commit('c', state);
      // Appended while the compaction runs: not in `state`, kept beside it.
      const peer = new Y.Doc();
      Y.applyUpdate(peer, state);
      const extra: Uint8Array[] = [];
      peer.on('update', (u: Uint8Array) => extra.push(u));
      peer.getArray<number>('xs').push([10]);
      await p.appendDurable('c', extra);
      await committing;
      const s = p.stats('c');
      expect(s.records).toBe(2);
      expect(s.baseBytes).toBe(state.byteLength);
      await p.commit('c');
      p.forget('c');
      const loaded = await p.load('c');
      expect(xsOf(loaded.update)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // A compaction with nothing appended since leaves exactly one record.
      const all = new Y.Doc();
      Y.applyUpdate(all, loaded.update!);
      await p.commit('c', Y.encodeStateAsUpdate(all));
      expect(p.stats('c').records).toBe(1);
      p.forget('c');
      expect((await p.load('c')).records).toBe(1);
      await p.close();
    });

    it('documents are separate, also with names that share a prefix', async () => {
      const p = await fx.create();
      for (const d of ['a', 'a.b', 'ab']) await p.load(d);
      await p.appendDurable('a', pushes(1, 1).updates);
      await p.appendDurable('a.b', pushes(1, 2).updates);
      await p.appendDurable('ab', pushes(1, 3).updates);
      for (const d of ['a', 'a.b', 'ab']) await p.commit(d);
      for (const d of ['a', 'a.b', 'ab']) p.forget(d);
      expect(xsOf((await p.load('a')).update)).toEqual([1]);
      expect(xsOf((await p.load('a.b')).update)).toEqual([2]);
      expect(xsOf((await p.load('ab')).update)).toEqual([3]);
      expect((await p.list()).filter((d) => d.startsWith('a'))).toEqual(['a', 'a.b', 'ab']);
      await p.close();
    });

    it('updates from many clients load back as one merged update, whatever the batching', async () => {
      const p = await fx.create();
      await p.load('doc');
      await p.appendDurable('doc', [setKey('a', 1), setKey('b', 2)]);
      await p.appendDurable('doc', [setKey('c', 3)]);
      expect(p.stats('doc').records).toBe(3);
      await p.close();
      const again = (await fx.reopen(p)) ?? null;
      if (!again) return;
      const d = await again.load('doc');
      expect(keysOf(d.update)).toEqual({ a: 1, b: 2, c: 3 });
      expect(d.records).toBe(3);
      expect(d.bytes).toBeGreaterThan(0);
      await again.close();
    });

    it('forget drops bookkeeping only; the data loads again', async () => {
      const p = await fx.create();
      await p.load('doc');
      await p.appendDurable('doc', [setKey('kept', 1)]);
      p.forget('doc');
      const d = await p.load('doc');
      expect(keysOf(d.update)).toEqual({ kept: 1 });
      expect(p.stats('doc').records).toBe(1);
      await p.close();
    });

    it('refuses appends to a document that was not loaded', async () => {
      const p = await fx.create();
      let threw = false;
      try {
        await p.appendDurable('never-loaded', pushes(1).updates);
      } catch {
        threw = true;
      }
      expect(threw).toBe(true);
      await p.close();
    });

    it('close keeps everything for the next open', async () => {
      const p = await fx.create();
      await p.load('k');
      const { updates } = pushes(5);
      await p.appendDurable('k', updates.slice(0, 4));
      await p.commit('k');
      await p.appendDurable('k', updates.slice(4));
      await p.close();
      const again = await fx.reopen(p);
      if (!again) return;
      expect(xsOf((await again.load('k')).update)).toEqual([0, 1, 2, 3, 4]);
      await again.close();
    });
  });
}
