/**
 * `huddle serve --store postgres://…` as a real child process on a real PostgreSQL:
 * - usage errors, /healthz naming the store and the database probe;
 * - kill -9 of the relay under writing sessions and a restart on the same database
 *   (a fresh --data folder: documents come from PostgreSQL only): every acknowledged
 *   decision is stored, and a lock taken before the kill still denies after it;
 * - the database stopped under connected writers: /healthz unhealthy, writers closed
 *   with 1013 and a reason, new connections refused the same way, HTTP writes 503; the
 *   relay takes writes again by itself once the database is back, and nothing
 *   acknowledged is lost (what was refused is sent again by the clients).
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { PostgresPersistence } from '../src/store/postgres-persistence.js';
import { startPg, pgUnavailable, type PgCluster } from './pg-harness.js';
import { CLI, ROOT, cleanup, closeOf, rawSocket, spawnJsonLines, spawnServer, tempDir, waitExit, waitFor, type ServerChild } from './helpers.js';

const SESSION = path.join(ROOT, 'dist/test/fixtures/store-session.js');
const missing = pgUnavailable();
if (missing) console.warn(`skipping PostgreSQL serve tests: ${missing}`);

afterEach(cleanup);

/** Decision ids stored in PostgreSQL for `project`, read with a fresh store. */
async function storedDecisions(url: string, project: string): Promise<Set<string>> {
  const p = new PostgresPersistence({ connectionString: url, max: 1 });
  await p.open();
  try {
    const doc = new Y.Doc();
    const { update } = await p.load(project);
    if (update) Y.applyUpdate(doc, update);
    return new Set(doc.getMap('decisions').keys());
  } finally {
    await p.close();
  }
}

async function health(srv: ServerChild): Promise<Record<string, any>> {
  return (await fetch(`${srv.url}/healthz`)).json();
}

type Lines = Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Session = { p: import('node:child_process').ChildProcess; lines: Lines };
const session = (wsUrl: string, project: string, name: string): Session => spawnJsonLines(SESSION, [wsUrl, project, name]) as Session;
const acks = (lines: Lines, since = 0) => lines.filter((l) => l.ev === 'ack' && l.t >= since).map((l) => l.id as string);

async function ask(s: Session, cmd: string, ev: string, timeout = 10_000): Promise<Record<string, any>> {
  const from = s.lines.length;
  s.p.stdin!.write(cmd + '\n');
  return (await waitFor(() => s.lines.slice(from).find((l) => l.ev === ev), `${ev} after ${cmd}`, timeout))!;
}

