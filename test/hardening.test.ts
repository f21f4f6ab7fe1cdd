/** Issue 13 §5/§6: bounds on what one client can make the server do, and the smaller crashers. */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { HuddleServer } from '../relay/server.js';
import { createLogger } from '../relay/log.js';
import { encodeAwareness, encodeQueryAwareness, encodeSyncStep1, encodeUpdate } from '../src/protocol/messages.js';
import { DocWal, replayWal, walDir } from '../src/store/wal.js';
import { DocStore } from '../src/store/doc-store.js';
import { normalizePattern, patternsOverlap, PatternError } from '../src/model/paths.js';
import { cleanup, closeOf, onCleanup, rawSocket, sleep, startServer, stockClient, synced, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

async function op(url: string, project: string, name: string, body: Record<string, unknown>) {
  const res = await fetch(`${url}/api/p/${project}/op/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { ok: boolean; result?: any; error?: string } };
}

/** Updates of one client, in order; the first is withheld by callers, so every later one waits for it. */
function chainedUpdates(n: number): Uint8Array[] {
  const doc = new Y.Doc();
  doc.clientID = 424242;
  const out: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => out.push(u));
  for (let i = 0; i < n; i++) doc.getMap('m').set(`k${i}`, i);
  return out;
}

describe('lock targets', () => {
  it('refuses the repository root (/, ./, \\, .) with a clear error instead of storing ""', async () => {
    for (const p of ['/', './', '\\', '.', '//', './/.']) {
      expect(() => normalizePattern(p), p).toThrow(/repository root.*\*\*/);
    }
    const server = await startServer();
    const r = await op(server.url, 'roots', 'lock', { session: { id: 's1' }, paths: ['/'] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/repository root/);
    expect((await op(server.url, 'roots', 'lock', { session: { id: 's1' }, paths: ['**'] })).body.result.status).toBe('confirmed');
  });

  it('bounds path length and wildcards; long globs compare exactly, without overflowing the stack', () => {
    expect(() => normalizePattern('a/'.repeat(600))).toThrow(PatternError);
    expect(() => normalizePattern('*a'.repeat(40))).toThrow(/wildcards/);
    // Past 4,096 tokens the old memo key (x * 4096 + y) collided; these are within the bound, long and exact.
    const lit = 'b'.repeat(1000);
    expect(patternsOverlap(`${lit}*`, `*${lit}`)).toBe(true);
    expect(patternsOverlap(`${'a'.repeat(500)}*${'c'.repeat(500)}`, `*${'d'.repeat(1000)}`)).toBe(false);
  });
});

describe('frames', () => {
  it('a garbage state vector is bad input (1007), not a server error', async () => {
    const server = await startServer();
    const ws = await rawSocket(`${server.wsUrl}/sv`);
    const closed = closeOf(ws);
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint8Array(e, new Uint8Array([5, 0xff, 0xff, 0xff]));
    ws.send(encoding.toUint8Array(e));
    expect((await closed).code).toBe(1007);
  });

  it('an awareness frame announcing millions of entries is refused before they are decoded', async () => {
    const server = await startServer();
    const ws = await rawSocket(`${server.wsUrl}/aw`);
    const closed = closeOf(ws);
    const u = encoding.createEncoder();
    encoding.writeVarUint(u, 5_500_000);
    for (let i = 0; i < 2000; i++) {
      encoding.writeVarUint(u, i + 1);
      encoding.writeVarUint(u, 1);
      encoding.writeVarString(u, '');
    }
    ws.send(encodeAwareness(encoding.toUint8Array(u)));
    const c = await closed;
    expect(c.code).toBe(1007);
    expect(c.reason).toMatch(/5500000 client IDs \(at most 1000\)/);
  });

  it('updates whose dependencies never arrive are bounded: the sender is closed with 1008, others keep syncing', async () => {
    const server = await startServer();
    const ok = stockClient(server.wsUrl, 'pend');
    await synced(ok.provider);
    const ws = await rawSocket(`${server.wsUrl}/pend`);
    const closed = closeOf(ws);
    ws.send(encodeSyncStep1(new Y.Doc()));
    const ups = chainedUpdates(1001).slice(1);
    for (const u of ups) ws.send(encodeUpdate(u));
    const c = await closed;
    expect(c.code).toBe(1008);
    expect(c.reason).toMatch(/dependencies/);
    expect(server.metrics.pendingOverflows).toBe(1);
    // The room still works for a well-behaved client, and nothing of the dangling updates got in.
    ok.doc.getMap('m').set('fine', 1);
    const late = stockClient(server.wsUrl, 'pend');
    await synced(late.provider);
    await waitFor(() => late.doc.getMap('m').get('fine') === 1, 'sync after the overflow');
    expect(late.doc.getMap('m').has('k1')).toBe(false);
  });

  it('query-awareness is answered at most once a second per connection', async () => {
    const server = await startServer();
    const peer = stockClient(server.wsUrl, 'q');
    peer.awareness.setLocalState({ big: 'x'.repeat(10_000) });
    await synced(peer.provider);
    const room = await server.room('q');
    await waitFor(() => room.awareness.getStates().has(peer.doc.clientID), 'the server holds the big state');
    const ws = await rawSocket(`${server.wsUrl}/q`);
    let bytes = 0;
    ws.on('message', (d: Buffer) => (bytes += d.length));
    await sleep(100); // past anything a new connection is sent at once
    const before = bytes;
    const sentAt = Date.now();
    for (let i = 0; i < 200; i++) ws.send(encodeQueryAwareness());
    // One answer now (about 10 KB), the rest folded into one more at the end of the second: not sooner.
    await waitFor(() => bytes - before > 2 * 10_000 - 1, 'two answers', 5000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(950);
    expect(bytes - before).toBeLessThan(3 * 10_000);
  });
});

describe('write-ahead log', () => {
  it('a byte flipped mid-file loses one record; every later one is replayed and reported', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const ups = chainedUpdates(40);
    const wal = new DocWal(walDir(dataDir), 'flip');
    wal.append(ups);
    const file = wal.closeCurrent()!;
    const bytes = fs.readFileSync(file);
    let o = 0;
    for (let i = 0; i < 20; i++) o += 8 + ups[i].byteLength;
    bytes[o + 9] ^= 0x01; // inside record 20's payload: its checksum fails
    fs.writeFileSync(file, bytes);
    const store = new DocStore(dataDir);
    await store.open();
    onCleanup(() => store.close());
    const r = await replayWal(dataDir, store);
    expect(r.records).toBe(39);
    expect(r.damaged).toEqual([{ file: path.basename(file), stretches: 1, bytes: 8 + ups[20].byteLength }]);
  });

  it.skipIf(!canMakeImmutable())('a log file that cannot be deleted is logged and retried, never a crash', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const lines: string[] = [];
    const server = new HuddleServer({ port: 0, dataDir, idleUnloadMs: 50 }, { logger: createLogger('warn', (l) => lines.push(l)) });
    await server.listen();
    onCleanup(() => server.close());
    const c = stockClient(server.wsUrl, 'perm');
    await synced(c.provider);
    c.doc.getMap('m').set('a', 1);
    await waitFor(() => fs.readdirSync(walDir(dataDir)).length > 0, 'a log file');
    const dir = walDir(dataDir);
    execFileSync('chattr', ['+i', dir]);
    onCleanup(() => void execFileSync('chattr', ['-i', dir]));
    // Leaving unloads the room, which deletes its log: refused by the file system.
    c.provider.destroy();
    await waitFor(() => lines.some((l) => l.includes('cannot delete a write-ahead log file')), 'the warning', 5000);
    expect(server.loadedRooms()).not.toContain('perm');
    execFileSync('chattr', ['-i', dir]);
    await waitFor(() => fs.readdirSync(dir).length === 0, 'the retried delete', 5000);
    // And the server serves on.
    const again = stockClient(server.wsUrl, 'perm');
    await synced(again.provider);
    expect(again.doc.getMap('m').get('a')).toBe(1);
  });
});

function canMakeImmutable(): boolean {
  try {
    const d = fs.mkdtempSync(path.join(tempDir(), 'imm-'));
    execFileSync('chattr', ['+i', d], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', d], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
