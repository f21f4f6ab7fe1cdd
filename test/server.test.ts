import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import {
  cleanup,
  onCleanup,
  readStoredDoc,
  closeOf,
  rawSocket,
  sleep,
  spawnServer,
  startServer,
  stockClient,
  synced,
  tempDir,
  waitExit,
  waitFor,
} from './helpers.js';
import {
  encodeStoredSubscribe,
  encodeUpdate,
  MSG_STORED,
  decodeStateVectorStrict,
  stateVectorCovers,
} from '../src/protocol/messages.js';
import { walDir } from '../src/store/wal.js';
import fs from 'node:fs';
import http from 'node:http';
import type { WebsocketProvider } from 'y-websocket';
import { eventsTickMs } from '../relay/api.js';
import { DEFAULT_CONFIG } from '../relay/config.js';

afterEach(cleanup);

/** Opt a stock provider in to stored acknowledgements, as huddle's own clients do. */
function subscribeStored(provider: WebsocketProvider): { durable: () => Map<number, number> } {
  let durable = new Map<number, number>();
  provider.messageHandlers[MSG_STORED] = (_enc, dec) => {
    durable = decodeStateVectorStrict(decoding.readVarUint8Array(dec));
  };
  const send = () => provider.ws?.send(encodeStoredSubscribe() as Uint8Array<ArrayBuffer>);
  if (provider.wsconnected) send();
  provider.on('status', ({ status }) => status === 'connected' && send());
  return { durable: () => durable };
}

function covered(doc: Y.Doc, durable: Map<number, number>): boolean {
  return stateVectorCovers(durable, Y.decodeStateVector(Y.encodeStateVector(doc)));
}

describe('relay sync', () => {
  it('two stock clients converge and a late joiner receives the whole state', async () => {
    const server = await startServer();
    const a = stockClient(server.wsUrl, 'p1');
    const b = stockClient(server.wsUrl, 'p1');
    await Promise.all([synced(a.provider), synced(b.provider)]);
    a.doc.getArray<number>('xs').push([1, 2]);
    b.doc.getArray<number>('xs').push([3]);
    await waitFor(() => a.doc.getArray('xs').length === 3 && b.doc.getArray('xs').length === 3, 'convergence');
    expect(a.doc.getArray('xs').toJSON()).toEqual(b.doc.getArray('xs').toJSON());

    const late = stockClient(server.wsUrl, 'p1');
    await synced(late.provider);
    expect(late.doc.getArray('xs').toJSON()).toEqual(a.doc.getArray('xs').toJSON());
    // A different project is a different document.
    const other = stockClient(server.wsUrl, 'p2');
    await synced(other.provider);
    expect(other.doc.getArray('xs').length).toBe(0);
  });

  it('a restart keeps the state and the first sync answer already holds it', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const s1 = await startServer({ dataDir });
    const a = stockClient(s1.wsUrl, 'keep');
    await synced(a.provider);
    const acks = subscribeStored(a.provider);
    for (let i = 0; i < 100; i++) a.doc.getMap('m').set(`k${i}`, i);
    await waitFor(() => covered(a.doc, acks.durable()), 'stored ack');
    a.provider.destroy();
    await s1.close();

    const s2 = await startServer({ dataDir });
    const fresh = stockClient(s2.wsUrl, 'keep');
    // Read the doc at the moment the first sync step 2 is applied: it must be complete then.
    let sizeAtSync = -1;
    fresh.provider.once('sync', () => (sizeAtSync = fresh.doc.getMap('m').size));
    await synced(fresh.provider);
    expect(sizeAtSync).toBe(100);
    expect(fresh.doc.getMap('m').get('k99')).toBe(99);
  });
});

