/** The persistence contract (persistence.contract.ts) for every implementation, and crash replay of the durable one. */
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { persistenceContract, xsOf } from './persistence.contract.js';
import { LeveldbPersistence } from '../src/store/leveldb-persistence.js';
import { MemoryPersistence } from '../src/store/memory-persistence.js';
import type { Persistence } from '../src/store/persistence.js';
import { cleanup, ROOT, spawnJsonLines, tempDir, waitExit, waitFor } from './helpers.js';

afterEach(cleanup);

const dirs = new WeakMap<Persistence, string>();

persistenceContract('write-ahead log + LevelDB', {
  async create() {
    const dir = path.join(tempDir(), 'data');
    const p = new LeveldbPersistence(dir);
    dirs.set(p, dir);
    await p.open();
    return p;
  },
  async reopen(prev) {
    const p = new LeveldbPersistence(dirs.get(prev)!);
    await p.open();
    return p;
  },
});

persistenceContract('memory', {
  async create() {
    const p = new MemoryPersistence();
    await p.open();
    return p;
  },
  reopen: async () => null,
});

describe('crash replay (write-ahead log + LevelDB)', () => {
  it('every append reported durable survives SIGKILL of the writing process, every time', async () => {
    const script = path.join(ROOT, 'dist/test/fixtures/persistence-writer.js');
    const dir = path.join(tempDir(), 'data');
    let reported = -1;
    for (let round = 0; round < 3; round++) {
      const { p, lines } = spawnJsonLines(script, [dir, 'crash']);
      // Past a few commits and compactions, then killed mid-stream.
      await waitFor(() => lines.length >= 60 + round * 25, 'appends', 20_000);
      p.kill('SIGKILL');
      await waitExit(p);
      reported = Math.max(reported, ...lines.map((l) => l.n as number));
      const store = new LeveldbPersistence(dir);
      await store.open();
      const xs = xsOf((await store.load('crash')).update);
      await store.close();
      // Nothing reported is missing, nothing is duplicated, order is kept.
      expect(xs.length).toBeGreaterThan(reported);
      expect(xs).toEqual(Array.from({ length: xs.length }, (_, i) => i));
    }
  });
});
