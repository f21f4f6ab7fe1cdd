/**
 * Three relay nodes (`huddle serve --store postgres://…` child processes) on one real
 * PostgreSQL, and two machine servers with `--upstream` to two different nodes:
 * - each project has one owner (the lease); the other nodes serve through it;
 * - a decision made on one machine reaches the other;
 * - an exclusive lock raced from both machines is confirmed for exactly one, every round;
 * - kill -9 of the owner: another node takes the lease, the machines reconnect, and the
 *   same holds again; nothing acknowledged before the kill is lost. The takeover time
 *   is printed (a figure, not asserted: the benchmark reports it);
 * - the HTTP API of a node that does not own the project (hooks, the CLI's operations,
 *   /state, the /events stream) is answered by the owner, after the receiving node's own
 *   guards (Host, Origin, Content-Type, token);
 * - the database stopped under writers on all three nodes: every node reports unhealthy and
 *   refuses writes (1013, 503), and all recover by themselves once it is back, nothing
 *   acknowledged lost.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HuddlePeer } from '../src/peer/peer.js';
import { PostgresPersistence } from '../src/store/postgres-persistence.js';
import { startPg, pgUnavailable, freePort, type PgCluster } from './pg-harness.js';
import { isolatedEnv, runCli } from './cli-run.js';
import { ROOT, cleanup, closeOf, onCleanup, rawSocket, sleep, spawnJsonLines, spawnServer, startServer, tempDir, waitExit, waitFor, type ServerChild } from './helpers.js';

const SESSION = path.join(ROOT, 'dist/test/fixtures/store-session.js');
const CHAOS_MS = Number(process.env.HUDDLE_PG_CHAOS_SECONDS ?? 12) * 1000;
type Lines = Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Session = { p: import('node:child_process').ChildProcess; lines: Lines };
const acks = (s: Session) => s.lines.filter((l) => l.ev === 'ack').map((l) => l.id as string);
async function ask(s: Session, cmd: string, ev: string, timeout = 20_000): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const from = s.lines.length;
  s.p.stdin!.write(cmd + '\n');
  return (await waitFor(() => s.lines.slice(from).find((l) => l.ev === ev), `${ev} after ${cmd}`, timeout))!;
}

const TOKEN = 'cluster-secret';
const missing = pgUnavailable();
if (missing) console.warn(`skipping PostgreSQL cluster tests: ${missing}`);

afterEach(cleanup);

async function join(url: string, id: string, token?: string) {
  const p = await HuddlePeer.join({ url, project: 'team', token, session: { id, name: id }, heartbeatMs: 200 });
  onCleanup(() => p.close());
  return p;
}

const holders = (p: HuddlePeer, file: string) =>
  p.presenceView().locks.filter((l) => l.path === file && l.state === 'held').map((l) => l.session).sort();

async function owned(n: ServerChild): Promise<string[]> {
  try {
    const h = await (await fetch(`${n.url}/healthz`)).json();
    return (h.cluster?.owned ?? []).map((o: { project: string }) => o.project);
  } catch {
    return [];
  }
}

/** Both sessions race for `file` at once: exactly one confirmed, the other told who holds it, both agree. */
async function race(a: HuddlePeer, b: HuddlePeer, file: string): Promise<string> {
  const results = await Promise.all([a.lock([file]), b.lock([file])]);
  const names = ['alice', 'bob'];
  const confirmed = results.map((r, i) => (r.status === 'confirmed' ? names[i] : null)).filter(Boolean) as string[];
  expect(confirmed, `${file}: ${results.map((r) => r.status).join(' ')}`).toHaveLength(1);
  expect(results.filter((r) => r.status !== 'confirmed' && r.status !== 'held')).toHaveLength(0);
  await waitFor(() => holders(a, file).join() === confirmed.join() && holders(b, file).join() === confirmed.join(), `${file}: both agree`, 5000);
  return confirmed[0];
}

