/**
 * Upstream section (issue 6): a team relay and three machines' local servers
 * (A, B, C) with `--upstream`, all `huddle serve` children on 127.0.0.1, each
 * with its own LevelDB; the sessions are embedded peers (HuddlePeer) in the
 * bench process, one on each local server, so every time is read on one clock.
 *
 *   latency   a change made by a session on A (a note set; a presence change)
 *             until a session on C sees it: A -> relay -> C, p50/p99
 *   catch-up  C's server killed (SIGKILL) while a session on A makes 1,000
 *             changes; C restarted on its LevelDB: time until a session on C holds
 *             all 1,000. And the relay paused (SIGSTOP) while A makes 1,000 changes:
 *             time from SIGCONT until the session on C holds all 1,000.
 *
 * BENCH_DEBUG=1 prints every note that took over 15 ms from A to C.
 */
import path from 'node:path';
import { HuddlePeer } from '../src/peer/peer.js';
import type { Section } from './section.js';
import { summarize, type ResultRow } from './stats.js';
import { cpuMs, getJson, makeTempDir, removeTempDir, startServer, type ServerProc } from './procs.js';
import { sleep, tick, waitFor } from './clients.js';
import { sessionOf } from '../src/model/session.js';

const PROJECT = 'bench-team';
const TOKEN = 'bench-team-token';
const OPS = 1000;

interface Health {
  upstream: { projects: Record<string, { status: string; since: number; lastSyncedAt: number | null }> } | null;
}

async function upstreamStatus(server: ServerProc): Promise<{ status: string; since: number } | null> {
  try {
    const h = await getJson<Health>(`${server.httpUrl}/healthz`, 5000);
    return h.upstream?.projects[PROJECT] ?? null;
  } catch {
    return null;
  }
}

