import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { spawn } from 'node:child_process';
import * as Y from 'yjs';
import { HuddlePeer, type JoinOptions } from '../src/peer/peer.js';
import { cleanup, onCleanup, ROOT, spawnJsonLines, sleep, startServer, tempDir, waitExit, waitFor } from './helpers.js';
import { resolve, type SeenClaim } from '../src/model/locks.js';

afterEach(cleanup);

async function join(url: string, project: string, session: JoinOptions['session'], extra: Partial<JoinOptions> = {}): Promise<HuddlePeer> {
  const peer = await HuddlePeer.join({ url, project, session, heartbeatMs: 200, ...extra });
  onCleanup(() => peer.close());
  return peer;
}

describe('sessions', () => {
  it('peers see each other with role, task and intent; a clean close disappears at once', async () => {
    const server = await startServer();
    const a = await join(server.wsUrl, 'team', { id: 'a', name: 'alice', role: 'frontend', agent: 'claude-code', task: 'login form', intent: 'wiring the submit button' });
    const b = await join(server.wsUrl, 'team', { id: 'b', name: 'bob', role: 'backend' });
    await waitFor(() => b.presenceView().sessions.some((s) => s.id === 'a'), 'b sees a');
    const seen = b.presenceView().sessions.find((s) => s.id === 'a')!;
    expect(seen).toMatchObject({ name: 'alice', role: 'frontend', agent: 'claude-code', task: 'login form', intent: 'wiring the submit button', status: 'active', hosted: false });
    expect(seen.pid).toBe(process.pid);
    a.presence.touch({ intent: 'writing tests' });
    await waitFor(() => b.presenceView().sessions.find((s) => s.id === 'a')?.intent === 'writing tests', 'intent update');
    const t0 = Date.now();
    await a.close();
    await waitFor(() => !b.presenceView().sessions.some((s) => s.id === 'a'), 'a gone');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('10,000 heartbeats leave the document size unchanged', async () => {
    const server = await startServer();
    const a = await join(server.wsUrl, 'hb', { id: 'a' });
    a.context.decide(a.actor, { text: 'use ESM' });
    // The server records the join once (issue 17, src/model/activity.ts); heartbeats add nothing after it.
    await waitFor(() => a.context.timeline({ types: ['session.joined'] }).length === 1, 'the join to be recorded');
    await a.whenStored();
    const before = Y.encodeStateAsUpdate(a.doc).byteLength;
    for (let i = 0; i < 10_000; i++) a.presence.touch({ intent: `step ${i}` });
    await sleep(100);
    expect(Y.encodeStateAsUpdate(a.doc).byteLength).toBe(before);
    const fresh = new Y.Doc();
    const room = await server.room('hb');
    Y.applyUpdate(fresh, Y.encodeStateAsUpdate(room.doc));
    expect(Y.encodeStateAsUpdate(fresh).byteLength).toBe(before);
  });
});

describe('locks', () => {
  it('exclusive lock: confirmed for the first, held for the second; shared locks coexist; release is immediate', async () => {
    const server = await startServer();
    const a = await join(server.wsUrl, 'lk', { id: 'a', name: 'alice' });
    const b = await join(server.wsUrl, 'lk', { id: 'b', name: 'bob' });
    const r1 = await a.lock(['src/a.ts'], { reason: 'refactor' });
    expect(r1.status).toBe('confirmed');
    await waitFor(() => b.presenceView().locks.some((l) => l.path === 'src/a.ts' && l.state === 'held'), 'b sees lock');
    const r2 = await b.lock(['src/**/*.ts']);
    expect(r2.status).toBe('held');
    if (r2.status === 'held') expect(r2.holder).toMatchObject({ session: 'a', path: 'src/a.ts', reason: 'refactor' });
    expect((await b.lock(['src/b.js'])).status).toBe('confirmed');
    // Shared + shared coexist; exclusive against shared does not.
    expect((await a.lock(['docs'], { mode: 'shared' })).status).toBe('confirmed');
    expect((await b.lock(['docs/x.md'], { mode: 'shared' })).status).toBe('confirmed');
    expect((await b.lock(['docs/y.md'])).status).toBe('held');
    a.unlock(['src/a.ts']);
    await waitFor(() => !b.presenceView().locks.some((l) => l.path === 'src/a.ts'), 'release seen');
    expect((await b.lock(['src/a.ts'])).status).toBe('confirmed');
  });

  it('wait queues behind the holder and gets the lock when it is released', async () => {
    const server = await startServer();
    const a = await join(server.wsUrl, 'lw', { id: 'a' });
    const b = await join(server.wsUrl, 'lw', { id: 'b' });
    expect((await a.lock(['x'])).status).toBe('confirmed');
    await waitFor(() => b.presenceView().locks.length === 1, 'b sees lock');
    const waiting = b.lock(['x'], { waitMs: 5000 });
    await sleep(100);
    a.unlock();
    const r = await waiting;
    expect(r.status).toBe('confirmed');
    expect((await b.lock(['y'], { waitMs: 50 })).status).toBe('confirmed');
    const timedOut = await a.lock(['x'], { waitMs: 150 });
    expect(timedOut.status).toBe('held');
  });

  it('a forced release is recorded, the holder is told, and the lock is free', async () => {
    const server = await startServer();
    const a = await join(server.wsUrl, 'lf', { id: 'a', name: 'alice' });
    const b = await join(server.wsUrl, 'lf', { id: 'b', name: 'bob' });
    await a.lock(['api.ts']);
    await waitFor(() => b.presenceView().locks.length === 1, 'b sees lock');
    const lost = new Promise<string>((r) => a.presence.on('lock-lost', (e) => r(e.reason)));
    b.forceUnlock('api.ts', 'alice is away');
    expect(await lost).toBe('forced');
    expect(a.presence.claims()).toHaveLength(0);
    await waitFor(() => a.context.inbox({ id: 'a' }).some((m) => /released by bob/.test(m.text)), 'a told');
    expect(b.context.timeline({ types: ['lock.forced'] })).toHaveLength(1);
    expect((await b.lock(['api.ts'])).status).toBe('confirmed');
  });

  it('offline claims are unconfirmed, and settle when the relay returns', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const server = await startServer({ dataDir });
    const port = server.port;
    const a = await join(server.wsUrl, 'lo', { id: 'a' });
    await server.close();
    await waitFor(() => !a.online, 'a offline');
    const r = await a.lock(['src/x.ts']);
    expect(r.status).toBe('unconfirmed');
    const confirmed = new Promise((res) => a.presence.on('lock-confirmed', res));
    await startServer({ dataDir, port });
    await confirmed;
    expect(a.presence.claims()[0].confirmed).toBe(true);
  });

  it('the resolution rule is the same whatever order claims are seen in', () => {
    const mk = (id: string, clientId: number, at: number, confirmed = false, path = 'a'): SeenClaim => ({ id, clientId, claimedAt: at, confirmed, path, mode: 'exclusive', expiresAt: 1e15, capAt: 1e15, session: id, sessionName: id, role: 'r' });
    const claims = [mk('x', 5, 100), mk('y', 3, 100), mk('z', 9, 50, true), mk('w', 1, 10, false, 'b')];
    const held = (cs: SeenClaim[]) => resolve(cs).held.map((c) => c.id).sort();
    expect(held(claims)).toEqual(['w', 'z']);
    expect(held(claims.slice().reverse())).toEqual(['w', 'z']);
    expect(held([mk('x', 5, 100), mk('y', 3, 100)])).toEqual(['y']);
  });
});

describe('lock race across processes', () => {
  it('8 processes race for one exclusive lock: exactly one is confirmed; kill -9 frees it for a waiter', async () => {
    const server = await startServer({ awarenessTimeoutMs: 2000 });
    const script = path.join(ROOT, 'dist/test/fixtures/lock-racer.js');
    const procs = Array.from({ length: 8 }, (_, i) => ({ ...spawnJsonLines(script, [server.wsUrl, 'race', `racer-${i}`, 'src/shared.ts']), name: `racer-${i}` }));
    await waitFor(() => procs.every((x) => x.lines.some((l) => l.ready)), 'racers ready', 20000);
    for (const x of procs) x.p.stdin!.write('go\n');
    await waitFor(() => procs.every((x) => x.lines.some((l) => l.phase === 'first')), 'first outcomes', 15000);
    const firsts = procs.map((x) => x.lines.find((l) => l.phase === 'first')!);
    const winners = firsts.filter((f) => f.status === 'confirmed');
    expect(winners).toHaveLength(1);
    const winner = winners[0].session as string;
    // Every loser learned who holds it (or was blocked by a claim ordered before its own).
    for (const f of firsts) if (f.status !== 'confirmed') expect(f.status).toBe('held');
    expect(firsts.filter((f) => f.holder === winner).length).toBeGreaterThanOrEqual(1);

    const holder = procs.find((x) => x.name === winner)!;
    const killedAt = Date.now();
    holder.p.kill('SIGKILL');
    await waitExit(holder.p);
    await waitFor(() => procs.some((x) => x.lines.some((l) => l.phase === 'second' && l.status === 'confirmed')), 'a waiter takes over', 10000);
    expect(Date.now() - killedAt).toBeLessThan(5000);
    await sleep(500);
    const seconds = procs.flatMap((x) => x.lines.filter((l) => l.phase === 'second' && l.status === 'confirmed'));
    expect(seconds).toHaveLength(1);
  });
});

describe('tasks', () => {
  it('two concurrent claims end with one winner on every peer, and the loser is told', async () => {
    const server = await startServer();
    const a = await join(server.wsUrl, 'tk', { id: 'a', name: 'alice' });
    const b = await join(server.wsUrl, 'tk', { id: 'b', name: 'bob' });
    for (let round = 0; round < 5; round++) {
      const t = a.context.addTask(a.actor, { title: `task ${round}`, role: 'backend' });
      await a.whenStored();
      await waitFor(() => b.context.tasksMap.has(t.id), 'b sees task');
      const [ra, rb] = await Promise.all([a.claimTask(t.id), b.claimTask(t.id)]);
      expect([ra.won, rb.won].filter(Boolean)).toHaveLength(1);
      const winner = ra.won ? 'a' : 'b';
      await waitFor(() => a.context.task(t.id).assignee?.id === winner && b.context.task(t.id).assignee?.id === winner, 'convergence');
    }
  });

  it("a killed session's claimed tasks return to open, orphaned with its last note", async () => {
    const server = await startServer({ orphanAfterMs: 300 });
    const a = await join(server.wsUrl, 'orph', { id: 'lead', name: 'lead' });
    const t = a.context.addTask(a.actor, { title: 'parser', role: 'backend' });
    await a.whenStored();
    const p = spawn(process.execPath, [path.join(ROOT, 'dist/test/fixtures/writer.js'), server.wsUrl, 'orph', 'worker', t.id], { stdio: ['ignore', 'pipe', 'inherit'] });
    onCleanup(() => void p.kill('SIGKILL'));
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    await waitFor(() => out.includes('"claimed":true'), 'worker claimed', 15000);
    expect(a.context.task(t.id).status).toBe('claimed');
    p.kill('SIGKILL');
    await waitFor(() => a.context.task(t.id).status === 'open', 'orphaned', 10000);
    const task = a.context.task(t.id);
    expect(task.assignee).toBeNull();
    expect(task.orphaned).toMatchObject({ from: 'worker', lastNote: 'halfway through the parser' });
  });

  it('a handoff reaches the receiver role inbox with the summary and files', async () => {
    const server = await startServer();
    const a = await join(server.wsUrl, 'ho', { id: 'a', role: 'backend' });
    const b = await join(server.wsUrl, 'ho', { id: 'b', role: 'frontend' });
    const t = a.context.addTask(a.actor, { title: 'wire API' });
    await a.claimTask(t.id);
    a.context.handoff(a.actor, t.id, { to: 'role:frontend', summary: 'endpoint ready, UI left', files: ['src/api.ts'] });
    await waitFor(() => b.context.inbox({ id: 'b', role: 'frontend' }).length === 1, 'inbox');
    const [m] = b.context.inbox({ id: 'b', role: 'frontend' });
    expect(m).toMatchObject({ kind: 'handoff', taskId: t.id, files: ['src/api.ts'] });
    expect(b.context.task(t.id)).toMatchObject({ status: 'open', role: 'frontend', handoff: { summary: 'endpoint ready, UI left' } });
    b.context.markRead('b', [m.id]);
    expect(b.context.inbox({ id: 'b', role: 'frontend' })).toHaveLength(0);
    expect(b.context.inbox({ id: 'b', role: 'frontend' }, { all: true })).toHaveLength(1);
  });
});

describe('offline replica', () => {
  it('starts with no relay, works, and merges what it wrote on reconnect', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const replicaDir = path.join(tempDir(), 'replica');
    const server = await startServer({ dataDir });
    const port = server.port;
    const online = await join(server.wsUrl, 'off', { id: 'online' });
    online.context.decide(online.actor, { text: 'decided online' });
    await online.whenStored();
    // First run with a replica, synced, then closed.
    const p1 = await HuddlePeer.join({ url: server.wsUrl, project: 'off', session: { id: 'laptop' }, replicaDir });
    await p1.close();
    await server.close();
    // Second run: no relay reachable. It starts from the replica and writes.
    const p2 = await HuddlePeer.join({ url: `ws://127.0.0.1:${port}`, project: 'off', session: { id: 'laptop' }, replicaDir, syncTimeoutMs: 300 });
    onCleanup(() => p2.close());
    expect(p2.online).toBe(false);
    expect(p2.context.decisions().map((d) => d.text)).toEqual(['decided online']);
    p2.context.decide(p2.actor, { text: 'decided offline' });
    await p2.whenLocallyStored();
    const s2 = await startServer({ dataDir, port });
    await waitFor(() => p2.online, 'reconnected', 10000);
    await p2.whenStored();
    const check = await join(s2.wsUrl, 'off', { id: 'check' });
    expect(check.context.decisions().map((d) => d.text).sort()).toEqual(['decided offline', 'decided online']);
  });
});

