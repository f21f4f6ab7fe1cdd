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
import { startServer, type ServerProc } from './procs.js';
import { fanoutOnce, throughputOnce, type ThroughputResult } from './server.js';
import { stockClient, whenSynced, waitFor, sleep } from './clients.js';

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
        { section: 'pg', metric: 'lease takeover after kill -9, max', unit: 'ms', huddle: Math.round(f.max), reference: null, goal: '< 5000 ms', met: f.max < 5000, note: 'lease only (polling every 10 ms); pg-relay measures it as clients see it' },
      );
    } finally {
      await cluster.destroy();
    }
    return rows;
  },
};

/** A stock client on the owner node keeps `room` owned there while the measured clients use another node. */
async function pinOwner(owner: ServerProc, room: string): Promise<() => void> {
  const c = stockClient(owner.wsUrl, room);
  await whenSynced(c.provider);
  return () => c.destroy();
}

/**
 * Failover as clients see it: two stock clients on node `via` use a project owned by
 * `victim` (forwarded); `victim` is SIGKILLed; the time until an update from one reaches
 * the other again (the node took the lease, loaded the project, the providers reconnected
 * with y-websocket's own backoff).
 */
async function clientFailoverOnce(victim: ServerProc, via: ServerProc, room: string): Promise<number> {
  const pin = await pinOwner(victim, room);
  const a = stockClient(via.wsUrl, room);
  const b = stockClient(via.wsUrl, room);
  try {
    await Promise.all([whenSynced(a.provider), whenSynced(b.provider)]);
    const t0 = performance.now();
    victim.proc.kill('SIGKILL');
    pin();
    await waitFor(() => !a.provider.synced || !a.provider.wsconnected, 'the forwarded socket to drop', 10_000, 1);
    await waitFor(() => a.provider.synced && b.provider.synced, 'both clients synced again', 20_000, 2);
    const seen = () => b.doc.getArray<number>('x').length > 0;
    a.doc.getArray<number>('x').push([1]);
    await waitFor(seen, 'an update across after the failover', 20_000, 1);
    return performance.now() - t0;
  } finally {
    a.destroy();
    b.destroy();
  }
}

const updatesPerSecond = (r: ThroughputResult) => (r.deliveredMs === null ? (r.delivered / r.waitedMs) * 1000 : (r.sent / r.deliveredMs) * 1000);