describe('durability across kill -9', () => {
  it('loses nothing acknowledged as stored (repeated)', async () => {
    const dataDir = path.join(tempDir(), 'data');
    let expected = 0;
    for (let round = 0; round < 3; round++) {
      const child = await spawnServer(dataDir);
      const c = stockClient(child.wsUrl, 'crash');
      await synced(c.provider);
      expect(c.doc.getArray('log').length).toBe(expected);
      const acks = subscribeStored(c.provider);
      for (let i = 0; i < 300; i++) c.doc.getArray('log').push([`r${round}-${i}`]);
      expected += 300;
      await waitFor(() => covered(c.doc, acks.durable()), 'stored ack', 10000, 1);
      child.proc.kill('SIGKILL');
      await waitExit(child.proc);
      c.provider.destroy();
    }
    const doc = await readStoredDoc(dataDir, 'crash');
    expect(doc.getArray('log').length).toBe(expected);
  });

  it('loses nothing another client has already seen (repeated)', async () => {
    for (let round = 0; round < 3; round++) {
      const dataDir = path.join(tempDir(), 'data');
      const child = await spawnServer(dataDir);
      const writer = stockClient(child.wsUrl, 'seen');
      const reader = stockClient(child.wsUrl, 'seen');
      await Promise.all([synced(writer.provider), synced(reader.provider)]);
      const seen = reader.doc.getArray<number>('xs');
      // Kill the server the moment the reader has seen the 500th update, while the writer keeps writing.
      const killed = new Promise<number>((resolve) => {
        seen.observe(() => {
          if (seen.length >= 500 && child.proc.exitCode === null && !child.proc.killed) {
            child.proc.kill('SIGKILL');
            resolve(seen.length);
          }
        });
      });
      let i = 0;
      const writing = setInterval(() => {
        for (let k = 0; k < 20; k++) writer.doc.getArray<number>('xs').push([i++]);
      }, 1);
      const sawBeforeKill = await killed;
      clearInterval(writing);
      await waitExit(child.proc);
      writer.provider.destroy();
      reader.provider.destroy();
      const doc = await readStoredDoc(dataDir, 'seen');
      expect(doc.getArray('xs').length).toBeGreaterThanOrEqual(sawBeforeKill);
    }
  });
});

describe('bad input', () => {
  it('malformed, unknown, unappliable and oversized frames close only their own connection', async () => {
    const server = await startServer({ maxMessage: 64 * 1024 });
    const good = stockClient(server.wsUrl, 'bad');
    await synced(good.provider);
    const cases: Array<{ name: string; frame: Buffer | string; code: number }> = [
      { name: 'truncated varint', frame: Buffer.from([0x80]), code: 1007 },
      { name: 'truncated sync payload', frame: Buffer.from([0, 2, 50, 1]), code: 1007 },
      { name: 'unknown message type', frame: Buffer.from([77]), code: 1003 },
      { name: 'unknown sync type', frame: Buffer.from([0, 9, 0]), code: 1003 },
      { name: 'update Yjs cannot apply', frame: Buffer.from(encodeUpdate(new Uint8Array([5, 255, 255, 255, 255, 15, 1]))), code: 1007 },
      { name: 'bad awareness JSON', frame: awarenessGarbage(), code: 1007 },
      { name: 'text frame', frame: 'hello', code: 1007 },
      { name: 'oversized frame', frame: Buffer.alloc(65 * 1024, 1), code: 1009 },
    ];
    for (const c of cases) {
      const ws = await rawSocket(`${server.wsUrl}/bad`);
      const closed = closeOf(ws);
      ws.send(c.frame);
      const { code } = await closed;
      expect(code, c.name).toBe(c.code);
      // The stock client is still served after each bad frame.
      good.doc.getMap('m').set(c.name, true);
      const probe = stockClient(server.wsUrl, 'bad');
      await synced(probe.provider);
      expect(probe.doc.getMap('m').get(c.name), c.name).toBe(true);
      probe.provider.destroy();
    }
    expect(good.provider.wsconnected).toBe(true);
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { ok: boolean };
    expect(health.ok).toBe(true);
  });

  it('refuses bad project names with 4400 and the reason', async () => {
    const server = await startServer();
    for (const name of ['a%2Fb', 'x'.repeat(129), 'sp%20ace', '..']) {
      const ws = await rawSocket(`${server.wsUrl}/${name}`);
      const { code, reason } = await closeOf(ws);
      expect(code, name).toBe(4400);
      expect(reason).toMatch(/project name/);
    }
    const empty = await rawSocket(`${server.wsUrl}/`);
    expect((await closeOf(empty)).code).toBe(4400);
  });
});

