/**
 * Chaos: a team relay and three machines' servers (real `huddle serve` processes on
 * loopback, each with --upstream), each machine with two sessions (embedded peers in
 * child processes running random operations). Meanwhile the harness kill -9s and
 * restarts the relay and the servers (same port, same data folder), stops the relay,
 * and pauses processes with SIGSTOP/SIGCONT, at random. Then, with everything up:
 * - every server holds an identical document (live, then as stored on disk);
 * - every operation a server acknowledged is in it;
 * - no two sessions were ever confirmed holders of conflicting locks while connected
 *   to each other (defined below);
 * - every server and every session lists exactly the sessions that are alive.
 *
 * Bounded in `npm test`: 6 s of chaos (longer, up to 12 s, until every kind of fault has
 * happened), some 150-200 acknowledged operations and 4-7 faults, each kind chosen in turn
 * (randomly among the kinds done least so far) and asserted; 10 s and 15 s of purely random
 * faults before issue 15 cut the suite's time. `npm run test:chaos` runs it for
 * HUDDLE_CHAOS_SECONDS (default 300) with HUDDLE_CHAOS_LONG=1, faults drawn at random.
 *
 * "Connected": sessions S and R are connected at time t when, for the whole of
 * [t - SETTLE_MS, t], both processes ran (alive, not paused), the servers on the way
 * ran (S's server and R's server, and the relay when they are on different machines),
 * and both sessions said they were connected: online (their server's order is the
 * team relay's) when on different machines, their socket open when on the same one.
 * SETTLE_MS covers what a healed partition takes to settle: the states held back
 * reach the other side and the resolution rule makes one holder yield.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { RelayConnection } from '../src/peer/connection.js';
import { SharedContext } from '../src/model/context.js';
import { conflicts, type LockMode } from '../src/model/locks.js';
import { CLI, ROOT, cleanup, onCleanup, readStoredDoc, sleep, tempDir, waitFor } from './helpers.js';

afterAll(cleanup);

const LONG = process.env.HUDDLE_CHAOS_LONG === '1';
const CHAOS_MS = LONG ? Number(process.env.HUDDLE_CHAOS_SECONDS ?? 300) * 1000 : 6_000;
/** The bounded run goes on past CHAOS_MS until every kind of fault has happened, up to this. */
const CHAOS_MAX_MS = LONG ? CHAOS_MS : 12_000;
const FAULTS = ['relayKill', 'serverKill', 'relayStop', 'pause'] as const;
type Fault = (typeof FAULTS)[number];
const SETTLE_MS = 1500;
const AWARENESS_TIMEOUT_MS = 3000;
const TOKEN = 'chaos-token';
const PROJECT = 'chaos';
const FIXTURE = path.join(ROOT, 'dist/test/fixtures/chaos-session.js');

type Interval = [number, number];

/** A process the harness runs, with the times it was not running (killed, stopped, paused). */
class Proc {
  proc: ChildProcess | null = null;
  port = 0;
  out = '';
  down: Interval[] = [];
  private downSince: number | null = Date.now();
  paused = false;
  busy = false;
  dead = false;
  lines: Array<Record<string, any>> = [];
  private buf = '';

  constructor(readonly name: string, readonly kind: 'relay' | 'server' | 'session', private readonly argv: () => string[], readonly machine: number) {}

