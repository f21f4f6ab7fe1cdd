/**
 * The persistence contract (persistence.contract.ts) looped over every implementation
 * (memory, write-ahead log + LevelDB, PostgreSQL on a real cluster), and crash replay of
 * the LevelDB one (PostgreSQL's is in postgres-persistence.test.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { persistenceContract, xsOf } from './persistence.contract.js';
import { LeveldbPersistence } from '../src/store/leveldb-persistence.js';
import { MemoryPersistence } from '../src/store/memory-persistence.js';
import { PostgresPersistence } from '../src/store/postgres-persistence.js';
import type { Persistence } from '../src/store/persistence.js';
import { pgUnavailable, startPg, type PgCluster } from './pg-harness.js';
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

const pgMissing = pgUnavailable();
if (pgMissing) console.warn(`skipping the PostgreSQL contract: ${pgMissing}`);
describe.skipIf(pgMissing)('on PostgreSQL', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPg();
  });
  afterAll(async () => {
    await cluster?.destroy();
  });
  const urls = new WeakMap<Persistence, string>();
  const openAt = async (url: string) => {
    const p = new PostgresPersistence({ connectionString: url, max: 2 });
    urls.set(p, url);
    await p.open();
    return p;
  };
  persistenceContract('PostgreSQL', {
    // A schema each: a fresh, empty store at the cost of one statement.
    create: async () => openAt(await cluster.createSchema()),
    reopen: async (prev) => openAt(urls.get(prev)!),
  });
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