function awarenessGarbage(): Buffer {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1);
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, 1);
  encoding.writeVarUint(inner, 42);
  encoding.writeVarUint(inner, 1);
  encoding.writeVarString(inner, '{not json');
  encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
  return Buffer.from(encoding.toUint8Array(e));
}

describe('tokens', () => {
  it('closes a missing or wrong token with 4401; a read-only token reads but cannot write', async () => {
    const server = await startServer({ token: 'rw-secret', readToken: 'ro-secret' });
    for (const params of [undefined, { token: 'nope' }]) {
      const c = stockClient(server.wsUrl, 'tok', { params });
      const closed = await new Promise<{ code: number }>((resolve) => c.provider.once('closed', resolve));
      expect(closed.code).toBe(4401);
      // y-websocket 3.1 stops retrying on 4400-4499.
      expect(c.provider.shouldConnect).toBe(false);
    }
    const writer = stockClient(server.wsUrl, 'tok', { params: { token: 'rw-secret' } });
    await synced(writer.provider);
    writer.doc.getMap('m').set('a', 1);
    const reader = stockClient(server.wsUrl, 'tok', { params: { token: 'ro-secret' } });
    await synced(reader.provider);
    await waitFor(() => reader.doc.getMap('m').get('a') === 1, 'reader sees writes');
    reader.doc.getMap('m').set('b', 2);
    reader.awareness.setLocalStateField('user', 'reader');
    // Awareness from the read-only client arrives; its document update does not.
    await waitFor(() => Array.from(writer.awareness.getStates().values()).some((s) => s.user === 'reader'), 'reader awareness');
    await sleep(200);
    expect(writer.doc.getMap('m').get('b')).toBeUndefined();
    const check = stockClient(server.wsUrl, 'tok', { params: { token: 'rw-secret' } });
    await synced(check.provider);
    expect(check.doc.getMap('m').get('b')).toBeUndefined();
    // HTTP: metrics need a token too.
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer ro-secret' } })).status).toBe(200);
  });
});