  /** Start (or restart) and resolve once it is ready; a restart on a port not yet free is tried again. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce();
      } catch (err) {
        if (attempt >= 5 || !/in use/.test(this.out)) throw err;
        await sleep(300);
      }
    }
  }

  private async startOnce(): Promise<void> {
    const p = spawn(process.execPath, this.argv(), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HUDDLE_LOG_LEVEL: 'warn' } });
    this.proc = p;
    onCleanup(() => void (p.exitCode === null && p.signalCode === null && p.kill('SIGKILL')));
    p.stdin!.on('error', () => {});
    let text = '';
    p.stdout!.on('data', (d: Buffer) => {
      text += d;
      if (this.kind === 'session') {
        this.buf += d;
        let i: number;
        while ((i = this.buf.indexOf('\n')) >= 0) {
          const line = this.buf.slice(0, i);
          this.buf = this.buf.slice(i + 1);
          try {
            this.lines.push(JSON.parse(line));
          } catch {
            this.out = (this.out + line + '\n').slice(-20_000);
          }
        }
      }
    });
    p.stderr!.on('data', (d: Buffer) => (this.out = (this.out + d).slice(-20_000)));
    if (this.kind === 'session') {
      await waitFor(() => this.lines.some((l) => l.ev === 'ready'), `${this.name} ready: ${this.out}`, 20_000, 20);
    } else {
      const m = await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text) ?? (p.exitCode !== null ? 'exit' : null), `${this.name} listening`, 20_000, 10);
      if (m === 'exit') throw new Error(`${this.name} exited: ${this.out}`);
      this.port = Number((m as RegExpExecArray)[1]);
    }
    this.up();
  }

  private up(): void {
    if (this.downSince !== null) this.down.push([this.downSince, Date.now()]);
    this.downSince = null;
  }

  private goDown(): void {
    if (this.downSince === null) this.downSince = Date.now();
  }

  async kill(): Promise<void> {
    const p = this.proc!;
    this.goDown();
    p.kill('SIGKILL');
    if (p.exitCode === null && p.signalCode === null) await new Promise((r) => p.once('exit', r));
    this.paused = false;
  }

  /** A clean stop (SIGTERM: the server flushes and closes its sockets). */
  async stop(): Promise<void> {
    const p = this.proc!;
    this.goDown();
    if (this.paused) p.kill('SIGCONT');
    this.paused = false;
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    if (p.exitCode === null && p.signalCode === null) await new Promise((r) => p.once('exit', r));
    clearTimeout(t);
  }

  pause(): void {
    this.goDown();
    this.paused = true;
    this.proc!.kill('SIGSTOP');
  }

  resume(): void {
    this.proc!.kill('SIGCONT');
    this.paused = false;
    this.up();
  }

  send(cmd: string): void {
    this.proc?.stdin?.write(cmd + '\n');
  }

  /** Intervals during which this process was not running, up to `end`. */
  downIntervals(end: number): Interval[] {
    return this.downSince !== null ? [...this.down, [this.downSince, end]] : this.down.slice();
  }
}

/** Complement of the union of `bad` (each extended by `settle` at its end) within [from, to]. */
function goodIntervals(bad: Interval[], from: number, to: number, settle: number): Interval[] {
  const ext = bad.map(([a, b]) => [a, b + settle] as Interval).sort((x, y) => x[0] - y[0]);
  const out: Interval[] = [];
  let cur = from;
  for (const [a, b] of ext) {
    if (a > cur) out.push([cur, Math.min(a, to)]);
    cur = Math.max(cur, b);
    if (cur >= to) break;
  }
  if (cur < to) out.push([cur, to]);
  return out.filter(([a, b]) => b > a);
}

/** Intervals during which a session's reports said `key` was true. */
function reportedIntervals(lines: Array<Record<string, any>>, pred: (l: Record<string, any>) => boolean, end: number): Interval[] {
  const out: Interval[] = [];
  let since: number | null = null;
  for (const l of lines) {
    if (l.ev !== 'status') continue;
    if (pred(l)) since ??= l.t;
    else if (since !== null) {
      out.push([since, l.t]);
      since = null;
    }
  }
  if (since !== null) out.push([since, end]);
  return out;
}

function complement(good: Interval[], from: number, to: number): Interval[] {
  const out: Interval[] = [];
  let cur = from;
  for (const [a, b] of good.slice().sort((x, y) => x[0] - y[0])) {
    if (a > cur) out.push([cur, a]);
    cur = Math.max(cur, b);
  }
  if (cur < to) out.push([cur, to]);
  return out;
}

