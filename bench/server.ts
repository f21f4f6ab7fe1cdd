/**
 * Server sections: huddle's relay beside the reference @y/websocket-server
 * (with y-leveldb), each as a child process on 127.0.0.1 with LevelDB in a
 * temp folder, driven by the same clients in this process.
 *
 *   fanout      update fan-out latency p50/p99 with 2, 16 and 64 clients in one room
 *   throughput  updates delivered per second with 8 writers
 *   memory      server RSS per idle connection
 *   restart     first sync of a 50,000-update document after a restart
 */
import path from 'node:path';
import * as Y from 'yjs';
import type { BenchContext, Section } from './section.js';
import { median, summarize, type ResultRow } from './stats.js';
import {
  SERVER_KINDS,
  cpuMeter,
  getJson,
  makeTempDir,
  removeTempDir,
  startServer,
  type ServerKind,
  type ServerProc,
} from './procs.js';
import { RawClient, encodeSyncStep1, encodeSyncUpdate, sleep, stockClient, tick, waitFor, whenSynced } from './clients.js';

type PerKind<T> = Record<ServerKind, T>;

/** Run `fn` against a fresh server of `kind` (own temp LevelDB), always killing it afterwards. */
async function withServer<T>(kind: ServerKind, ctx: BenchContext, fn: (s: ServerProc) => Promise<T>): Promise<T> {
  const dir = makeTempDir(`huddle-bench-${kind}-`);
  const server = await startServer(kind, path.join(dir, 'data'));
  ctx.progress(`  ${kind} server pid ${server.pid} on ${server.wsUrl} (ready in ${server.startMs.toFixed(0)} ms)`);
  try {
    return await fn(server);
  } catch (err) {
    const out = server.output().trim().split('\n').slice(-40).join('\n');
    if (out) ctx.progress(`  last output of the ${kind} server:\n${out}`);
    throw err;
  } finally {
    await server.stop('SIGKILL', 5000);
    removeTempDir(dir);
  }
}

/** Run `fn` with a fresh server of each kind running side by side (own temp LevelDB each), killing both afterwards. */
async function withBothServers<T>(ctx: BenchContext, fn: (s: PerKind<ServerProc>) => Promise<T>): Promise<T> {
  const dirs: string[] = [];
  const servers: Partial<PerKind<ServerProc>> = {};
  try {
    for (const kind of SERVER_KINDS) {
      const dir = makeTempDir(`huddle-bench-${kind}-`);
      dirs.push(dir);
      const server = await startServer(kind, path.join(dir, 'data'));
      servers[kind] = server;
      ctx.progress(`  ${kind} server pid ${server.pid} on ${server.wsUrl} (ready in ${server.startMs.toFixed(0)} ms)`);
    }
    return await fn(servers as PerKind<ServerProc>);
  } catch (err) {
    for (const server of Object.values(servers)) {
      const out = server.output().trim().split('\n').slice(-40).join('\n');
      if (out) ctx.progress(`  last output of the ${server.kind} server:\n${out}`);
    }
    throw err;
  } finally {
    for (const server of Object.values(servers)) await server.stop('SIGKILL', 5000);
    for (const dir of dirs) removeTempDir(dir);
  }
}

function lowerIsBetter(h: number | null, r: number | null): boolean | null {
  if (h === null || r === null || !Number.isFinite(h) || !Number.isFinite(r)) return null;
  return h < r;
}