export const pgRelaySection: Section = {
  name: 'pg-relay',
  groups: ['team'],
  description: 'relay nodes on PostgreSQL: fan-out and updates/s through the owner and through a non-owner node, beside the LevelDB relay; failover seen by clients after kill -9 of the owner',
  async run(ctx) {
    if (!findPgBin()) {
      ctx.progress('pg-relay: PostgreSQL is not installed (apt-get install -y postgresql); section skipped');
      return [];
    }
    const cluster = await startPg();
    const rows: ResultRow[] = [];
    const servers: ServerProc[] = [];
    try {
      const url = await cluster.createDb('relaybench');
      const node = async (name: string) => {
        const s = await startServer('huddle', makeTempDir(), { extraArgs: ['--store', url, '--node', name] });
        servers.push(s);
        return s;
      };
      const leveldb = await startServer('huddle', makeTempDir());
      servers.push(leveldb);
      const owner = await node('owner');
      const other = await node('other');
      const sizes = ctx.quick ? [16] : [2, 16, 64];
      const updates = ctx.quick ? 100 : 400;
      for (const n of sizes) {
        const res: Record<string, number[]> = { leveldb: [], owner: [], 'non-owner': [] };
        // Round 0 is not recorded: the first round at a client count pays for JIT and GC warm-up.
        for (let round = 0; round < 3; round++) {
          const order = round % 2 === 0 ? (['leveldb', 'owner', 'non-owner'] as const) : (['non-owner', 'owner', 'leveldb'] as const);
          for (const kind of order) {
            const room = `fan-${n}-${round}-${kind}`;
            const unpin = kind === 'leveldb' ? () => undefined : await pinOwner(owner, room);
            const target = kind === 'leveldb' ? leveldb : kind === 'owner' ? owner : other;
            const r = await fanoutOnce(target, room, n, round === 0 ? 40 : updates / 2, 20, 5);
            unpin();
            if (round === 0) continue;
            res[kind].push(...r.latencies);
            const sm = summarize(r.latencies);
            ctx.progress(`  pg-relay ${kind} ${n} clients, round ${round}/2: p50 ${sm.p50.toFixed(2)} ms, p99 ${sm.p99.toFixed(2)} ms (${r.received}/${r.expected})`);
          }
        }
        const [l, o, x] = [summarize(res.leveldb), summarize(res.owner), summarize(res['non-owner'])];
        const r2 = (v: number) => Math.round(v * 100) / 100;
        rows.push(
          { section: 'pg-relay', metric: `fan-out ${n} clients p50 (owner | LevelDB relay)`, unit: 'ms', huddle: r2(o.p50), reference: r2(l.p50), goal: '', met: null },
          { section: 'pg-relay', metric: `fan-out ${n} clients p99 (owner | LevelDB relay)`, unit: 'ms', huddle: r2(o.p99), reference: r2(l.p99), goal: '<= 1.5x', met: o.p99 <= 1.5 * l.p99 },
          { section: 'pg-relay', metric: `fan-out ${n} clients p50 (non-owner | LevelDB relay)`, unit: 'ms', huddle: r2(x.p50), reference: r2(l.p50), goal: '', met: null },
          { section: 'pg-relay', metric: `fan-out ${n} clients p99 (non-owner | LevelDB relay)`, unit: 'ms', huddle: r2(x.p99), reference: r2(l.p99), goal: '', met: null, note: 'every client of the non-owner node is forwarded to the owner (one more hop)' },
        );
      }
      const cap = ctx.quick ? 1000 : 4000;
      const rate: Record<string, number> = {};
      for (const kind of ['leveldb', 'owner', 'non-owner'] as const) {
        const room = 'throughput';
        // throughputOnce uses the room 'throughput': give each kind a node where it is fresh.
        const unpin = kind === 'non-owner' ? await pinOwner(owner, room) : () => undefined;
        const target = kind === 'leveldb' ? leveldb : kind === 'owner' ? owner : other;
        if (kind === 'owner') {
          // The owner of 'throughput' must be `owner`, not left to whoever the non-owner run reaches first.
          const un2 = await pinOwner(owner, room);
          const r = await throughputOnce(target, 8, 10_000, cap);
          un2();
          rate[kind] = updatesPerSecond(r);
        } else {
          const r = await throughputOnce(target, 8, 10_000, cap);
          rate[kind] = updatesPerSecond(r);
        }
        unpin();
        ctx.progress(`  pg-relay ${kind}: ${Math.round(rate[kind])} updates/s delivered (8 writers)`);
        await sleep(300);
      }
      rows.push(
        { section: 'pg-relay', metric: '8 writers: updates delivered/s (owner | LevelDB relay)', unit: 'updates/s', huddle: Math.round(rate.owner), reference: Math.round(rate.leveldb), goal: '', met: null },
        { section: 'pg-relay', metric: '8 writers: updates delivered/s (non-owner | LevelDB relay)', unit: 'updates/s', huddle: Math.round(rate['non-owner']), reference: Math.round(rate.leveldb), goal: '', met: null },
      );

      const reps = ctx.quick ? 3 : 10;
      ctx.progress(`pg-relay: failover seen by clients after kill -9 of the owner, ${reps} repetitions`);
      const times: number[] = [];
      for (let i = 0; i < reps; i++) {
        const victim = await node(`victim-${i}`);
        times.push(await clientFailoverOnce(victim, other, `failover-${i}`));
        ctx.progress(`  failover ${i + 1}: ${times[i].toFixed(0)} ms`);
      }
      const f = summarize(times);
      rows.push(
        { section: 'pg-relay', metric: 'failover seen by clients after kill -9 of the owner, p50', unit: 'ms', huddle: Math.round(f.p50), reference: null, goal: '< 5000 ms', met: f.p50 < 5000 },
        { section: 'pg-relay', metric: 'failover seen by clients after kill -9 of the owner, max', unit: 'ms', huddle: Math.round(f.max), reference: null, goal: '< 5000 ms', met: f.max < 5000, note: 'kill -9 → the next node owns the lease, loads the project, stock y-websocket clients reconnect (their own backoff), an update crosses' },
      );
    } finally {
      for (const s of servers) await s.stop('SIGKILL').catch(() => undefined);
      await cluster.destroy();
    }
    return rows;
  },
};