function getJson(url: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${TOKEN}` }, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** A stable JSON text of a value: object keys sorted. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
}

function contentOf(doc: Y.Doc) {
  return canonical({
    decisions: doc.getMap('decisions').toJSON(),
    messages: doc.getMap('messages').toJSON(),
    tasks: doc.getMap('tasks').toJSON(),
    timeline: doc.getArray('timeline').toJSON(),
    sv: Array.from(Y.decodeStateVector(Y.encodeStateVector(doc))).sort((a, b) => a[0] - b[0]),
  });
}

describe('chaos', () => {
  it(`three machines, a team relay, six sessions; kills, stops and pauses for ${CHAOS_MS / 1000} s: one document, nothing acknowledged lost, no double lock holder`, { timeout: CHAOS_MAX_MS + 90_000 }, async () => {
    if (!fs.existsSync(FIXTURE) || !fs.existsSync(CLI)) throw new Error('build first: npx tsc -p .');
    const t0 = Date.now();
    const dir = tempDir('huddle-chaos-');
    const relay: Proc = new Proc('relay', 'relay', () => [CLI, 'serve', '--port', String(relay.port), '--data', path.join(dir, 'relay'), '--token', TOKEN, '--awareness-timeout', String(AWARENESS_TIMEOUT_MS)], -1);
    await relay.start();
    const servers: Proc[] = [0, 1, 2].map((i) => {
      const s: Proc = new Proc(`server${i}`, 'server', () => [
        CLI, 'serve', '--port', String(s.port), '--data', path.join(dir, `m${i}`),
        '--upstream', `ws://127.0.0.1:${relay.port}`, '--upstream-token', TOKEN, '--awareness-timeout', String(AWARENESS_TIMEOUT_MS),
      ], i);
      return s;
    });
    await Promise.all(servers.map((s) => s.start()));
    const sessions: Proc[] = [];
    for (const s of servers) {
      for (const j of [0, 1]) {
        const id = `s${s.machine}${j}`;
        sessions.push(new Proc(id, 'session', () => [FIXTURE, `ws://127.0.0.1:${s.port}`, PROJECT, id, j === 0 ? 'backend' : 'frontend'], s.machine));
      }
    }
    await Promise.all(sessions.map((s) => s.start()));
    const everyone = [relay, ...servers, ...sessions];
    // Everyone connected and online before the chaos begins.
    await waitFor(() => sessions.every((s) => s.lines.filter((l) => l.ev === 'status').at(-1)?.online), 'all sessions online', 20_000, 50);
    const chaosStart = Date.now();
    const setup = chaosStart - t0;

    // ---- chaos -------------------------------------------------------------------
    const counts = { kills: 0, stops: 0, pauses: 0, sessionKills: 0 };
    const byFault: Record<Fault, number> = { relayKill: 0, serverKill: 0, relayStop: 0, pause: 0 };
    /** Long runs draw faults with fixed odds; the short one picks among the kinds done least so far. */
    const pick = (relayFree: boolean): Fault => {
      if (LONG) {
        const x = Math.random();
        return x < 0.2 ? (relayFree ? 'relayKill' : 'serverKill') : x < 0.45 ? 'serverKill' : x < 0.6 && relayFree ? 'relayStop' : 'pause';
      }
      const open = FAULTS.filter((f) => relayFree || !f.startsWith('relay'));
      const fewest = Math.min(...open.map((f) => byFault[f]));
      const least = open.filter((f) => byFault[f] === fewest);
      return least[Math.floor(Math.random() * least.length)];
    };
    const allKinds = () => FAULTS.every((f) => byFault[f] > 0) && counts.sessionKills > 0;
    const actions: Array<Promise<void>> = [];
    const rnd = (a: number, b: number) => a + Math.random() * (b - a);
    const free = (xs: Proc[]) => xs.filter((p) => !p.busy && !p.dead);
    const withBusy = (p: Proc, fn: () => Promise<void>) => {
      p.busy = true;
      const run = fn().finally(() => (p.busy = false));
      actions.push(run);
      return run;
    };
    let victim: Proc | null = null;
    const log: string[] = [];
    // Contention: now and then every session claims the same file at the same moment.
    let races = 0;
    const racing = setInterval(() => {
      races++;
      const file = `src/hot-${races % 3}.ts`;
      for (const s of sessions) if (!s.dead) s.send(`race ${file}`);
    }, 700);
    while (Date.now() - chaosStart < CHAOS_MS || (!allKinds() && Date.now() - chaosStart < CHAOS_MAX_MS)) {
      await sleep(rnd(300, 1200));
      const at = Date.now() - chaosStart;
      if (!victim && at > CHAOS_MS / 2 && free(sessions).length > 0) {
        // One session dies for good: it must vanish everywhere, and what it got acknowledged must stay.
        victim = free(sessions)[Math.floor(Math.random() * free(sessions).length)];
        counts.sessionKills++;
        log.push(`${at} kill -9 ${victim.name} (for good)`);
        await victim.kill();
        victim.dead = true;
        continue;
      }
      // At most two faults at a time.
      if (everyone.filter((p) => p.busy).length >= 2) continue;
      const fault = pick(!relay.busy);
      if (fault === 'relayKill') {
        byFault.relayKill++;
        counts.kills++;
        log.push(`${at} kill -9 relay`);
        void withBusy(relay, async () => {
          await relay.kill();
          await sleep(rnd(200, 2000));
          await relay.start();
        });
      } else if (fault === 'serverKill') {
        const candidates = free(servers);
        const s = candidates[Math.floor(Math.random() * candidates.length)];
        if (!s) continue;
        byFault.serverKill++;
        counts.kills++;
        log.push(`${at} kill -9 ${s.name}`);
        void withBusy(s, async () => {
          await s.kill();
          await sleep(rnd(100, 1500));
          await s.start();
        });
      } else if (fault === 'relayStop') {
        byFault.relayStop++;
        counts.stops++;
        log.push(`${at} stop relay`);
        void withBusy(relay, async () => {
          await relay.stop();
          await sleep(rnd(300, 2500));
          await relay.start();
        });
      } else {
        const candidates = free([relay, ...servers, ...sessions]);
        const p = candidates[Math.floor(Math.random() * candidates.length)];
        if (!p) continue;
        byFault.pause++;
        counts.pauses++;
        // Up to past the awareness timeout: a paused process's presence may be dropped, then come back.
        // The short run's late pauses end soon after it (a second past it at most): the rest is waiting.
        const ms = LONG ? rnd(300, 4500) : Math.min(rnd(300, 4500), Math.max(300, CHAOS_MS + 1000 - at));
        log.push(`${at} SIGSTOP ${p.name} ${Math.round(ms)} ms`);
        void withBusy(p, async () => {
          p.pause();
          await sleep(ms);
          p.resume();
        });
      }
    }
    clearInterval(racing);
    await Promise.all(actions);
    const allUp = Date.now();

    // ---- convergence ------------------------------------------------------------
    const alive = sessions.filter((s) => !s.dead);
    for (const s of alive) s.send('quiet');
    await waitFor(() => alive.every((s) => s.lines.some((l) => l.ev === 'flushed')), 'sessions flushed to their servers', 60_000, 50);
    const watchers = [relay, ...servers].map((p) => {
      const doc = new Y.Doc();
      const awareness = new Awareness(doc);
      awareness.setLocalState(null);
      const conn = new RelayConnection({ url: `ws://127.0.0.1:${p.port}`, project: PROJECT, doc, awareness, token: p === relay ? TOKEN : undefined });
      onCleanup(() => conn.destroy());
      return { p, doc, conn };
    });
    const svOf = (doc: Y.Doc) => Buffer.from(Y.encodeStateVector(doc)).toString('base64');
    await waitFor(() => watchers.every((w) => w.conn.synced) && new Set(watchers.map((w) => svOf(w.doc))).size === 1, 'every server holds the same document', 60_000, 20);
    const converged = Date.now() - allUp;
    expect(new Set(watchers.map((w) => contentOf(w.doc))).size).toBe(1);

    // No session is listed that is not alive: on every server and in every session's view.
    const aliveIds = alive.map((s) => s.name).sort().join();
    await waitFor(async () => {
      for (const p of [relay, ...servers]) {
        const st = await getJson(`http://127.0.0.1:${p.port}/api/p/${PROJECT}/state`).catch(() => null);
        const ids = (st?.sessions ?? []).map((s: { id: string }) => s.id).sort().join();
        if (ids !== aliveIds) return false;
      }
      return true;
    }, `every server lists exactly the live sessions (${aliveIds})`, 20_000, 100);
    const presenceSettled = Date.now() - allUp;
    for (const s of alive) s.send('view');
    await waitFor(() => alive.every((s) => s.lines.some((l) => l.ev === 'view')), 'views', 10_000, 20);
    for (const s of alive) {
      const views = s.lines.filter((l) => l.ev === 'view');
      expect(views.at(-1)!.sessions.join(), `${s.name}'s view`).toBe(aliveIds);
    }

    // ---- stop everything; compare what each server stored --------------------------------
    for (const s of alive) s.send('stop');
    await Promise.all(alive.map((s) => new Promise((r) => (s.proc!.exitCode !== null ? r(null) : s.proc!.once('exit', r)))));
    // The relay records the sessions' last lock holds from presence (activity events, throttled to 0.5 s):
    // let them reach the watchers before the watchers go, so that both sides hold the same last write.
    // Waited for as a quiet second on every watcher, all holding the same document (twice the throttle, and
    // as long as writes keep coming).
    let lastSv = '';
    let quietSince = Date.now();
    await waitFor(() => {
      const svs = new Set(watchers.map((w) => svOf(w.doc)));
      const sv = [...svs].join();
      if (sv !== lastSv) {
        lastSv = sv;
        quietSince = Date.now();
      }
      return svs.size === 1 && Date.now() - quietSince >= 1000;
    }, 'the relay\'s last records on every watcher', 20_000, 20);
    for (const w of watchers) w.conn.destroy();
    await Promise.all([relay, ...servers].map((p) => p.stop()));
    const docs = await Promise.all([relay, ...servers].map((p) => readStoredDoc(path.join(dir, p === relay ? 'relay' : `m${p.machine}`), PROJECT)));
    const stored = docs.map(contentOf);
    expect(new Set(stored).size, 'every data folder holds the same document').toBe(1);
    expect(stored[0]).toBe(contentOf(watchers[0].doc));

    // ---- every acknowledged operation is present ------------------------------------------
    const ctx = new SharedContext(docs[0]);
    // Claims are checked in the timeline. The sessions never trim it, but the servers' janitors may (past
    // 1,100 entries, down to the latest 1,000): then only claims well after the oldest entry left are checked.
    const timeline = ctx.timelineArr.toArray();
    const oldest = Math.min(...timeline.map((e) => e.at));
    const trimmed = oldest > chaosStart;
    const checkable = (t: number) => !trimmed || t > oldest + 10_000;
    const acks: Array<Record<string, any>> = sessions.flatMap((s) => s.lines.filter((l) => l.ev === 'ack').map((l) => ({ ...l, session: s.name })));
    const missing: string[] = [];
    let claimsUnverifiable = 0;
    for (const a of acks) {
      const ok =
        a.kind === 'decision' ? ctx.decisionsMap.has(a.id)
        : a.kind === 'message' ? ctx.messagesMap.has(a.id)
        : a.kind === 'task' ? ctx.tasksMap.has(a.id)
        : a.kind === 'done' ? ctx.tasksMap.has(a.id) && ctx.task(a.id).status === 'done'
        : a.kind === 'claim' ? (checkable(a.t) ? timeline.some((e) => e.type === 'task.claimed' && e.actor === a.session && e.ref === a.id) : (claimsUnverifiable++, true))
        : false;
      if (!ok) missing.push(`${a.session} ${a.kind} ${a.id}`);
    }
    expect(missing, 'acknowledged operations missing from the document').toEqual([]);

    // ---- locks: never two confirmed holders of conflicting claims while connected -------------
    const end = Date.now();
    type Holding = { session: Proc; id: string; path: string; mode: LockMode; from: number; to: number };
    const holdings: Holding[] = [];
    for (const s of sessions) {
      const open = new Map<string, Holding>();
      for (const l of s.lines) {
        if (l.ev !== 'lock') continue;
        if (l.op === 'confirmed') open.set(l.id, { session: s, id: l.id, path: l.path, mode: l.mode, from: l.t, to: end });
        else if ((l.op === 'lost' || l.op === 'released') && open.has(l.id)) {
          holdings.push({ ...open.get(l.id)!, to: l.t });
          open.delete(l.id);
        }
      }
      // Still held at the end, or until the session was killed.
      const death = s.dead ? s.downIntervals(end).at(-1)![0] : end;
      for (const h of open.values()) holdings.push({ ...h, to: death });
    }
    const serverOf = (s: Proc) => servers[s.machine];
    /** When S and R were not connected (see the header), each interval extended by SETTLE_MS. */
    const notConnected = (a: Proc, b: Proc): Interval[] => {
      const sameMachine = a.machine === b.machine;
      const bad: Interval[] = [
        ...a.downIntervals(end), ...b.downIntervals(end),
        ...serverOf(a).downIntervals(end), ...serverOf(b).downIntervals(end),
        ...(sameMachine ? [] : relay.downIntervals(end)),
      ];
      for (const s of [a, b]) {
        const good = reportedIntervals(s.lines, (l) => (sameMachine ? l.socket === 'connected' : l.online === true), end);
        bad.push(...complement(good, t0, end));
      }
      return complement(goodIntervals(bad, t0, end, SETTLE_MS), t0, end);
    };
    const violations: string[] = [];
    let overlapsWhileApart = 0;
    for (let i = 0; i < holdings.length; i++) {
      for (let j = i + 1; j < holdings.length; j++) {
        const h = holdings[i];
        const k = holdings[j];
        if (h.session === k.session) continue;
        if (!conflicts({ path: h.path, mode: h.mode, session: h.session.name }, { path: k.path, mode: k.mode, session: k.session.name })) continue;
        const from = Math.max(h.from, k.from);
        const to = Math.min(h.to, k.to);
        if (from >= to) continue;
        // Both held it during [from, to): were they connected at some point of it?
        const apart = notConnected(h.session, k.session);
        let covered = from;
        for (const [a, b] of apart) if (a <= covered && b > covered) covered = b;
        if (covered < to) violations.push(`${h.session.name} ${h.path} and ${k.session.name} ${k.path}, both confirmed in [${from - chaosStart}, ${to - chaosStart}] ms while connected from ${covered - chaosStart} ms (times since the chaos began, as in the log)`);
        else overlapsWhileApart++;
      }
    }

    const ops = acks.length;
    const lockEvents = sessions.flatMap((s) => s.lines.filter((l) => l.ev === 'lock'));
    const summary = {
      chaosSeconds: Math.round((allUp - chaosStart) / 1000),
      setupMs: setup,
      operationsAcknowledged: ops,
      byKind: Object.fromEntries(['decision', 'message', 'task', 'claim', 'done'].map((k) => [k, acks.filter((a) => a.kind === k).length])),
      unacknowledged: sessions.reduce((n, s) => n + s.lines.filter((l) => l.ev === 'unacked').length, 0),
      races,
      locksConfirmed: lockEvents.filter((l) => l.op === 'confirmed').length,
      locksLost: lockEvents.filter((l) => l.op === 'lost').length,
      locksUnconfirmedAtFirst: lockEvents.filter((l) => l.op === 'unconfirmed').length,
      overlappingHoldersWhilePartitioned: overlapsWhileApart,
      kills: counts.kills,
      sessionKills: counts.sessionKills,
      partitions: counts.stops + counts.pauses,
      relayStops: counts.stops,
      byFault,
      pauses: counts.pauses,
      convergenceMs: converged,
      presenceSettledMs: presenceSettled,
      claimsUnverifiable,
    };
    console.log(`chaos: ${JSON.stringify(summary)}`);
    if (violations.length || missing.length) console.log(log.join('\n'));
    expect(violations).toEqual([]);
    expect(ops).toBeGreaterThan(50);
    expect(counts.kills + counts.stops + counts.pauses).toBeGreaterThan(3);
    // The short run: every kind of fault, each at least once (the long run draws at random, as long as it is told).
    if (!LONG) for (const f of FAULTS) expect(byFault[f], `${f} faults`).toBeGreaterThan(0);
    expect(counts.sessionKills).toBe(1);
  });
});
