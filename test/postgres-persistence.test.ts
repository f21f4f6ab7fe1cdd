/**
 * PostgreSQL persistence against a real cluster on loopback (the shared contract runs
 * in persistence.test.ts): crash replay (a child appending is SIGKILLed; everything it was told is durable
 * loads in a new process), and the lease fence on writes.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { describe, test, expect, beforeAll, afterAll } from 'vitest';
import * as Y from 'yjs';
import { PostgresPersistence, FencedError } from '../src/store/postgres-persistence.js';
import { setKey, keysOf } from './persistence.contract.js';
import { startPg, pgUnavailable, type PgCluster } from './pg-harness.js';
import { ROOT } from './helpers.js';

const missing = pgUnavailable();
if (missing) console.warn(`skipping PostgreSQL tests: ${missing}`);

describe.skipIf(missing)('PostgreSQL persistence', () => {
  let pg: PgCluster;
  beforeAll(async () => {
    pg = await startPg();
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  test('crash replay: a SIGKILLed appender loses nothing it was told is durable', async () => {
    const url = await pg.createDb();
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/test/fixtures/pg-append-child.js'), url, 'crash'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = 0;
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`appender exited early (${code})`)));
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        acked = (JSON.parse(line) as { acked: number }).acked;
        if (acked >= 300) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    const p = new PostgresPersistence({ connectionString: url, max: 1 });
    await p.open();
    const keys = keysOf((await p.load('crash')).update);
    await p.close();
    for (let i = 0; i < acked; i++) expect(keys[`k${i}`], `k${i} acknowledged but missing`).toBe(true);
  });

  test('the database stopped and restarted: writes are refused meanwhile, then succeed again by themselves', async () => {
    const url = await pg.createSchema();
    const p = new PostgresPersistence({ connectionString: url, max: 2 });
    await p.open();
    await p.load('outage');
    await p.appendDurable('outage', [setKey('before', 1)]);
    await pg.stop('immediate');
    try {
      await expect(p.appendDurable('outage', [setKey('during', 1)])).rejects.toThrow();
      await expect(p.ping()).rejects.toThrow();
    } finally {
      await pg.start();
    }
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = await p.appendDurable('outage', [setKey('after', 1)]).then(() => true, () => false);
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ok).toBe(true);
    expect(keysOf((await p.load('outage')).update)).toEqual({ before: 1, after: 1 });
    await p.close();
  });

  test('a fenced store writes only with the current lease token', async () => {
    const url = await pg.createDb();
    let token: string | null = '1';
    const p = new PostgresPersistence({ connectionString: url, max: 2, fence: () => (token ? { token } : null) });
    await p.open();
    await pg.query(
      `INSERT INTO huddle_leases (project, token, node, url, pid, backend_start) VALUES ('doc', 1, 'n', 'ws://x', 0, now())`,
      [],
      url.split('/').pop(),
    );
    await p.load('doc');
    await p.appendDurable('doc', [setKey('ok', 1)]);
    // Another node took over (token bumped): the old token inserts nothing.
    await pg.query(`UPDATE huddle_leases SET token = 2 WHERE project = 'doc'`, [], url.split('/').pop());
    await expect(p.appendDurable('doc', [setKey('stale', 1)])).rejects.toBeInstanceOf(FencedError);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, (await p.load('doc')).update!);
    await expect(p.commit('doc', Y.encodeStateAsUpdate(doc))).rejects.toBeInstanceOf(FencedError);
    token = null;
    await expect(p.appendDurable('doc', [setKey('none', 1)])).rejects.toBeInstanceOf(FencedError);
    const q = new PostgresPersistence({ connectionString: url, max: 1 });
    await q.open();
    const d = await q.load('doc');
    expect(keysOf(d.update)).toEqual({ ok: 1 });
    expect(d.records).toBe(1);
    await Promise.all([p.close(), q.close()]);
  });
});
