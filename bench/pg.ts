/**
 * Team relay on PostgreSQL, the parts that exist so far (issue 14): the cost of a
 * durable batch (one fenced INSERT) beside the LevelDB relay's write-ahead log
 * append, and how long another node needs to take a project's lease after a
 * `kill -9` of its owner. Starts its own PostgreSQL cluster (fsync off, like the
 * relay's log without --fsync: both survive a process crash, not a power loss).
 */
import path from 'node:path';
import fs from 'node:fs';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import * as Y from 'yjs';
import type { Section } from './section.js';
import { summarize, type ResultRow } from './stats.js';
import { ROOT, makeTempDir, trackChild } from './procs.js';
import { DocWal } from '../src/store/wal.js';
import { PostgresPersistence } from '../src/store/postgres-persistence.js';
import { OwnerLeases } from '../relay/owner-lease.js';
import { startPg, findPgBin } from '../test/fixtures/pg-cluster.js';

const HOLDER = path.join(ROOT, 'dist/test/fixtures/lease-holder.js');

function update(i: number): Uint8Array {
  const d = new Y.Doc();
  d.getMap('m').set(`k${i}`, 'x'.repeat(40));
  return Y.encodeStateAsUpdate(d);
}

async function failoverOnce(url: string, survivor: OwnerLeases, project: string): Promise<number> {
  const child = trackChild(spawn(process.execPath, [HOLDER, url, `victim-${project}`, project], { stdio: ['ignore', 'pipe', 'inherit'] }));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lease holder exited (${code})`)));
    readline.createInterface({ input: child.stdout! }).once('line', () => resolve());
  });
  if (await survivor.tryAcquire(project)) throw new Error('survivor owned the project before the kill');
  const t0 = performance.now();
  child.kill('SIGKILL');
  for (let i = 0; i < 1000; i++) {
    if (await survivor.tryAcquire(project)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no takeover within 10 s');
}

export const pgSection: Section = {
  name: 'pg',
  groups: ['team'],
  description: 'PostgreSQL: durable batch latency vs the LevelDB relay log; lease takeover after kill -9 of the owner',
  async run(ctx) {
    if (!findPgBin()) {
      ctx.progress('pg: PostgreSQL is not installed (apt-get install -y postgresql); section skipped');
      return [];
    }
    const cluster = await startPg();
    const rows: ResultRow[] = [];
    try {
      const url = await cluster.createDb('bench');
      const n = ctx.quick ? 300 : 2000;
      const updates = Array.from({ length: n }, (_, i) => update(i));

      ctx.progress(`pg: ${n} durable single-update batches, PostgreSQL (fenced) and the LevelDB relay log`);
      const leases = new OwnerLeases({ connectionString: url, node: 'bench', url: 'ws://127.0.0.1:1' });
      await leases.start();
      await leases.tryAcquire('bench');
      const store = new PostgresPersistence({ connectionString: url, fence: leases.fence });
      await store.open();
      await store.load('bench');
      const pgMs: number[] = [];
      let t = performance.now();
      for (const u of updates) {
        const t0 = performance.now();
        await store.appendDurable('bench', [u]);
        pgMs.push(performance.now() - t0);
      }
      const pgRate = n / ((performance.now() - t) / 1000);
      await store.close();

      const dir = makeTempDir();
      const wal = new DocWal(dir, 'bench', false);
      const walMs: number[] = [];
      t = performance.now();
      for (const u of updates) {
        const t0 = performance.now();
        wal.append([u]);
        walMs.push(performance.now() - t0);
      }
      const walRate = n / ((performance.now() - t) / 1000);
      wal.closeCurrent();
      fs.rmSync(dir, { recursive: true, force: true });
      const p = summarize(pgMs);
      const w = summarize(walMs);
      const r2 = (x: number) => Math.round(x * 1000) / 1000;
      rows.push(
        { section: 'pg', metric: 'durable batch p50 (PostgreSQL | LevelDB log)', unit: 'ms', huddle: r2(p.p50), reference: r2(w.p50), goal: '', met: null },
        { section: 'pg', metric: 'durable batch p99 (PostgreSQL | LevelDB log)', unit: 'ms', huddle: r2(p.p99), reference: r2(w.p99), goal: '', met: null, note: 'one INSERT per batch, sequential; the relay batches what arrives meanwhile' },
        { section: 'pg', metric: 'sequential durable batches/s (PostgreSQL | LevelDB log)', unit: '/s', huddle: Math.round(pgRate), reference: Math.round(walRate), goal: '', met: null },
      );

      const reps = ctx.quick ? 3 : 10;
      ctx.progress(`pg: lease takeover after kill -9 of the owner, ${reps} repetitions`);
      const times: number[] = [];
      for (let i = 0; i < reps; i++) times.push(await failoverOnce(url, leases, `failover-${i}`));
      await leases.close();
      const f = summarize(times);
      rows.push(
        { section: 'pg', metric: 'lease takeover after kill -9, p50', unit: 'ms', huddle: Math.round(f.p50), reference: null, goal: '< 5000 ms', met: f.p50 < 5000 },
        { section: 'pg', metric: 'lease takeover after kill -9, max', unit: 'ms', huddle: Math.round(f.max), reference: null, goal: '< 5000 ms', met: f.max < 5000, note: 'lease only (polling every 10 ms); relay wiring not done yet' },
      );
    } finally {
      await cluster.destroy();
    }
    return rows;
  },
};
