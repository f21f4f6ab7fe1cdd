/**
 * Three relay nodes (`huddle serve --store postgres://…` child processes) on one real
 * PostgreSQL, and two machine servers with `--upstream` to two different nodes:
 * - each project has one owner (the lease); the other nodes serve through it;
 * - a decision made on one machine reaches the other;
 * - an exclusive lock raced from both machines is confirmed for exactly one, every round;
 * - kill -9 of the owner: another node takes the lease, the machines reconnect, and the
 *   same holds again; nothing acknowledged before the kill is lost. The takeover time
 *   is printed (a figure, not asserted: the benchmark reports it).
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { HuddlePeer } from '../src/peer/peer.js';
import { PostgresPersistence } from '../src/store/postgres-persistence.js';
import { startPg, pgUnavailable, type PgCluster } from './pg-harness.js';
import { cleanup, onCleanup, spawnServer, startServer, tempDir, waitExit, waitFor, type ServerChild } from './helpers.js';

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
});