describe('document', () => {
  it('decisions supersede, interfaces change status, notes, versions diff and roll back for every peer', async () => {
    const server = await startServer();
    const a = await join(server.wsUrl, 'doc', { id: 'a', name: 'alice' });
    const b = await join(server.wsUrl, 'doc', { id: 'b', name: 'bob' });
    const d1 = a.context.decide(a.actor, { text: 'REST', rationale: 'simple' });
    a.context.declare(a.actor, { name: 'UserAPI', file: 'src/api/user.ts', status: 'ready' });
    a.context.setNote(a.actor, 'db', 'postgres');
    const v1 = a.context.snapshot(a.actor, { name: 'v1' });
    a.context.decide(a.actor, { text: 'GraphQL', supersedes: d1.id });
    a.context.declare(a.actor, { name: 'UserAPI', file: 'src/api/user.graphql' });
    a.context.setNote(a.actor, 'db', 'sqlite');
    expect(a.context.interfaces()[0].status).toBe('changed');
    expect(a.context.decisions().find((d) => d.id === d1.id)!.supersededBy).toBeDefined();
    const diff = a.context.diff('v1');
    expect(diff.changes.map((c) => `${c.section}:${c.change}`).sort()).toEqual(['decisions:added', 'interfaces:changed', 'notes:changed']);
    a.context.rollback(a.actor, v1.id);
    await a.whenStored();
    await waitFor(() => b.context.getNote('db')?.value === 'postgres', 'rollback reaches b');
    expect(b.context.decisions().map((d) => d.text)).toEqual(['REST']);
    expect(b.context.interfaces()[0].file).toBe('src/api/user.ts');
    expect(b.context.versions().length).toBe(2);
    expect(b.context.timeline({ types: ['rollback'] })).toHaveLength(1);
  });

  it('keeps versions and the timeline bounded; reports bytes after 1,000 decisions and messages', async () => {
    const server = await startServer();
    const a = await join(server.wsUrl, 'size', { id: 'a' }, { context: { timelineMax: 200, versionsMax: 3 } });
    for (let i = 0; i < 5; i++) a.context.snapshot(a.actor);
    expect(a.context.versions()).toHaveLength(3);
    for (let i = 0; i < 1000; i++) {
      a.context.decide(a.actor, { text: `decision ${i}`, rationale: 'because' });
      a.context.send(a.actor, { to: 'all', text: `message ${i}` });
    }
    expect(a.context.timelineArr.length).toBeLessThanOrEqual(222);
    await a.whenStored();
    const bytes = Y.encodeStateAsUpdate(a.doc).byteLength;
    console.log(`document after 1,000 decisions and 1,000 messages: ${bytes} bytes`);
    expect(bytes).toBeLessThan(1_000_000);
  });
});

describe('stored acknowledgements', () => {
  it('whenStored resolves for a peer that only received others’ updates since its last write', async () => {
    const server = await startServer();
    const a = await join(server.wsUrl, 'ack', { id: 'a' });
    const b = await join(server.wsUrl, 'ack', { id: 'b' });
    a.context.decide(a.actor, { text: 'own write' });
    await a.whenStored();
    b.context.decide(b.actor, { text: 'from b' });
    await waitFor(() => a.context.decisions().length === 2, 'a receives b');
    await a.whenStored(3000);
  });
});
