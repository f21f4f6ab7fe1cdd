/**
 * The persistence contract as a reusable function: every implementation of
 * src/store/persistence.ts runs these cases (postgres-persistence.test.ts calls it
 * for PostgreSQL; the LevelDB and memory suites can call it the same way).
 *
 * `storage()` gives a fresh storage location; `open(location)` a new Persistence
 * instance on it, as a restarted process would get.
 */
import { describe, test, expect, afterEach } from 'vitest';
import * as Y from 'yjs';
import type { Persistence } from '../src/store/persistence.js';

export interface ContractTarget<L> {
  storage(): Promise<L>;
  open(location: L): Promise<Persistence>;
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

export function persistenceContract<L>(name: string, target: ContractTarget<L>): void {
  describe(`persistence contract: ${name}`, () => {
    const opened: Persistence[] = [];
    const open = async (loc: L) => {
      const p = await target.open(loc);
      await p.open();
      opened.push(p);
      return p;
    };
    afterEach(async () => {
      while (opened.length) await opened.pop()!.close().catch(() => undefined);
    });

    test('a new document loads as empty', async () => {
      const p = await open(await target.storage());
      const d = await p.load('fresh');
      expect(d.update).toBeNull();
      expect(d.records).toBe(0);
      expect(p.stats('fresh').records).toBe(0);
    });

    test('appended updates survive a new instance, in one merged update', async () => {
      const loc = await target.storage();
      const a = await open(loc);
      await a.load('doc');
      await a.appendDurable('doc', [setKey('a', 1), setKey('b', 2)]);
      await a.appendDurable('doc', [setKey('c', 3)]);
      expect(a.stats('doc').records).toBe(3);
      const b = await open(loc);
      const d = await b.load('doc');
      expect(keysOf(d.update)).toEqual({ a: 1, b: 2, c: 3 });
      expect(d.records).toBe(3);
      expect(d.bytes).toBeGreaterThan(0);
    });

    test('compaction replaces the history by one state, and later appends stay', async () => {
      const loc = await target.storage();
      const p = await open(loc);
      await p.load('doc');
      const doc = new Y.Doc();
      for (let i = 0; i < 20; i++) {
        const u = setKey(`k${i}`, i);
        Y.applyUpdate(doc, u);
        await p.appendDurable('doc', [u]);
      }
      const state = Y.encodeStateAsUpdate(doc);
      await p.commit('doc', state);
      expect(p.stats('doc')).toEqual({ records: 1, bytes: state.length, baseBytes: state.length });
      await p.appendDurable('doc', [setKey('after', true)]);
      const again = await open(loc);
      const d = await again.load('doc');
      expect(d.records).toBe(2);
      const keys = keysOf(d.update);
      expect(Object.keys(keys)).toHaveLength(21);
      expect(keys.after).toBe(true);
    });

    test('commit without compaction keeps everything', async () => {
      const loc = await target.storage();
      const p = await open(loc);
      await p.load('doc');
      await p.appendDurable('doc', [setKey('x', 1)]);
      await p.commit('doc');
      const d = await (await open(loc)).load('doc');
      expect(keysOf(d.update)).toEqual({ x: 1 });
    });

    test('documents are separate; list names every stored one', async () => {
      const loc = await target.storage();
      const p = await open(loc);
      for (const doc of ['alpha', 'beta', 'alphabet']) {
        await p.load(doc);
        await p.appendDurable(doc, [setKey(doc, doc.length)]);
      }
      const q = await open(loc);
      expect((await q.list()).sort()).toEqual(['alpha', 'alphabet', 'beta']);
      expect(keysOf((await q.load('alpha')).update)).toEqual({ alpha: 5 });
      expect(keysOf((await q.load('alphabet')).update)).toEqual({ alphabet: 8 });
    });

    test('forget drops bookkeeping only; the data loads again', async () => {
      const loc = await target.storage();
      const p = await open(loc);
      await p.load('doc');
      await p.appendDurable('doc', [setKey('kept', 1)]);
      p.forget('doc');
      const d = await p.load('doc');
      expect(keysOf(d.update)).toEqual({ kept: 1 });
      expect(p.stats('doc').records).toBe(1);
    });
  });
}