/** Best effort: huddle's LevelDB commit count and total seconds from /metrics (null for the reference or on any problem). */
async function huddleCommits(server: ServerProc): Promise<{ count: number; sum: number; upTo5ms: number; compactions: number } | null> {
  if (server.kind !== 'huddle') return null;
  try {
    const res = await fetch(`${server.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const sum = /^huddle_persistence_commit_seconds_sum ([\d.e+-]+)$/m.exec(text);
    const count = /^huddle_persistence_commit_seconds_count (\d+)$/m.exec(text);
    const upTo5ms = /^huddle_persistence_commit_seconds_bucket\{le="0.005"\} (\d+)$/m.exec(text);
    const compactions = /^huddle_compactions_total (\d+)$/m.exec(text);
    if (!sum || !count) return null;
    return {
      count: Number(count[1]),
      sum: Number(sum[1]),
      upTo5ms: upTo5ms ? Number(upTo5ms[1]) : NaN,
      compactions: compactions ? Number(compactions[1]) : NaN,
    };
  } catch {
    return null;
  }
}

function fmtCpu(c: { serverPct: number; benchPct: number }): string {
  return `CPU server ${c.serverPct.toFixed(0)}%, bench ${c.benchPct.toFixed(0)}% of a core`;
}

// ---- 1. fan-out latency ------------------------------------------------------

export interface FanoutResult {
  latencies: number[];
  expected: number;
  received: number;
  cpu: { serverPct: number; benchPct: number };
  /** huddle only: LevelDB commits during the run and their mean latency. */
  commits: { count: number; meanMs: number; over5ms: number } | null;
}

export async function fanoutOnce(server: ServerProc, room: string, n: number, updates: number, warmup: number, intervalMs: number): Promise<FanoutResult> {
  const clients = Array.from({ length: n }, () => stockClient(server.wsUrl, room));
  try {
    await Promise.all(clients.map((c) => whenSynced(c.provider)));
    // Let the initial awareness exchange (n x n messages) settle before timing.
    await sleep(300 + 10 * n);
    const latencies: number[] = [];
    let received = 0;
    for (let i = 1; i < n; i++) {
      clients[i].doc.getArray<[number, number]>('stamps').observe((ev) => {
        const now = performance.now();
        for (const d of ev.delta) {
          if (!d.insert) continue;
          for (const [seq, sentAt] of d.insert as Array<[number, number]>) {
            if (seq < 0) continue; // warm-up
            latencies.push(now - sentAt);
            received++;
          }
        }
      });
    }
    const stamps = clients[0].doc.getArray<[number, number]>('stamps');
    const total = warmup + updates;
    const c0 = await huddleCommits(server);
    const cpu = cpuMeter(server.pid);
    const t0 = performance.now();
    for (let k = 0; k < total; k++) {
      const wait = t0 + k * intervalMs - performance.now();
      if (wait >= 1) await sleep(wait);
      else await tick();
      // One transaction per push: one Yjs update, stamped with its send time.
      stamps.push([[k - warmup, performance.now()]]);
    }
    const expected = updates * (n - 1);
    await waitFor(() => received >= expected, `fan-out to ${n - 1} receivers`, 15_000).catch(() => {});
    const usage = cpu();
    const c1 = await huddleCommits(server);
    const commits =
      c0 && c1 && c1.count > c0.count
        ? {
            count: c1.count - c0.count,
            meanMs: ((c1.sum - c0.sum) / (c1.count - c0.count)) * 1000,
            over5ms: c1.count - c0.count - (c1.upTo5ms - c0.upTo5ms),
          }
        : null;
    return { latencies, expected, received, cpu: usage, commits };
  } finally {
    for (const c of clients) c.destroy();
  }
}

const fanout: Section = {
  name: 'fanout',
  groups: ['server'],
  description: 'update fan-out latency p50/p99 with 2, 16 and 64 stock clients in one room (one writer, paced)',
  async run(ctx) {
    const sizes = [2, 16, 64];
    const updates = ctx.quick ? 100 : 600;
    const warmup = 20;
    const intervalMs = 5;
    const rounds = ctx.quick ? 2 : 4;
    const perRound = Math.ceil(updates / rounds);
    // Both servers run side by side; rounds alternate which one goes first, and the
    // samples of all rounds are pooled, so that drift of the machine hits both alike.
    const res = { huddle: new Map(), reference: new Map() } as PerKind<Map<number, FanoutResult>>;
    await withBothServers(ctx, async (servers) => {
      for (const n of sizes) {
        // An unrecorded round on each server first: the first round at a new client count
        // costs the bench process more (JIT, GC), which would otherwise land on one server.
        for (const kind of SERVER_KINDS) await fanoutOnce(servers[kind], `fanout-${n}-warm`, n, 40, warmup, intervalMs);
        for (let round = 0; round < rounds; round++) {
          const order = round % 2 === 0 ? SERVER_KINDS : [...SERVER_KINDS].reverse();
          for (const kind of order) {
            const r = await fanoutOnce(servers[kind], `fanout-${n}-${round}`, n, perRound, warmup, intervalMs);
            const s = summarize(r.latencies);
            ctx.progress(
              `  ${kind} ${n} clients, round ${round + 1}/${rounds}: p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, max ${s.max.toFixed(2)} ms ` +
                `(${r.received}/${r.expected} deliveries; ${fmtCpu(r.cpu)}` +
                (r.commits ? `; ${r.commits.count} LevelDB commits, mean ${r.commits.meanMs.toFixed(2)} ms, ${r.commits.over5ms} over 5 ms` : '') +
                ')',
            );
            const prev = res[kind].get(n);
            res[kind].set(
              n,
              prev
                ? { ...r, latencies: prev.latencies.concat(r.latencies), expected: prev.expected + r.expected, received: prev.received + r.received }
                : r,
            );
          }
        }
      }
    });
    const rows: ResultRow[] = [];
    for (const n of sizes) {
      const h = res.huddle.get(n)!;
      const r = res.reference.get(n)!;
      const hs = summarize(h.latencies);
      const rs = summarize(r.latencies);
      const missing = [h, r].some((x) => x.received < x.expected);
      const note = missing
        ? `deliveries huddle ${h.received}/${h.expected}, reference ${r.received}/${r.expected}`
        : undefined;
      rows.push({
        section: 'fanout',
        metric: `fan-out ${n} clients p50`,
        unit: 'ms',
        huddle: hs.p50,
        reference: rs.p50,
        goal: '',
        met: null,
      });
      rows.push({
        section: 'fanout',
        metric: `fan-out ${n} clients p99`,
        unit: 'ms',
        huddle: hs.p99,
        reference: rs.p99,
        goal: '< reference',
        met: h.received < h.expected ? false : lowerIsBetter(hs.p99, rs.p99),
        note,
      });
    }
    rows[0].note = `${perRound * rounds} updates per size and server (${rounds} alternating rounds after one unrecorded round each), one every ${intervalMs} ms, ${warmup} warm-up updates per round dropped; ` +
      `latency = receive time at each of the n-1 other stock providers minus the writer's send stamp`;
    return rows;
  },
};

// ---- 2. throughput -----------------------------------------------------------

export interface ThroughputResult {
  cpu: { serverPct: number; benchPct: number };
  sent: number;
  writeMs: number;
  deliveredMs: number | null;
  /** Time from the start until the bench stopped waiting for the reader. */
  waitedMs: number;
  delivered: number;
  /** Reference only: y-leveldb writes still queued when the reader had everything. */
  unstored: number | null;
}

export async function throughputOnce(server: ServerProc, writers: number, maxMs: number, capPerWriter: number): Promise<ThroughputResult> {
  const room = 'throughput';
  const reader = stockClient(server.wsUrl, room);
  const ws: Array<{ client: RawClient; doc: Y.Doc; sent: number }> = [];
  try {
    await whenSynced(reader.provider);
    for (let i = 0; i < writers; i++) {
      const client = await RawClient.connect(`${server.wsUrl}/${room}`);
      const doc = new Y.Doc();
      doc.on('update', (u: Uint8Array) => client.send(encodeSyncUpdate(u)));
      client.send(encodeSyncStep1(doc));
      ws.push({ client, doc, sent: 0 });
    }
    await Promise.all(ws.map((w) => w.client.whenStep2(1)));
    await sleep(200);

    const ids = ws.map((w) => w.doc.clientID);
    // Each push of one number advances its writer's clock by one, so the sum of
    // the writers' clocks in the reader's doc is the number of updates it has.
    const deliveredNow = () => ids.reduce((s, id) => s + Y.getState(reader.doc.store, id), 0);
    let target = Infinity;
    let doneAt: number | null = null;
    reader.doc.on('update', () => {
      if (doneAt === null && deliveredNow() >= target) doneAt = performance.now();
    });

    const BURST = 20;
    const cpu = cpuMeter(server.pid);
    const start = performance.now();
    const end = start + maxMs;
    await Promise.all(
      ws.map(async (w) => {
        const arr = w.doc.getArray<number>('a');
        while (performance.now() < end && w.sent < capPerWriter) {
          if (w.client.ws.bufferedAmount > 512 * 1024) {
            await sleep(1);
            continue;
          }
          for (let k = 0; k < BURST && w.sent < capPerWriter; k++) arr.push([w.sent++]);
          await tick();
        }
      }),
    );
    const writeMs = performance.now() - start;
    const sent = ws.reduce((s, w) => s + w.sent, 0);
    target = sent;
    if (deliveredNow() >= target) doneAt = performance.now();
    await waitFor(() => doneAt !== null, 'the reader to receive every update', 90_000, 10).catch(() => {});
    const waitedMs = performance.now() - start;
    const usage = cpu();
    let unstored: number | null = null;
    if (server.kind === 'reference') {
      unstored = (await getJson<{ pending: number }>(`${server.httpUrl}/__bench/pending`)).pending;
    }
    return {
      cpu: usage,
      sent,
      writeMs,
      deliveredMs: doneAt === null ? null : doneAt - start,
      waitedMs,
      delivered: deliveredNow(),
      unstored,
    };
  } finally {
    for (const w of ws) {
      w.client.close();
      w.doc.destroy();
    }
    reader.destroy();
  }
}

const throughput: Section = {
  name: 'throughput',
  groups: ['server'],
  description: 'updates per second delivered to a reader while 8 writers write as fast as they can',
  async run(ctx) {
    const writers = 8;
    // A fixed amount of work for both servers (each writer stops early only past maxMs).
    const cap = ctx.quick ? 2000 : 5000;
    const maxMs = 10_000;
    const res = {} as PerKind<ThroughputResult>;
    for (const kind of SERVER_KINDS) {
      await withServer(kind, ctx, async (server) => {
        const r = await throughputOnce(server, writers, maxMs, cap);
        res[kind] = r;
        ctx.progress(
          `  ${kind}: ${r.sent} updates written in ${r.writeMs.toFixed(0)} ms, reader had ` +
            (r.deliveredMs === null ? `only ${r.delivered} after the timeout` : `all after ${r.deliveredMs.toFixed(0)} ms`) +
            (r.unstored !== null ? `; y-leveldb queue then: ${r.unstored} updates not yet stored` : '') +
            `; ${fmtCpu(r.cpu)}`,
        );
      });
    }
    // When the reader never had everything, the rate is what it did get over the whole wait.
    const rate = (r: ThroughputResult) => (r.deliveredMs === null ? (r.delivered / r.waitedMs) * 1000 : (r.sent / r.deliveredMs) * 1000);
    const h = res.huddle;
    const r = res.reference;
    const hr = rate(h);
    const rr = rate(r);
    return [
      {
        section: 'throughput',
        metric: `${writers} writers: updates delivered/s`,
        unit: 'updates/s',
        huddle: hr,
        reference: rr,
        goal: '>= reference',
        met: hr >= rr,
        note:
          `raw-socket writers (${cap} Yjs updates each, one Y.Array push per update, in bursts of 20 per event-loop turn), one stock reader; ` +
          `rate = updates written / time until the reader had all of them; written: huddle ${h.sent}, reference ${r.sent}` +
          [h, r].map((x, i) => (x.deliveredMs === null ? `; ${i ? 'reference' : 'huddle'}'s reader had only ${x.delivered} after ${(x.waitedMs / 1000).toFixed(0)} s` : '')).join('') +
          (r.unstored ? `; the reference had ${r.unstored} of them not yet in LevelDB when the reader had them all` : ''),
      },
      {
        section: 'throughput',
        metric: `${writers} writers: updates written/s (client side)`,
        unit: 'updates/s',
        huddle: (h.sent / h.writeMs) * 1000,
        reference: (r.sent / r.writeMs) * 1000,
        goal: '',
        met: null,
      },
    ];
  },
};

// ---- 3. memory per idle connection ---------------------------------------------

interface MemoryResult {
  beforeKb: number;
  afterKb: number;
  conns: number;
  /** (connections, RSS KiB) after each step, including the baseline (0, beforeKb). */
  points: Array<[number, number]>;
  /** The same N again after the first N closed: baseline and RSS with them (see memoryOnce). */
  againBeforeKb: number;
  againAfterKb: number;
}

async function sampleRss(server: ServerProc, samples = 5, gapMs = 100): Promise<number> {
  const v: number[] = [];
  for (let i = 0; i < samples; i++) {
    v.push(server.rssKb());
    await sleep(gapMs);
  }
  return median(v);
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

async function memoryOnce(server: ServerProc, conns: number, steps: number): Promise<MemoryResult> {
  const url = `${server.wsUrl}/idle`;
  const clients: RawClient[] = [];
  try {
    // One client loads the document so that the baseline holds the room itself.
    const first = await RawClient.connect(url);
    clients.push(first);
    first.send(encodeSyncStep1(new Y.Doc()));
    await first.whenStep2(1);
    await sleep(1000);
    const beforeKb = await sampleRss(server);
    const points: Array<[number, number]> = [[0, beforeKb]];
    const empty = encodeSyncStep1(new Y.Doc());
    const open = async (n: number) => {
      const batch = await Promise.all(Array.from({ length: n }, () => RawClient.connect(url)));
      for (const c of batch) c.send(empty);
      await Promise.all(batch.map((c) => c.whenStep2(1)));
      clients.push(...batch);
    };
    let opened = 0;
    for (let step = 1; step <= steps; step++) {
      const goal = Math.round((conns * step) / steps);
      while (opened < goal) {
        const n = Math.min(50, goal - opened);
        await open(n);
        opened += n;
      }
      await sleep(step === steps ? 1500 : 800);
      points.push([opened, await sampleRss(server)]);
    }
    const afterKb = points[points.length - 1][1];
    // The first round also pays one-time growth: JIT code for the connection path, V8's young generation growing,
    // and the high-water mark of the malloc arenas of V8's worker threads (optimizing-compiler zones and the like,
    // freed but kept by glibc). How much of that a server already paid during its start-up moves the first figure
    // by KiBs per connection (issue #10). A second round of N, after the first closed, is closer to what one costs.
    for (const c of clients.splice(1)) c.close();
    await sleep(2000);
    const againBeforeKb = await sampleRss(server);
    for (let n = 0; n < conns; n += 50) await open(Math.min(50, conns - n));
    await sleep(1500);
    const againAfterKb = await sampleRss(server);
    return { beforeKb, afterKb, conns, points, againBeforeKb, againAfterKb };
  } finally {
    for (const c of clients) c.close();
  }
}

const memory: Section = {
  name: 'memory',
  groups: ['server'],
  description: 'server RSS per idle connection (raw sockets that completed the sync handshake, one room)',
  async run(ctx) {
    const conns = ctx.quick ? 200 : 1000;
    const steps = ctx.quick ? 2 : 5;
    const res = {} as PerKind<MemoryResult>;
    for (const kind of SERVER_KINDS) {
      await withServer(kind, ctx, async (server) => {
        res[kind] = await memoryOnce(server, conns, steps);
        const m = res[kind];
        ctx.progress(
          `  ${kind}: RSS ${(m.beforeKb / 1024).toFixed(1)} MiB -> ${(m.afterKb / 1024).toFixed(1)} MiB with ${conns} idle connections ` +
            `(steps: ${m.points.map(([c, kb]) => `${c}:${(kb / 1024).toFixed(1)}`).join(' ')} MiB; ` +
            `second round ${(m.againBeforeKb / 1024).toFixed(1)} -> ${(m.againAfterKb / 1024).toFixed(1)} MiB)`,
        );
      });
    }
    const per = (m: MemoryResult) => (m.afterKb - m.beforeKb) / m.conns;
    const perAgain = (m: MemoryResult) => (m.againAfterKb - m.againBeforeKb) / m.conns;
    return [
      {
        section: 'memory',
        metric: `RSS per idle connection (${conns} in one room)`,
        unit: 'KiB',
        huddle: per(res.huddle),
        reference: per(res.reference),
        goal: '< reference',
        met: lowerIsBetter(per(res.huddle), per(res.reference)),
        note: 'VmRSS of the server process (median of 5 samples) with 1 client, then with N more raw sockets that each completed a sync handshake (no awareness); delta / N',
      },
      {
        section: 'memory',
        metric: `RSS per idle connection, slope over ${steps} steps`,
        unit: 'KiB',
        huddle: slope(res.huddle.points),
        reference: slope(res.reference.points),
        goal: '',
        met: null,
        note: 'least-squares slope of RSS over the connection count, sampled after each step (less sensitive to when V8 grows its heap)',
      },
      {
        section: 'memory',
        metric: `RSS per idle connection, second round of ${conns}`,
        unit: 'KiB',
        huddle: perAgain(res.huddle),
        reference: perAgain(res.reference),
        goal: '',
        met: null,
        note: 'the first N closed, then N more: delta / N without the one-time growth of the first round (JIT, young generation, malloc arena high-water marks)',
      },
      {
        section: 'memory',
        metric: 'server RSS with 1 client',
        unit: 'MiB',
        huddle: res.huddle.beforeKb / 1024,
        reference: res.reference.beforeKb / 1024,
        goal: '',
        met: null,
      },
      {
        section: 'memory',
        metric: `server RSS with ${conns + 1} clients`,
        unit: 'MiB',
        huddle: res.huddle.afterKb / 1024,
        reference: res.reference.afterKb / 1024,
        goal: '',
        met: null,
      },
    ];
  },
};

// ---- 4. restart with a large document ------------------------------------------

const WRITE_ANSWER_TIMEOUT_MS = 150_000;

interface RestartResult {
  updates: number;
  /** null when the server did not answer within WRITE_ANSWER_TIMEOUT_MS. */
  writeMs: number | null;
  /** Reference: y-leveldb writes queued when the writer got its answer, then time to drain them. */
  unstoredAtAnswer: number | null;
  drainMs: number | null;
  stopMs: number;
  stopExit: string;
  restartReadyMs: number;
  firstSyncMs: number;
  heldAtFirstSync: number;
  allPresentMs: number | null;
  finalCount: number;
  /** Time this process needs to apply the full state to a fresh Y.Doc: the client's share of a first sync. */
  clientApplyMs: number;
  /** huddle only, from its debug log: how long loading the document took on the server. */
  serverLoad: string | null;
}

async function restartOnce(kind: ServerKind, n: number, ctx: BenchContext): Promise<RestartResult> {
  const dir = makeTempDir(`huddle-bench-restart-${kind}-`);
  const dataDir = path.join(dir, 'data');
  const room = 'restart';
  let server: ServerProc | null = null;
  try {
    server = await startServer(kind, dataDir);
    ctx.progress(`  ${kind} server pid ${server.pid} on ${server.wsUrl}`);

    // n separate Yjs updates (one Y.Map set per transaction), sent back to back as n frames.
    const doc = new Y.Doc();
    const frames: Uint8Array[] = [];
    doc.on('update', (u: Uint8Array) => frames.push(encodeSyncUpdate(u)));
    const map = doc.getMap<number>('m');
    for (let i = 0; i < n; i++) map.set(`k${i}`, i);
    if (frames.length !== n) throw new Error(`expected ${n} updates, generated ${frames.length}`);
    const full = Y.encodeStateAsUpdate(doc);
    const a0 = performance.now();
    Y.applyUpdate(new Y.Doc(), full);
    const clientApplyMs = performance.now() - a0;

    const writer = await RawClient.connect(`${server.wsUrl}/${room}`);
    writer.send(encodeSyncStep1(new Y.Doc()));
    await writer.whenStep2(1);
    const t0 = performance.now();
    for (let i = 0; i < frames.length; i++) {
      writer.send(frames[i]);
      if (i % 1000 === 999) {
        while (writer.ws.bufferedAmount > 1024 * 1024) await sleep(1);
        await tick();
      }
    }
    // A sync step 1 after the updates: its answer comes after they were all handled
    // (huddle sends it only once they are stored).
    writer.send(encodeSyncStep1(doc));
    const waiting = setInterval(() => ctx.progress(`  ${kind}: still waiting for the answer after ${((performance.now() - t0) / 1000).toFixed(0)} s`), 10_000);
    let writeMs: number | null = null;
    try {
      await writer.whenStep2(2, WRITE_ANSWER_TIMEOUT_MS);
      writeMs = performance.now() - t0;
      ctx.progress(`  ${kind}: ${n} updates written and answered in ${writeMs.toFixed(0)} ms`);
    } catch {
      // Stay within the bench's time budget: stop the server anyway; what it had not stored is then missing after the restart.
      ctx.progress(`  ${kind}: no answer after ${WRITE_ANSWER_TIMEOUT_MS / 1000} s; stopping the server anyway`);
    } finally {
      clearInterval(waiting);
    }

    const commits = await huddleCommits(server);
    if (commits) {
      ctx.progress(
        `  huddle /metrics: ${commits.count} LevelDB commits (mean ${(n / commits.count).toFixed(0)} updates and ` +
          `${((commits.sum / commits.count) * 1000).toFixed(1)} ms each), ${commits.compactions} compactions`,
      );
    }
    let unstoredAtAnswer: number | null = null;
    let drainMs: number | null = null;
    if (kind === 'reference') {
      unstoredAtAnswer = (await getJson<{ pending: number }>(`${server.httpUrl}/__bench/pending`)).pending;
      ctx.progress(`  reference: ${unstoredAtAnswer} updates still queued in y-leveldb; waiting for them to be stored`);
      const d = await getJson<{ ms: number; failed: number }>(`${server.httpUrl}/__bench/drain`, 300_000);
      drainMs = d.ms;
      if (d.failed) ctx.progress(`  reference: y-leveldb reported ${d.failed} failed writes`);
    }
    writer.close();
    await sleep(100);
    const stop = await server.stop('SIGTERM', 60_000);
    const stopExit = stop.forced ? 'killed after 60 s' : stop.exit.signal ? `signal ${stop.exit.signal}` : `exit ${stop.exit.code}`;
    ctx.progress(`  ${kind}: stopped with SIGTERM in ${stop.ms.toFixed(0)} ms (${stopExit})`);

    // huddle at debug level logs how long loading the document took (read best effort below).
    server = await startServer(kind, dataDir, { logLevel: 'debug' });
    const restartReadyMs = server.startMs;

    const c0 = performance.now();
    const fresh = stockClient(server.wsUrl, room);
    try {
      const m = fresh.doc.getMap<number>('m');
      let allAt: number | null = null;
      fresh.doc.on('update', () => {
        if (allAt === null && m.size >= n) allAt = performance.now();
      });
      await whenSynced(fresh.provider, 120_000);
      const firstSyncMs = performance.now() - c0;
      const heldAtFirstSync = m.size;
      await waitFor(() => allAt !== null, `all ${n} updates at the fresh client`, 120_000, 1).catch(() => {});
      const finalCount = m.size;
      await sleep(50);
      const loaded = /document read .*?records=(\d+) bytes=(\d+) ms=(\d+)/.exec(server.output());
      const serverLoad = loaded ? `${loaded[3]} ms (${loaded[1]} records, ${loaded[2]} bytes)` : null;
      return {
        clientApplyMs,
        serverLoad,
        updates: n,
        writeMs,
        unstoredAtAnswer,
        drainMs,
        stopMs: stop.ms,
        stopExit,
        restartReadyMs,
        firstSyncMs,
        heldAtFirstSync,
        allPresentMs: allAt === null ? null : allAt - c0,
        finalCount,
      };
    } finally {
      fresh.destroy();
    }
  } catch (err) {
    if (server) {
      const out = server.output().trim().split('\n').slice(-40).join('\n');
      if (out) ctx.progress(`  last output of the ${kind} server:\n${out}`);
    }
    throw err;
  } finally {
    if (server) await server.stop('SIGKILL', 5000);
    removeTempDir(dir);
  }
}

const restart: Section = {
  name: 'restart',
  groups: ['server'],
  description: 'a fresh client\'s first sync of a document of 50,000 stored updates (10,000 with --quick) right after a server restart',
  async run(ctx) {
    const n = ctx.quick ? 10_000 : 50_000;
    const res = {} as PerKind<RestartResult>;
    for (const kind of SERVER_KINDS) {
      const r = await restartOnce(kind, n, ctx);
      res[kind] = r;
      ctx.progress(
        `  ${kind}: first sync after ${r.firstSyncMs.toFixed(1)} ms holding ${r.heldAtFirstSync}/${n}; ` +
          (r.allPresentMs === null ? `only ${r.finalCount} present after 120 s` : `all present after ${r.allPresentMs.toFixed(1)} ms`) +
          (r.serverLoad ? `; server log: document loaded in ${r.serverLoad}` : ''),
      );
    }
    const h = res.huddle;
    const r = res.reference;
    return [
      {
        section: 'restart',
        metric: `restart: fresh client first sync (${n} updates stored)`,
        unit: 'ms',
        huddle: h.firstSyncMs,
        reference: r.firstSyncMs,
        goal: '< 200 ms, holding all',
        met: h.firstSyncMs < 200 && h.heldAtFirstSync === n,
        note:
          'from creating a stock WebsocketProvider to its first "sync" event, first connection after the restart (so it includes loading the document); ' +
          `the bench process alone needs ${h.clientApplyMs.toFixed(0)} ms to apply the full ${n}-update state (${n} Y.Map keys) to a fresh Y.Doc` +
          (h.serverLoad ? `; huddle's log: document loaded in ${h.serverLoad}` : ''),
      },
      {
        section: 'restart',
        metric: 'restart: updates held by the first sync answer',
        unit: 'updates',
        huddle: h.heldAtFirstSync,
        reference: r.heldAtFirstSync,
        goal: `= ${n}`,
        met: h.heldAtFirstSync === n,
      },
      {
        section: 'restart',
        metric: `restart: until all ${n} updates present`,
        unit: 'ms',
        huddle: h.allPresentMs,
        reference: r.allPresentMs,
        goal: '< 200 ms',
        met: h.allPresentMs !== null && h.allPresentMs < 200,
      },
      {
        section: 'restart',
        metric: 'restart: updates present after the restart',
        unit: 'updates',
        huddle: h.finalCount,
        reference: r.finalCount,
        goal: `= ${n}`,
        met: h.finalCount === n,
      },
      {
        section: 'restart',
        metric: `write ${n} updates until answered`,
        unit: 'ms',
        huddle: h.writeMs,
        reference: r.writeMs,
        goal: '',
        met: null,
        note:
          'one raw socket sends the updates back to back, then a sync step 1; time until its answer (huddle answers once all are stored, the reference at once)' +
          ([h, r].some((x) => x.writeMs === null) ? `; "-" = no answer within ${WRITE_ANSWER_TIMEOUT_MS / 1000} s, the server was stopped anyway` : ''),
      },
      {
        section: 'restart',
        metric: 'updates not yet stored at that answer',
        unit: 'updates',
        huddle: null,
        reference: r.unstoredAtAnswer,
        goal: '',
        met: null,
        note:
          `the reference's y-leveldb queue then took ${r.drainMs === null ? '?' : (r.drainMs / 1000).toFixed(1)} s more to drain; ` +
          'the bench waited for it before stopping (a SIGTERM at the answer would have lost those); huddle stores before answering',
      },
      {
        section: 'restart',
        metric: 'stop with SIGTERM',
        unit: 'ms',
        huddle: h.stopMs,
        reference: r.stopMs,
        goal: '',
        met: null,
        note: `huddle ${h.stopExit}, reference ${r.stopExit} (the reference has no SIGTERM handler)`,
      },
      {
        section: 'restart',
        metric: 'server listening after restart',
        unit: 'ms',
        huddle: h.restartReadyMs,
        reference: r.restartReadyMs,
        goal: '',
        met: null,
        note: 'from spawn to the "listening" line; huddle spawns through its CLI',
      },
    ];
  },
};

export const serverSections: Section[] = [fanout, throughput, memory, restart];