describe.skipIf(missing)('huddle serve --store postgres://', () => {
  let pg: PgCluster;
  beforeAll(async () => {
    pg = await startPg();
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  it('refuses a --store that is not a postgres:// URL, and says which database it cannot reach', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', path.join(tempDir(), 'd'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr!.on('data', (d) => (err += d));
        p.on('close', (code) => resolve({ code, err }));
      });
    const bad = await run(['--store', 'mysql://x/y']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--store takes a postgres:\/\/ URL/);
    // A closed port: the error names host and database, never the password.
    const down = await run(['--store', `postgres://huddle:s3cret@127.0.0.1:1/nowhere`]);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/cannot open the store \(PostgreSQL at 127\.0\.0\.1:1\/nowhere\)/);
    expect(down.err).not.toMatch(/s3cret/);
  });

  it('kill -9 of the relay and a restart on the same database: nothing acknowledged lost, a lock still denies', { timeout: 90_000 }, async () => {
    const url = await pg.createDb();
    let srv = await spawnServer(path.join(tempDir(), 'data'), ['--store', url]);
    const h = await waitFor(async () => ((await health(srv)).database?.ok ? health(srv) : null), 'database probe');
    expect(h).toMatchObject({ ok: true, store: 'postgres', database: { ok: true } });
    const alice = session(srv.wsUrl, 'team', 'alice');
    const bob = session(srv.wsUrl, 'team', 'bob');
    await waitFor(() => acks(alice.lines).length >= 10 && acks(bob.lines).length >= 10, 'first acknowledgements', 20_000);
    expect((await ask(alice, 'lock src/x.ts', 'lock')).status).toBe('confirmed');
    await waitFor(async () => (await ask(bob, 'lock src/x.ts', 'lock')).status === 'held', 'bob sees alice holding src/x.ts', 10_000, 200);

    srv.proc.kill('SIGKILL');
    await waitExit(srv.proc);
    const killedAt = Date.now();
    // Same port (the clients reconnect there), a fresh data folder: the documents can only come from PostgreSQL.
    srv = await spawnServer(path.join(tempDir(), 'data'), ['--store', url, '--port', String(srv.port)]);
    await waitFor(() => acks(alice.lines, killedAt).length >= 5 && acks(bob.lines, killedAt).length >= 5, 'acknowledgements after the restart', 30_000);
    const after = await waitFor(async () => {
      const r = await ask(bob, 'lock src/x.ts', 'lock');
      return r.status === 'held' ? r : null;
    }, 'the lock denying after the restart', 15_000, 200);
    expect(after!.holder).toBe('alice');

    await Promise.all([ask(alice, 'quiet', 'flushed', 30_000), ask(bob, 'quiet', 'flushed', 30_000)]);
    srv.proc.kill('SIGKILL');
    await waitExit(srv.proc);
    const stored = await storedDecisions(url, 'team');
    const acked = [...acks(alice.lines), ...acks(bob.lines)];
    expect(acked.length).toBeGreaterThan(30);
    expect(acked.filter((id) => !stored.has(id)), 'acknowledged but missing after kill -9').toEqual([]);
    console.log(`pg serve kill -9: ${acked.length} acknowledged decisions, all stored; ${acks(alice.lines, killedAt).length + acks(bob.lines, killedAt).length} after the restart`);
  });

  it('the database stopped under a connected writer: unhealthy, writes refused with 1013, recovers by itself', { timeout: 90_000 }, async () => {
    const url = await pg.createDb();
    const srv = await spawnServer(path.join(tempDir(), 'data'), ['--store', url]);
    const w = session(srv.wsUrl, 'outage', 'writer');
    await waitFor(() => acks(w.lines).length >= 10, 'first acknowledgements', 20_000);

    await pg.stop('immediate');
    const downAt = Date.now();
    try {
      const h = await waitFor(async () => {
        const x = await health(srv);
        return x.ok === false && x.database?.ok === false ? x : null;
      }, '/healthz unhealthy', 10_000, 100);
      expect(h!.database).toMatchObject({ ok: false, writes: 'refused' });
      // The writer's socket was closed with 1013 and a reason that says what to do.
      const closed = await waitFor(() => w.lines.find((l) => l.ev === 'close' && l.t >= downAt), 'writer closed', 10_000);
      expect(closed!.code).toBe(1013);
      // The store's failure or the end of the node's lease (its database connection), whichever it noticed first.
      expect(closed!.reason).toMatch(/database (unavailable|connection lost).*try again later/);
      // A new connection is refused the same way; an HTTP write says 503.
      const ws = await rawSocket(`${srv.wsUrl}/outage`);
      expect(await closeOf(ws)).toEqual({ code: 1013, reason: expect.stringMatching(/try again later/) });
      const res = await fetch(`${srv.url}/api/p/outage/op/decide`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ session: { id: 'cli' }, text: 'during the outage' }),
      });
      expect(res.status).toBe(503);
      const metrics = await (await fetch(`${srv.url}/metrics`)).text();
      expect(metrics).toMatch(/huddle_writes_refused_total [1-9]/);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await pg.start();
    }
    const upAt = Date.now();
    await waitFor(async () => (await health(srv)).ok === true, '/healthz healthy again', 15_000, 100);
    await waitFor(() => acks(w.lines, upAt).length >= 5, 'acknowledgements after the database is back', 30_000);
    const recoveredMs = (w.lines.find((l) => l.ev === 'ack' && l.t >= upAt)?.t ?? 0) - upAt;
    await ask(w, 'quiet', 'flushed', 30_000);
    srv.proc.kill('SIGKILL');
    await waitExit(srv.proc);
    const stored = await storedDecisions(url, 'outage');
    const acked = acks(w.lines);
    expect(acked.filter((id) => !stored.has(id)), 'acknowledged but missing').toEqual([]);
    // Every decision the writer made, refused ones included, reached the database in the end.
    const made = w.lines.filter((l) => l.ev === 'ack' || l.ev === 'unacked').length;
    expect(stored.size).toBeGreaterThanOrEqual(made);
    console.log(`pg outage: ${acked.length} acknowledged, all stored; first acknowledgement ${recoveredMs} ms after the database was back`);
  });
});