describe('awareness', () => {
  it('a departed client vanishes from the others at once, not after 30 s', async () => {
    const server = await startServer();
    const a = stockClient(server.wsUrl, 'aw');
    const b = stockClient(server.wsUrl, 'aw');
    await Promise.all([synced(a.provider), synced(b.provider)]);
    a.awareness.setLocalStateField('name', 'a');
    await waitFor(() => b.awareness.getStates().get(a.doc.clientID)?.name === 'a', 'b sees a');
    const t0 = Date.now();
    // Drop the socket without a goodbye, as a crashed process would.
    (a.provider.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
    a.provider.shouldConnect = false;
    await waitFor(() => !b.awareness.getStates().has(a.doc.clientID), 'removal reaches b', 5000);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('removes states not renewed within the configured timeout', async () => {
    const server = await startServer({ awarenessTimeoutMs: 400 });
    const a = stockClient(server.wsUrl, 'aw2');
    const b = stockClient(server.wsUrl, 'aw2');
    await Promise.all([synced(a.provider), synced(b.provider)]);
    // b publishes a state on behalf of a client ID that nobody renews (as via a relay whose peer died).
    const ghost = new Y.Doc();
    const { Awareness, encodeAwarenessUpdate } = await import('y-protocols/awareness');
    const ga = new Awareness(ghost);
    ga.setLocalStateField('name', 'ghost');
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, encodeAwarenessUpdate(ga, [ghost.clientID]));
    b.provider.ws!.send(encoding.toUint8Array(e));
    ga.destroy();
    await waitFor(() => a.awareness.getStates().has(ghost.clientID), 'ghost appears');
    await waitFor(() => awarenessOfRoom(server, 'aw2')?.has(ghost.clientID) === false, 'server times out ghost', 3000);
    // ...and the removal reaches the other clients too.
    await waitFor(() => !a.awareness.getStates().has(ghost.clientID), 'a drops the ghost', 3000);
  });
});

describe('/events', () => {
  it('looks at presence again every quarter of a short awareness timeout (5 s at the default)', async () => {
    expect(eventsTickMs(DEFAULT_CONFIG.awarenessTimeoutMs)).toBe(5000);
    const server = await startServer({ awarenessTimeoutMs: 1000 });
    let text = '';
    const req = http.get(`${server.url}/api/p/ticks/events`, (res) => res.on('data', (d: Buffer) => (text += d)));
    req.on('error', () => {});
    onCleanup(() => void req.destroy());
    const t0 = Date.now();
    // Every 250 ms: two ticks well within 2 s (a 5 s tick would send none), and not sooner.
    await waitFor(() => text.split(': tick\n').length - 1 >= 2, 'two ticks', 2000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
  });
});

function awarenessOfRoom(server: Awaited<ReturnType<typeof startServer>>, name: string) {
  return (server as unknown as { rooms: Map<string, { awareness: { getStates(): Map<number, unknown> } }> }).rooms.get(name)?.awareness.getStates();
}

describe('lifecycle', () => {
  it('an idle document unloads after its last client leaves and reloads intact', async () => {
    const server = await startServer({ idleUnloadMs: 100 });
    const a = stockClient(server.wsUrl, 'idle');
    await synced(a.provider);
    for (let i = 0; i < 50; i++) a.doc.getText('t').insert(0, `line ${i}\n`);
    const text = a.doc.getText('t').toString();
    await waitFor(async () => {
      const b = stockClient(server.wsUrl, 'idle-probe');
      await synced(b.provider);
      b.provider.destroy();
      return true;
    }, 'probe');
    a.provider.destroy();
    await waitFor(() => !server.loadedRooms().includes('idle'), 'unload', 5000);
    const b = stockClient(server.wsUrl, 'idle');
    await synced(b.provider);
    expect(b.doc.getText('t').toString()).toBe(text);
  });

  it('compaction keeps the content identical and shrinks the log', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const server = await startServer({ dataDir, compactRecords: 100 });
    const a = stockClient(server.wsUrl, 'compact');
    await synced(a.provider);
    const acks = subscribeStored(a.provider);
    for (let i = 0; i < 1000; i++) {
      a.doc.getMap('m').set(`k${i % 50}`, i);
      if (i % 10 === 0) await sleep(0);
    }
    await waitFor(() => covered(a.doc, acks.durable()), 'stored ack', 10000);
    // 1000 writes; once the room is quiet, the log is compacted to one record.
    await waitFor(() => server.persistence.stats('compact').records === 1, 'compaction when quiet', 5000);
    expect(server.metrics.compactions).toBeGreaterThan(0);
    const expected = a.doc.getMap('m').toJSON();
    await server.close();
    const doc = await readStoredDoc(dataDir, 'compact');
    expect(doc.getMap('m').toJSON()).toEqual(expected);
  });

  it('SIGTERM flushes and exits 0', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const child = await spawnServer(dataDir);
    const a = stockClient(child.wsUrl, 'term');
    await synced(a.provider);
    const acks = subscribeStored(a.provider);
    a.doc.getMap('m').set('x', 1);
    await waitFor(() => covered(a.doc, acks.durable()), 'stored');
    child.proc.kill('SIGTERM');
    const { code } = await waitExit(child.proc);
    expect(code).toBe(0);
    // Everything reached LevelDB, so the write-ahead log is gone.
    expect(fs.existsSync(walDir(dataDir)) ? fs.readdirSync(walDir(dataDir)) : []).toEqual([]);
    const health = await fetch(`${child.url}/healthz`).catch(() => null);
    expect(health).toBeNull();
  });

  it('reports health and Prometheus metrics', async () => {
    const server = await startServer();
    const a = stockClient(server.wsUrl, 'm');
    await synced(a.provider);
    a.doc.getMap('m').set('x', 1);
    await waitFor(() => server.metrics.updatesIn > 0, 'update counted');
    const health = await (await fetch(`${server.url}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, documentsLoaded: 1, connections: 1, persistence: 'healthy' });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^huddle_connections 1$/m);
    expect(text).toMatch(/^huddle_updates_in_total [1-9]/m);
    expect(text).toMatch(/huddle_persistence_commit_seconds_count [1-9]/);
  });
});
