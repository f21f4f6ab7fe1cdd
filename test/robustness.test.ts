/** Regressions from a review of the write pipeline, unloading and awareness handling. */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { DocStore } from '../src/store/doc-store.js';
import type { LeveldbPersistence } from '../src/store/leveldb-persistence.js';
import { DocWal, readRecords, walDir } from '../src/store/wal.js';
import { encodeSyncStep1, encodeSyncStep2FromUpdate } from '../src/protocol/messages.js';
import { cleanup, rawSocket, readStoredDoc, sleep, startServer, stockClient, synced, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

describe('robustness', () => {
  it('a shutdown right after a project loads keeps its stored state (no compaction of an empty doc)', async () => {
    const dataDir = path.join(tempDir(), 'data');
    // Three separate records in LevelDB, as after a crash and a log replay.
    const store = new DocStore(dataDir);
    await store.open();
    await store.load('p');
    const src = new Y.Doc();
    const ups: Uint8Array[] = [];
    src.on('update', (u: Uint8Array) => ups.push(u));
    for (let i = 0; i < 3; i++) src.getMap('notes').set(`k${i}`, `v${i}`);
    for (const u of ups) await store.commit('p', [u]);
    await store.close();
    const server = await startServer({ dataDir });
    const ws = await rawSocket(`${server.wsUrl}/p`);
    ws.send(encodeSyncStep1(new Y.Doc()));
    ws.send(encodeSyncStep2FromUpdate(new Uint8Array([0, 0])));
    await sleep(30);
    await server.close();
    const doc = await readStoredDoc(dataDir, 'p');
    expect(doc.getMap('notes').toJSON()).toEqual({ k0: 'v0', k1: 'v1', k2: 'v2' });
  });

  it('a client coming back while an idle project unloads keeps the project healthy and complete', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const server = await startServer({ dataDir, idleUnloadMs: 30 });
    // Slow compactions widen the window in which the client comes back.
    const store = (server.persistence as LeveldbPersistence).docs;
    const commit = store.commit.bind(store);
    store.commit = async (doc, updates, compactTo) => {
      if (compactTo) await sleep(80);
      return commit(doc, updates, compactTo);
    };
    let expected = 0;
    for (let round = 0; round < 6; round++) {
      const c = stockClient(server.wsUrl, 'cycle');
      await synced(c.provider);
      expect(c.doc.getArray('xs').length).toBe(expected);
      for (let i = 0; i < 3; i++) c.doc.getArray<number>('xs').push([i]);
      expected += 3;
      await sleep(20);
      c.provider.destroy();
      await sleep(30 + round * 15);
    }
    await sleep(300);
    expect(server.health().ok).toBe(true);
    expect(server.metrics.persistenceErrors).toBe(0);
    await server.close();
    expect((await readStoredDoc(dataDir, 'cycle')).getArray('xs').length).toBe(expected);
  });

  it('a write that fails half-way leaves no torn record behind the records acknowledged later', () => {
    const dir = walDir(tempDir());
    const wal = new DocWal(dir, 'proj');
    const u = (n: number) => new Uint8Array(100).fill(n);
    wal.append([u(1)]);
    const real = fs.writeSync;
    let first = true;
    (fs as { writeSync: unknown }).writeSync = (fd: number, buf: Uint8Array, off: number, len: number) => {
      if (first) {
        first = false;
        return real(fd, buf, off, 50);
      }
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    try {
      expect(() => wal.append([u(2)])).toThrow(/ENOSPC/);
    } finally {
      (fs as { writeSync: unknown }).writeSync = real;
    }
    wal.append([u(2)]);
    wal.append([u(3)]);
    const file = wal.closeCurrent()!;
    expect(readRecords(file).map((r) => r[0])).toEqual([1, 2, 3]);
  });

  it("a read-only client cannot change or remove another client's presence and locks", async () => {
    const server = await startServer({ token: 'rw', readToken: 'ro' });
    const alice = stockClient(server.wsUrl, 'aw', { params: { token: 'rw' } });
    await synced(alice.provider);
    alice.awareness.setLocalStateField('huddle', { id: 'alice', locks: [{ path: 'src/x.ts' }] });
    const room = await server.room('aw');
    await waitFor(() => room.awareness.getStates().has(alice.doc.clientID), 'alice on the server');
    const spy = await rawSocket(`${server.wsUrl}/aw?token=ro`);
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, 1);
    encoding.writeVarUint(inner, alice.doc.clientID);
    encoding.writeVarUint(inner, 1000);
    encoding.writeVarString(inner, JSON.stringify({ huddle: { id: 'alice', locks: [] } }));
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
    spy.send(encoding.toUint8Array(e));
    await sleep(100);
    expect((room.awareness.getStates().get(alice.doc.clientID) as { huddle: { locks: unknown[] } }).huddle.locks).toHaveLength(1);
    spy.close();
    await sleep(100);
    expect(room.awareness.getStates().has(alice.doc.clientID)).toBe(true);
  });

  it('closed watch streams leave nothing behind', async () => {
    const server = await startServer();
    for (let i = 0; i < 5; i++) {
      const ac = new AbortController();
      const res = await fetch(`${server.url}/api/p/w/events`, { signal: ac.signal });
      expect(res.status).toBe(200);
      ac.abort();
    }
    await waitFor(() => (server as unknown as { shutdownHooks: unknown[] }).shutdownHooks.length === 0, 'hooks removed');
  });
});