describe.skipIf(missing)('three relay nodes on one PostgreSQL', () => {
  let pg: PgCluster;
  beforeAll(async () => {
    pg = await startPg();
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  it('one owner per project; machines on different nodes share decisions and locks; kill -9 of the owner fails over', { timeout: 120_000 }, async () => {
    const url = await pg.createDb();
    const node = (name: string) => spawnServer(path.join(tempDir(), 'data'), ['--store', url, '--token', TOKEN, '--node', name]);
    const [a, b, c] = [await node('A'), await node('B'), await node('C')];
    // A client of node A first: A takes the lease of the project.
    const direct = await join(a.wsUrl, 'direct', TOKEN);
    await waitFor(async () => (await owned(a)).includes('team'), 'A owns team', 10_000, 50);

    const up = (n: ServerChild) => ({ upstream: n.wsUrl, upstreamToken: TOKEN, awarenessTimeoutMs: 3000 });
    const machine1 = await startServer(up(b));
    const machine2 = await startServer(up(c));
    const alice = await join(machine1.wsUrl, 'alice');
    const bob = await join(machine2.wsUrl, 'bob');
    for (const p of [alice, bob]) await waitFor(() => p.presence.transport.online(), `${p.presence.id} authoritative`, 10_000);
    await waitFor(() => alice.presenceView().sessions.length === 3 && bob.presenceView().sessions.length === 3, 'everyone sees everyone', 10_000);
    // B and C serve the project through A: they do not own it.
    expect(await owned(b)).toEqual([]);
    expect(await owned(c)).toEqual([]);
    const hb = await (await fetch(`${b.url}/healthz`)).json();
    expect(hb.cluster.forwardedOpen).toBeGreaterThanOrEqual(1);
    const metricsA = await (await fetch(`${a.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metricsA).toMatch(/^huddle_projects_owned 1$/m);
    expect(metricsA).toMatch(/^huddle_database_up 1$/m);

    const d1 = alice.context.decide(alice.actor, { text: 'from machine 1', rationale: 'through node B and the owner A' });
    await waitFor(() => bob.context.decisions().some((d) => d.id === d1.id), 'decision machine 1 → machine 2', 10_000);
    const d2 = bob.context.decide(bob.actor, { text: 'from machine 2' });
    await waitFor(() => alice.context.decisions().some((d) => d.id === d2.id), 'decision machine 2 → machine 1', 10_000);
    for (let round = 0; round < 4; round++) await race(alice, bob, `src/race-${round}.ts`);
    await Promise.all([alice.whenStored(), bob.whenStored()]);
    // Acknowledged by the machines, and forwarded up: at the owner, hence in PostgreSQL.
    await waitFor(async () => {
      const p = new PostgresPersistence({ connectionString: url, max: 1 });
      await p.open();
      const doc = new Y.Doc();
      const { update } = await p.load('team');
      await p.close();
      if (update) Y.applyUpdate(doc, update);
      return doc.getMap('decisions').has(d1.id) && doc.getMap('decisions').has(d2.id);
    }, 'both decisions in PostgreSQL', 10_000, 100);

    // kill -9 of the owner.
    await direct.close();
    a.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await waitExit(a.proc);
    const d3 = alice.context.decide(alice.actor, { text: 'after the owner died' });
    await waitFor(async () => (await owned(b)).includes('team') || (await owned(c)).includes('team'), 'another node takes over', 20_000, 25);
    const takeoverMs = Date.now() - killedAt;
    await waitFor(() => bob.context.decisions().some((d) => d.id === d3.id), 'a decision across after the failover', 20_000, 25);
    const endToEndMs = Date.now() - killedAt;
    const owners = [...(await owned(b)), ...(await owned(c))].filter((p) => p === 'team');
    expect(owners).toHaveLength(1);
    for (const p of [alice, bob]) await waitFor(() => p.presence.transport.online(), `${p.presence.id} authoritative again`, 20_000);
    await waitFor(() => alice.presenceView().sessions.length === 2 && bob.presenceView().sessions.length === 2, 'everyone sees everyone again', 10_000);
    for (let round = 4; round < 8; round++) await race(alice, bob, `src/race-${round}.ts`);
    expect(bob.context.decisions().map((d) => d.id)).toEqual(expect.arrayContaining([d1.id, d2.id, d3.id]));
    console.log(`pg cluster: kill -9 of the owner → lease taken by another node after ${takeoverMs} ms; a decision across the machines after ${endToEndMs} ms`);
  });

  it('hooks, CLI operations, /state and /events sent to a node that does not own the project are answered by the owner', { timeout: 90_000 }, async () => {
    const url = await pg.createDb();
    const node = (name: string) => spawnServer(path.join(tempDir(), 'data'), ['--store', url, '--token', TOKEN, '--node', name]);
    const [a, b, c] = [await node('A'), await node('B'), await node('C')];
    // A repository whose hooks name the project, as huddle init leaves it.
    const root = path.join(tempDir(), 'repo');
    fs.mkdirSync(path.join(root, '.git'), { recursive: true });
    fs.writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    fs.mkdirSync(path.join(root, '.huddle'));
    fs.writeFileSync(path.join(root, '.huddle', 'config.json'), JSON.stringify({ project: 'team' }));
    const env = isolatedEnv();
    const cli = (n: ServerChild, session: string, ...args: string[]) =>
      runCli(['--url', n.wsUrl, '--project', 'team', '--token', TOKEN, '--session', session, ...args], { cwd: root, env });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const hook = async (n: ServerChild, payload: Record<string, unknown>) => {
      const res = await fetch(`${n.url}/hooks/claude-code`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(payload) });
      return { status: res.status, via: res.headers.get('x-huddle-via'), body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const hookBase = (session: string, event: string) => ({ session_id: session, transcript_path: '/tmp/t.jsonl', cwd: root, permission_mode: 'default', hook_event_name: event });

    // The first node asked while nobody owns the project takes it: alice locks through A.
    const locked = await cli(a, 'alice', 'lock', 'src/a.ts', '--reason', 'refactoring', '--json');
    expect(locked.code, locked.stderr).toBe(0);
    expect(JSON.parse(locked.stdout).status).toBe('confirmed');
    expect(await owned(a)).toEqual(['team']);

    // A CLI write through B, a CLI lock race through C: the owner's answers.
    const decided = await cli(b, 'bob', 'decide', 'through a node that is not the owner', '--json');
    expect(decided.code, decided.stderr).toBe(0);
    const refused = await cli(c, 'carol', 'lock', 'src/a.ts', '--json');
    expect(refused.stdout + refused.stderr).toMatch(/alice/);
    expect(refused.code).not.toBe(0);

    // A PreToolUse hook of another session on alice's file, sent to B (its SessionStart to C): denied.
    expect((await hook(c, { ...hookBase('sess-bob', 'SessionStart'), source: 'startup' })).status).toBe(200);
    const denied = await hook(b, { ...hookBase('sess-bob', 'PreToolUse'), tool_name: 'Edit', tool_input: { file_path: path.join(root, 'src/a.ts'), old_string: 'a', new_string: 'b' }, tool_use_id: 'toolu_1' });
    expect(denied.status).toBe(200);
    expect(denied.via).toBe('B');
    expect(denied.body.hookSpecificOutput?.permissionDecision).toBe('deny');
    expect(denied.body.hookSpecificOutput?.permissionDecisionReason).toMatch(/alice/);
    const allowed = await hook(b, { ...hookBase('sess-bob', 'PreToolUse'), tool_name: 'Edit', tool_input: { file_path: path.join(root, 'src/free.ts'), old_string: 'a', new_string: 'b' }, tool_use_id: 'toolu_2' });
    expect(allowed.status).toBe(200);
    expect(allowed.body.hookSpecificOutput?.permissionDecision).not.toBe('deny');

    // /state through C: the owner's document, the hosted sessions the hooks and the CLI made there.
    const state = await fetch(`${c.url}/api/p/team/state`, { headers: auth });
    expect(state.status).toBe(200);
    expect(state.headers.get('x-huddle-via')).toBe('C');
    const snap = JSON.stringify(await state.json());
    expect(snap).toContain('through a node that is not the owner');
    expect(snap).toContain('src/a.ts');

    // /events through B is a stream, passed through as it comes: a decision made through C arrives.
    const abort = new AbortController();
    const events = await fetch(`${b.url}/api/p/team/events`, { headers: auth, signal: abort.signal });
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = events.body!.getReader();
    let streamed = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        streamed += Buffer.from(value!).toString('utf8');
      }
    })();
    await waitFor(() => streamed.includes('huddle events'), 'the stream opened', 10_000, 25);
    expect((await cli(c, 'carol', 'decide', 'seen on a forwarded stream', '--json')).code).toBe(0);
    await waitFor(() => streamed.includes('seen on a forwarded stream'), 'the event through the stream', 10_000, 25);
    abort.abort();
    await reading;

    // A lock that waits for its holder, through C, while alice unlocks through B: confirmed once free.
    const waiting = cli(c, 'carol', 'lock', 'src/a.ts', '--wait', '30s', '--json');
    await sleep(1000);
    expect((await cli(b, 'alice', 'unlock', 'src/a.ts')).code).toBe(0);
    const waited = await waiting;
    expect(waited.code, waited.stderr).toBe(0);
    expect(JSON.parse(waited.stdout).status).toBe('confirmed');

    // The receiving node's guards come first, and answer there (no x-huddle-via).
    const noToken = await fetch(`${b.url}/api/p/team/state`);
    expect([noToken.status, noToken.headers.get('x-huddle-via')]).toEqual([401, null]);
    const noType = await fetch(`${b.url}/api/p/team/op/decide`, { method: 'POST', headers: auth, body: JSON.stringify({ text: 'x' }) });
    expect(noType.status).toBe(415);
    expect(noType.headers.get('x-huddle-via')).toBeNull();
    const page = await fetch(`${b.url}/api/p/team/op/decide`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', origin: 'https://evil.example' }, body: JSON.stringify({ text: 'x' }) });
    expect(page.status).toBe(403);
    expect(page.headers.get('x-huddle-via')).toBeNull();

    // Only A loaded the project; B and C passed the requests on.
    expect(await owned(b)).toEqual([]);
    expect(await owned(c)).toEqual([]);
    const metricsB = await (await fetch(`${b.url}/metrics`, { headers: auth })).text();
    expect(Number(/^huddle_forwarded_requests_total (\d+)$/m.exec(metricsB)?.[1])).toBeGreaterThanOrEqual(3);
  });

  it('chaos: random kill -9 of nodes, the owner included, while sessions write: nothing acknowledged lost, one document, one holder', { timeout: CHAOS_MS + 120_000 }, async () => {
    const url = await pg.createDb();
    const names = ['A', 'B', 'C'];
    const ports = [await freePort(), await freePort(), await freePort()];
    const datas = names.map(() => path.join(tempDir(), 'data'));
    const nodes: ServerChild[] = [];
    const start = async (i: number) => {
      nodes[i] = await spawnServer(datas[i], ['--port', String(ports[i]), '--store', url, '--node', names[i]]);
    };
    for (let i = 0; i < 3; i++) await start(i);
    // One session per node: two of them are always served through the owner.
    const sessions = names.map((_, i) => spawnJsonLines(SESSION, [`ws://127.0.0.1:${ports[i]}`, 'chaos', `s${i}`]) as Session);
    await waitFor(() => sessions.every((x) => acks(x).length >= 5), 'first acknowledgements', 30_000);
    const ownerOf = async () => {
      for (let i = 0; i < 3; i++) if ((await owned(nodes[i])).includes('chaos')) return i;
      return -1;
    };
    const takeovers: number[] = [];
    let kills = 0;
    const until = Date.now() + CHAOS_MS;
    while (Date.now() < until) {
      const owner = await ownerOf();
      // The first kill is the owner's; then any node.
      const i = kills === 0 && owner >= 0 ? owner : Math.floor(Math.random() * 3);
      nodes[i].proc.kill('SIGKILL');
      await waitExit(nodes[i].proc);
      const t = Date.now();
      kills++;
      if (i === owner) {
        await waitFor(async () => (await ownerOf()) >= 0, 'a new owner after kill -9 of the owner', 15_000, 25);
        takeovers.push(Date.now() - t);
      }
      await sleep(300 + Math.random() * 700);
      await start(i);
      await sleep(800 + Math.random() * 1200);
    }
    await Promise.all(sessions.map((x) => ask(x, 'quiet', 'flushed', 60_000)));
    // One document: every session has the same decisions.
    await waitFor(async () => {
      const d = await Promise.all(sessions.map((x) => ask(x, 'digest', 'digest')));
      return d.every((x) => x.hash === d[0].hash);
    }, 'sessions converge', 20_000, 200);
    const p = new PostgresPersistence({ connectionString: url, max: 1 });
    await p.open();
    const doc = new Y.Doc();
    const { update } = await p.load('chaos');
    await p.close();
    if (update) Y.applyUpdate(doc, update);
    const stored = doc.getMap('decisions');
    const acked = sessions.flatMap(acks);
    expect(acked.filter((id) => !stored.has(id)), 'acknowledged but missing').toEqual([]);
    // One holder: all three race for one exclusive lock once they see each other.
    await waitFor(async () => (await Promise.all(sessions.map((x) => ask(x, 'view', 'view')))).every((v) => v.sessions === 3), 'all sessions see each other', 20_000, 200);
    for (let round = 0; round < 3; round++) {
      const file = `src/final-${round}.ts`;
      const outcomes = await Promise.all(sessions.map((x) => ask(x, `lock ${file}`, 'lock')));
      expect(outcomes.filter((o) => o.status === 'confirmed'), `${file}: ${outcomes.map((o) => o.status).join(' ')}`).toHaveLength(1);
    }
    expect(takeovers.length).toBeGreaterThan(0);
    const sorted = takeovers.slice().sort((x, y) => x - y);
    console.log(`pg chaos: ${kills} kills (${takeovers.length} of the owner) in ${CHAOS_MS / 1000} s, ${acked.length} acknowledged decisions all stored; takeover after kill -9 of the owner: median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`);
  });

  it('the database stopped under writers on three nodes: every node unhealthy and refusing writes (1013, 503), all recover by themselves', { timeout: 120_000 }, async () => {
    const url = await pg.createDb();
    const nodes = [await spawnServer(path.join(tempDir(), 'data'), ['--store', url, '--node', 'A']), await spawnServer(path.join(tempDir(), 'data'), ['--store', url, '--node', 'B']), await spawnServer(path.join(tempDir(), 'data'), ['--store', url, '--node', 'C'])];
    const health = async (n: ServerChild) => (await fetch(`${n.url}/healthz`)).json();
    // One writer per node: one served by the owner, two through it.
    const writers = nodes.map((n, i) => spawnJsonLines(SESSION, [n.wsUrl, 'outage', `w${i}`]) as Session);
    await waitFor(() => writers.every((w) => acks(w).length >= 5), 'first acknowledgements', 30_000);
    const ackedAt = (w: Session, since: number) => w.lines.filter((l) => l.ev === 'ack' && l.t >= since).length;

    await pg.stop('immediate');
    const downAt = Date.now();
    try {
      for (const n of nodes) {
        const h = await waitFor(async () => {
          const x = await health(n);
          return x.ok === false && x.database?.ok === false ? x : null;
        }, `${n.url} unhealthy`, 10_000, 100);
        expect(h!.database).toMatchObject({ ok: false, writes: 'refused' });
      }
      // Every writer is closed with 1013 (by the owner, passed on by the node it reached, or by that node).
      for (const w of writers) {
        const closed = await waitFor(() => w.lines.find((l) => l.ev === 'close' && l.t >= downAt), 'writer closed', 10_000);
        expect(closed!.code).toBe(1013);
      }
      for (const n of nodes) {
        // New connections and HTTP writes are refused at every node, not held.
        expect(await closeOf(await rawSocket(`${n.wsUrl}/outage`))).toEqual({ code: 1013, reason: expect.stringMatching(/try again later/) });
        const res = await fetch(`${n.url}/api/p/outage/op/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: { id: 'cli' }, text: 'during the outage' }) });
        expect(res.status).toBe(503);
        expect(await (await fetch(`${n.url}/metrics`)).text()).toMatch(/^huddle_database_up 0$/m);
      }
      // Nothing the writers made meanwhile was acknowledged.
      await sleep(1000);
      expect(writers.map((w) => ackedAt(w, downAt + 1000))).toEqual([0, 0, 0]);
    } finally {
      await pg.start();
    }
    const upAt = Date.now();
    for (const n of nodes) await waitFor(async () => (await health(n)).ok === true, `${n.url} healthy again`, 20_000, 100);
    await waitFor(() => writers.every((w) => ackedAt(w, upAt) >= 5), 'acknowledgements on every node after the database is back', 30_000);
    const recoveredMs = Math.max(...writers.map((w) => (w.lines.find((l) => l.ev === 'ack' && l.t >= upAt)?.t ?? 0) - upAt));
    // One owner again.
    expect((await Promise.all(nodes.map(owned))).flat().filter((p) => p === 'outage')).toHaveLength(1);
    await Promise.all(writers.map((w) => ask(w, 'quiet', 'flushed', 30_000)));
    const p = new PostgresPersistence({ connectionString: url, max: 1 });
    await p.open();
    const doc = new Y.Doc();
    const { update } = await p.load('outage');
    await p.close();
    if (update) Y.applyUpdate(doc, update);
    const stored = doc.getMap('decisions');
    const acked = writers.flatMap(acks);
    expect(acked.filter((id) => !stored.has(id)), 'acknowledged but missing').toEqual([]);
    console.log(`pg cluster outage: 3 nodes unhealthy and refusing, ${acked.length} acknowledged all stored; every writer acknowledged again within ${recoveredMs} ms of the database's restart`);
  });
});
