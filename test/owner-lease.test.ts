/**
 * Project ownership among relay nodes on a real PostgreSQL: exactly one of two racing
 * nodes owns a project; when the owner's process is killed its lease ends and another
 * node takes over (the time is measured and printed); a stale owner's writes are refused.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { describe, test, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { OwnerLeases } from '../relay/owner-lease.js';
import { PostgresPersistence, FencedError } from '../src/store/postgres-persistence.js';
import { setKey, keysOf } from './persistence.contract.js';
import { startPg, pgUnavailable, type PgCluster } from './pg-harness.js';
import { ROOT } from './helpers.js';

const missing = pgUnavailable();
if (missing) console.warn(`skipping PostgreSQL tests: ${missing}`);

describe.skipIf(missing)('owner leases', () => {
  let pg: PgCluster;
  let url: string;
  const nodes: OwnerLeases[] = [];
  const node = async (name: string) => {
    const n = new OwnerLeases({ connectionString: url, node: name, url: `ws://127.0.0.1:1/${name}`, heartbeatMs: 200 });
    await n.start();
    nodes.push(n);
    return n;
  };
  beforeAll(async () => {
    pg = await startPg();
    url = await pg.createDb();
  });
  afterEach(async () => {
    while (nodes.length) await nodes.pop()!.close();
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  test('two nodes race for a project: exactly one owns it, and both find it', async () => {
    const [a, b] = await Promise.all([node('a'), node('b')]);
    for (let round = 0; round < 5; round++) {
      const project = `race-${round}`;
      const [la, lb] = await Promise.all([a.tryAcquire(project), b.tryAcquire(project)]);
      expect([la, lb].filter(Boolean)).toHaveLength(1);
      const winner = la ? 'a' : 'b';
      expect((await a.owner(project))?.node).toBe(winner);
      expect((await b.owner(project))?.node).toBe(winner);
      // The loser keeps losing while the owner lives; release hands it over.
      const loser = la ? b : a;
      expect(await loser.tryAcquire(project)).toBeNull();
      // Acquiring twice at once on the owner locks once: one release hands the project over.
      const again = await Promise.all([(la ? a : b).tryAcquire(project), (la ? a : b).tryAcquire(project)]);
      expect(again.map((l) => l?.token)).toEqual([(la ?? lb)!.token, (la ?? lb)!.token]);
      await (la ? a : b).release(project);
      expect(await loser.tryAcquire(project)).not.toBeNull();
    }
  });

  test('kill -9 of the owner process ends its lease; another node takes over', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/test/fixtures/lease-holder.js'), url, 'victim', 'failover'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const first = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`holder exited (${code})`)));
      readline.createInterface({ input: child.stdout! }).once('line', (l) => resolve((JSON.parse(l) as { token: string }).token));
    });
    expect(first).not.toBeNull();
    const b = await node('survivor');
    expect(await b.tryAcquire('failover')).toBeNull();
    expect((await b.owner('failover'))?.node).toBe('victim');
    const killedAt = Date.now();
    child.kill('SIGKILL');
    let lease = null;
    for (let i = 0; i < 200 && !lease; i++) {
      lease = await b.tryAcquire('failover');
      if (!lease) await new Promise((r) => setTimeout(r, 50));
    }
    const takeoverMs = Date.now() - killedAt;
    console.log(`owner-lease takeover after kill -9: ${takeoverMs} ms`);
    expect(lease, 'no takeover within 10 s').not.toBeNull();
    expect(BigInt(lease!.token)).toBeGreaterThan(BigInt(first));
    expect((await b.owner('failover'))?.node).toBe('survivor');
  });

  test('a stale owner that has not noticed its loss cannot write', async () => {
    const a = await node('stale');
    const b = await node('fresh');
    const staleLease = (await a.tryAcquire('fenced'))!;
    expect(staleLease).not.toBeNull();
    const lost = new Promise<string[]>((resolve) => a.once('lost', resolve));
    // "Has not noticed": this store keeps using the token it had.
    const stale = new PostgresPersistence({ connectionString: url, max: 1, fence: () => ({ token: staleLease.token }) });
    const fresh = new PostgresPersistence({ connectionString: url, max: 1, fence: b.fence });
    await Promise.all([stale.open(), fresh.open()]);
    await stale.load('fenced');
    await stale.appendDurable('fenced', [setKey('before', 1)]);
    // Cut the owner's lease connection from the database side (as a network loss would).
    await pg.query('SELECT pg_terminate_backend($1)', [await a.leaseBackendPid()], url.split('/').pop());
    let lease = null;
    for (let i = 0; i < 100 && !lease; i++) {
      lease = await b.tryAcquire('fenced');
      if (!lease) await new Promise((r) => setTimeout(r, 50));
    }
    expect(lease).not.toBeNull();
    expect(await lost).toEqual(['fenced']);
    await expect(stale.appendDurable('fenced', [setKey('stale', 1)])).rejects.toBeInstanceOf(FencedError);
    await fresh.load('fenced');
    await fresh.appendDurable('fenced', [setKey('after', 1)]);
    expect(keysOf((await fresh.load('fenced')).update)).toEqual({ before: 1, after: 1 });
    await Promise.all([stale.close(), fresh.close()]);
  });

  test('a database outage ends the leases and marks the node unhealthy; it recovers by itself', async () => {
    const a = await node('outage');
    expect(await a.tryAcquire('outage')).not.toBeNull();
    const lost = new Promise<string[]>((resolve) => a.once('lost', resolve));
    await pg.stop('immediate');
    try {
      expect(await lost).toEqual(['outage']);
      expect(a.stats().healthy).toBe(false);
      expect(a.fence('outage')).toBeNull();
    } finally {
      await pg.start();
    }
    let lease = null;
    for (let i = 0; i < 100 && !lease; i++) {
      lease = await a.tryAcquire('outage').catch(() => null);
      if (!lease) await new Promise((r) => setTimeout(r, 100));
    }
    expect(lease).not.toBeNull();
    expect(a.stats().healthy).toBe(true);
    expect(a.stats().owned.map((l) => l.project)).toEqual(['outage']);
  });
});