/** Poll an async condition until it holds; throws after `timeoutMs`. */
async function until(fn: () => Promise<boolean>, what: string, timeoutMs = 20_000, intervalMs = 50): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** huddle_compactions_total from a server's /metrics, or null. */
async function compactions(server: ServerProc): Promise<number | null> {
  try {
    const res = await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
    const m = /^huddle_compactions_total (\d+)$/m.exec(await res.text());
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function join(server: ServerProc, id: string, syncTimeoutMs = 20_000): Promise<HuddlePeer> {
  return HuddlePeer.join({ url: server.wsUrl, project: PROJECT, session: { id, name: id, role: 'backend', agent: 'script' }, syncTimeoutMs });
}

/** Counts, incrementally, the notes, decisions and messages of one catch-up run (tagged) a peer holds. */
class CatchupCounter {
  private readonly seen = new Set<string>();
  private readonly unobserve: Array<() => void> = [];
  /** performance.now() when all `want` were first held. */
  completeAt: number | null = null;

  constructor(peer: HuddlePeer, tag: string, private readonly want: number) {
    const ctx = peer.context;
    const watchMap = (map: { observe: (f: (e: any) => void) => void; unobserve: (f: (e: any) => void) => void; get: (k: string) => unknown; forEach: (f: (v: any, k: string) => void) => void }, isOurs: (k: string, v: any) => boolean) => {
      const check = (k: string, v: unknown) => {
        if (v !== undefined && isOurs(k, v)) this.seen.add(k);
      };
      map.forEach((v, k) => check(k, v));
      const f = (e: { changes: { keys: Map<string, { action: string }> } }) => {
        for (const [k, c] of e.changes.keys) if (c.action !== 'delete') check(k, map.get(k));
        if (this.completeAt === null && this.seen.size >= this.want) this.completeAt = performance.now();
      };
      map.observe(f);
      this.unobserve.push(() => map.unobserve(f));
    };
    watchMap(ctx.notesMap as never, (k) => k.startsWith(`${tag}-`));
    watchMap(ctx.decisionsMap as never, (_k, v: { text?: string }) => typeof v.text === 'string' && v.text.startsWith(`${tag} `));
    watchMap(ctx.messagesMap as never, (_k, v: { text?: string }) => typeof v.text === 'string' && v.text.startsWith(`${tag} `));
    if (this.seen.size >= want) this.completeAt = performance.now();
  }

  get count(): number {
    return this.seen.size;
  }

  stop(): void {
    for (const f of this.unobserve) f();
  }
}

/** 1,000 changes by `peer`, each its own transaction: 400 notes, 300 decisions, 300 messages. */
async function makeChanges(peer: HuddlePeer, tag: string): Promise<void> {
  for (let i = 0; i < OPS; i++) {
    const kind = i % 10;
    if (kind < 4) peer.context.setNote(peer.actor, `${tag}-${i}`, `value ${i} of the catch-up run`);
    else if (kind < 7) peer.context.decide(peer.actor, { text: `${tag} decision ${i}: keep the module boundary`, rationale: 'benchmark' });
    else peer.context.send(peer.actor, { to: 'all', text: `${tag} message ${i}: the build is green again` });
    if (i % 20 === 19) await tick();
  }
  await peer.whenStored(30_000);
}

export const upstreamSection: Section = {
  name: 'upstream',
  groups: ['server'],
  description: 'a change on machine A reaching a session on machine C through a team relay (p50/p99); catch-up of 1,000 changes after C or the relay was away',
  async run(ctx) {
    const n = ctx.quick ? 150 : 600;
    const warmup = 20;
    const intervalMs = 20;
    const dir = makeTempDir('huddle-bench-upstream-');
    const servers: Record<string, ServerProc> = {};
    const peers: HuddlePeer[] = [];
    const upArgs = () => ['--upstream', servers.relay.wsUrl, '--upstream-token', TOKEN];
    const startLocal = async (name: string) => {
      const s = await startServer('huddle', path.join(dir, name), { extraArgs: upArgs() });
      servers[name] = s;
      return s;
    };
    let relayStopped = false;
    try {
      servers.relay = await startServer('huddle', path.join(dir, 'relay'), { extraArgs: ['--token', TOKEN] });
      for (const m of ['A', 'B', 'C']) await startLocal(m);
      ctx.progress(`  relay pid ${servers.relay.pid} on ${servers.relay.wsUrl}; A, B, C pids ${servers.A.pid}, ${servers.B.pid}, ${servers.C.pid}`);
      const a = await join(servers.A, 'session-on-A');
      const b = await join(servers.B, 'session-on-B');
      let c = await join(servers.C, 'session-on-C');
      peers.push(a, b, c);
      for (const m of ['A', 'B', 'C']) await until(async () => (await upstreamStatus(servers[m]))?.status === 'connected', `${m} connected upstream`);
      await waitFor(() => c.presenceView().sessions.some((s) => s.id === 'session-on-A'), 'C sees the session on A', 20_000);
      await sleep(300);

      // ---- latency: a note set on A, seen on C --------------------------------------
      const docSent = new Map<number, number>();
      const docLat: number[] = [];
      const onNotes = (e: { changes: { keys: Map<string, unknown> } }) => {
        const t = performance.now();
        if (!e.changes.keys.has('bench-latency')) return;
        const seq = Number(c.context.getNote('bench-latency')?.value);
        if (seq >= 0 && docSent.has(seq)) {
          docLat.push(t - docSent.get(seq)!);
          if (process.env.BENCH_DEBUG && t - docSent.get(seq)! > 15) process.stderr.write(`note ${seq}: ${(t - docSent.get(seq)!).toFixed(1)} ms\n`);
        }
      };
      c.context.notesMap.observe(onNotes as never);
      let t0 = performance.now();
      for (let k = 0; k < warmup + n; k++) {
        const wait = t0 + k * intervalMs - performance.now();
        if (wait >= 1) await sleep(wait);
        const seq = k - warmup;
        docSent.set(seq, performance.now());
        a.context.setNote(a.actor, 'bench-latency', String(seq));
      }
      await sleep(500);
      c.context.notesMap.unobserve(onNotes as never);
      const doc = summarize(docLat);
      const comp = await Promise.all(['A', 'relay', 'C'].map((m) => compactions(servers[m])));
      const compText = `compactions so far: A ${comp[0] ?? '?'}, relay ${comp[1] ?? '?'}, C ${comp[2] ?? '?'}`;
      ctx.progress(`  note set on A seen on C: ${docLat.length}/${n}, p50 ${doc.p50.toFixed(2)} ms, p99 ${doc.p99.toFixed(2)} ms, max ${doc.max.toFixed(2)} ms; ${compText}`);

      // ---- latency: a presence change on A, seen on C ------------------------------
      const presSent = new Map<number, number>();
      const presLat: number[] = [];
      let lastIntent = '';
      const onAwareness = () => {
        const t = performance.now();
        for (const st of c.awareness.getStates().values()) {
          const s = sessionOf(st);
          if (s?.id !== 'session-on-A' || !s.intent?.startsWith('bench:') || s.intent === lastIntent) continue;
          lastIntent = s.intent;
          const seq = Number(s.intent.slice(6));
          if (seq >= 0 && presSent.has(seq)) presLat.push(t - presSent.get(seq)!);
        }
      };
      c.awareness.on('change', onAwareness);
      t0 = performance.now();
      for (let k = 0; k < warmup + n; k++) {
        const wait = t0 + k * intervalMs - performance.now();
        if (wait >= 1) await sleep(wait);
        const seq = k - warmup;
        presSent.set(seq, performance.now());
        a.presence.touch({ intent: `bench:${seq}` });
      }
      await sleep(500);
      c.awareness.off('change', onAwareness);
      const pres = summarize(presLat);
      ctx.progress(`  presence change on A seen on C: ${presLat.length}/${n}, p50 ${pres.p50.toFixed(2)} ms, p99 ${pres.p99.toFixed(2)} ms, max ${pres.max.toFixed(2)} ms`);

      // ---- catch-up 1: the relay paused ----------------------------------------------
      const counterPause = new CatchupCounter(c, 'paused', OPS);
      const counterPauseB = new CatchupCounter(b, 'paused', OPS);
      servers.relay.proc.kill('SIGSTOP');
      relayStopped = true;
      const p0 = performance.now();
      await makeChanges(a, 'paused');
      const pauseMakeMs = performance.now() - p0;
      await sleep(200);
      const heldBeforeCont = counterPause.count;
      const cpuBefore = { relay: cpuMs(servers.relay.pid), C: cpuMs(servers.C.pid) };
      const cont = performance.now();
      servers.relay.proc.kill('SIGCONT');
      relayStopped = false;
      await waitFor(() => counterPause.completeAt !== null, `C to hold all ${OPS} changes after SIGCONT`, 30_000, 1).catch(() => {});
      const cpuAtC = { relay: cpuMs(servers.relay.pid), C: cpuMs(servers.C.pid) };
      await waitFor(() => counterPauseB.completeAt !== null, `B to hold all ${OPS} changes after SIGCONT`, 10_000, 1).catch(() => {});
      const pauseMs = counterPause.completeAt === null ? null : counterPause.completeAt - cont;
      const pauseBMs = counterPauseB.completeAt === null ? null : counterPauseB.completeAt - cont;
      // CPU the relay and C used from SIGCONT until C held everything (10 ms ticks).
      const pauseCpu = { relay: cpuAtC.relay - cpuBefore.relay, C: cpuAtC.C - cpuBefore.C };
      counterPauseB.stop();
      ctx.progress(
        `  relay paused: ${OPS} changes on A in ${pauseMakeMs.toFixed(0)} ms (C held ${heldBeforeCont} of them before SIGCONT); ` +
          `C held ${counterPause.count}/${OPS} ${pauseMs === null ? 'after 30 s' : `${pauseMs.toFixed(0)} ms after SIGCONT`}, B ${pauseBMs === null ? '?' : `${pauseBMs.toFixed(0)} ms`}; CPU meanwhile: relay ${pauseCpu.relay} ms, C ${pauseCpu.C} ms`,
      );
      counterPause.stop();
      await until(async () => (await upstreamStatus(servers.C))?.status === 'connected', 'C connected upstream again');

      // ---- catch-up 2: C's server killed and restarted ----------------------------------
      await c.close();
      peers.splice(peers.indexOf(c), 1);
      await servers.C.stop('SIGKILL', 5000);
      const k0 = performance.now();
      await makeChanges(a, 'offline');
      const offMakeMs = performance.now() - k0;
      const counterB = new CatchupCounter(b, 'offline', OPS);
      await waitFor(() => counterB.completeAt !== null, `B (and so the relay) to hold all ${OPS} changes`, 30_000, 2);
      counterB.stop();
      const restart0 = performance.now();
      const restarted = await startServer('huddle', path.join(dir, 'C'), { extraArgs: upArgs(), logLevel: 'debug' });
      servers.C = restarted;
      const listening = performance.now();
      // A session on C comes back right away; C loads the project (and opens its upstream link) on its first connection.
      const joinP = join(restarted, 'session-on-C', 0);
      c = await joinP;
      peers.push(c);
      const counterC = new CatchupCounter(c, 'offline', OPS);
      const firstSync = c.connection.whenSynced(20_000).then(() => ({ at: performance.now(), held: counterC.count }));
      await waitFor(() => counterC.completeAt !== null, `C to hold all ${OPS} changes after its restart`, 30_000, 1).catch(() => {});
      const synced = await firstSync.catch(() => null);
      const up = await upstreamStatus(restarted);
      const linkUpAt = up?.status === 'connected' ? up.since - (Date.now() - performance.now()) : null; // epoch ms -> performance.now() scale
      // Best effort, from C's debug log: how long reading and applying the stored document took.
      const read = new RegExp(`document read project=${PROJECT} records=(\\d+) bytes=(\\d+) ms=(\\d+)`).exec(restarted.output());
      const applied = new RegExp(`document applied project=${PROJECT} ms=(\\d+)`).exec(restarted.output());
      const serverLoad = read ? `${read[3]} ms read (${read[1]} records, ${read[2]} bytes)${applied ? ` + ${applied[1]} ms applied` : ''}` : null;
      const offMs = counterC.completeAt === null ? null : counterC.completeAt - listening;
      const fromLink = counterC.completeAt !== null && linkUpAt !== null ? counterC.completeAt - linkUpAt : null;
      ctx.progress(
        `  C killed: ${OPS} changes on A in ${offMakeMs.toFixed(0)} ms; C restarted (listening ${(listening - restart0).toFixed(0)} ms after spawn); ` +
          `session on C first synced after ${synced ? (synced.at - listening).toFixed(0) : '?'} ms holding ${synced?.held ?? '?'}; ` +
          `C's upstream link up ${linkUpAt === null ? '?' : (linkUpAt - listening).toFixed(0)} ms after listening; ` +
          `all ${counterC.count}/${OPS} held ${offMs === null ? 'not within 30 s' : `${offMs.toFixed(0)} ms after listening`}` +
          (serverLoad ? `; C's log: document ${serverLoad}` : ''),
      );
      counterC.stop();

      return [
        { section: 'upstream', metric: 'A -> relay -> C, note set p50', unit: 'ms', huddle: doc.p50, reference: null, goal: '', met: null },
        {
          section: 'upstream',
          metric: 'A -> relay -> C, note set p99',
          unit: 'ms',
          huddle: doc.p99,
          reference: null,
          goal: '< 15 ms',
          met: docLat.length === n && doc.p99 < 15,
          note:
            `${n} context.setNote() calls (one transaction each, with its timeline entry) by a session on A, one every ${intervalMs} ms after ${warmup} unrecorded, ` +
            `timed until the notes map of a session on C changes; path: session -> A (stores) -> team relay (stores) -> C (stores) -> session; ` +
            `${docLat.length}/${n} seen; max ${doc.max.toFixed(1)} ms; ${compText} (a slower change or two near the 500th stored update, where a server compacts, shows with BENCH_DEBUG=1)`,
        },
        { section: 'upstream', metric: 'A -> relay -> C, presence change p50', unit: 'ms', huddle: pres.p50, reference: null, goal: '', met: null },
        {
          section: 'upstream',
          metric: 'A -> relay -> C, presence change p99',
          unit: 'ms',
          huddle: pres.p99,
          reference: null,
          goal: '< 15 ms',
          met: presLat.length === n && pres.p99 < 15,
          note: `${n} presence.touch({intent}) calls on A, paced the same way, until C's awareness shows the intent; ${presLat.length}/${n} seen; max ${pres.max.toFixed(1)} ms`,
        },
        {
          section: 'upstream',
          metric: `catch-up of ${OPS} changes after C's server was down`,
          unit: 'ms',
          huddle: offMs,
          reference: null,
          goal: '< 1,000 ms',
          met: offMs !== null && offMs < 1000,
          note:
            `C's server SIGKILLed; a session on A makes ${OPS} changes (400 notes, 300 decisions, 300 messages, one transaction each) in ${offMakeMs.toFixed(0)} ms; ` +
            `once B holds them all, C restarts on its LevelDB and a session connects to it at once; time from C listening until that session holds all ${OPS} ` +
            `(its first sync came ${synced ? (synced.at - listening).toFixed(0) : '?'} ms after listening holding ${synced?.held ?? '?'}; C's upstream link was up ` +
            `${linkUpAt === null ? '?' : (linkUpAt - listening).toFixed(0)} ms after listening` +
            (fromLink === null ? '' : `, so ${fromLink.toFixed(0)} ms from the link's reconnect`) +
            `); C loads the project, and opens its link, on that first connection` + (serverLoad ? ` (its log: document ${serverLoad})` : ''),
        },
        {
          section: 'upstream',
          metric: `catch-up of ${OPS} changes after the relay was paused`,
          unit: 'ms',
          huddle: pauseMs,
          reference: null,
          goal: '< 1,000 ms',
          met: pauseMs !== null && pauseMs < 1000,
          note:
            `team relay SIGSTOPped (its sockets stay open) while a session on A makes ${OPS} changes in ${pauseMakeMs.toFixed(0)} ms; ` +
            `time from SIGCONT until the session on C holds all ${OPS} (${counterPause.count} held at the end; the session on B: ${pauseBMs === null ? '?' : `${pauseBMs.toFixed(0)} ms`}); CPU used meanwhile: relay ${pauseCpu.relay} ms, C's server ${pauseCpu.C} ms`,
        },
      ] satisfies ResultRow[];
    } catch (err) {
      for (const [name, s] of Object.entries(servers)) {
        const out = s.output().trim().split('\n').slice(-20).join('\n');
        if (out) ctx.progress(`  last output of ${name}:\n${out}`);
      }
      throw err;
    } finally {
      if (relayStopped) servers.relay?.proc.kill('SIGCONT');
      for (const p of peers) await p.close().catch(() => {});
      for (const s of Object.values(servers)) await s.stop('SIGKILL', 5000);
      removeTempDir(dir);
    }
  },
};
