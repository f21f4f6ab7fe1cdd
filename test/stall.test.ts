/**
 * No single client or frame blocks the server's event loop for long (issue 13 §5). The server
 * runs in its own process (test/fixtures/stall-server.ts) and measures its own event-loop delay
 * around each attack. The bound asserted (2 s) is generous: on a shared 2-core machine under
 * heavy load the measured delay includes time the process is not scheduled at all (up to 1.5 s
 * seen at a load average of 30); the old code took 5-22 s on these cases (issue 13). The 50 ms goal and the latency targets are in the
 * bench (`npm run bench`, bench/stall.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import { encodeAwareness, encodeSyncStep1, encodeUpdate } from '../src/protocol/messages.js';
import { cleanup, rawSocket, ROOT, spawnJsonLines, tempDir, waitFor } from './helpers.js';

const BOUND_MS = 2000;
const FIXTURE = path.join(ROOT, 'dist/test/fixtures/stall-server.js');

let child: ReturnType<typeof spawnJsonLines>;
let url = '';
let wsUrl = '';

beforeAll(async () => {
  child = spawnJsonLines(FIXTURE, [path.join(tempDir(), 'data')]);
  const ready = (await waitFor(() => child.lines.find((l) => l.ready), 'stall server', 15_000))!;
  url = `http://127.0.0.1:${ready.port}`;
  wsUrl = `ws://127.0.0.1:${ready.port}`;
});
const measured: Record<string, number> = {};
afterAll(async () => {
  // The numbers, for the record (the assertion is only the generous bound).
  console.log(`event-loop delay, max ms: ${JSON.stringify(measured)}`);
  await cleanup();
});

async function ask(cmd: 'reset' | 'read'): Promise<Record<string, number>> {
  const n = child.lines.length;
  child.p.stdin!.write(cmd + '\n');
  return (await waitFor(() => child.lines.slice(n).find((l) => (cmd === 'reset' ? l.reset : 'maxMs' in l)), cmd)) as Record<string, number>;
}

/** Run `attack` and return the longest event-loop delay the server saw meanwhile. */
async function stall(attack: () => Promise<void>): Promise<number> {
  await ask('reset');
  await attack();
  const r = await ask('read');
  measured[expect.getState().currentTestName?.split(' > ').at(-1) ?? '?'] = Math.round(r.maxMs);
  return r.maxMs;
}

async function post(route: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return res.json();
}

/** Wait until `ws` has had every frame sent so far handled: a sync step 1 is answered in order. */
function roundTrip(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      ws.off('message', onMsg);
      ws.off('close', done);
      resolve();
    };
    const onMsg = (d: Buffer) => {
      if (d[0] === 0 && d[1] === 1) done(); // sync step 2
    };
    ws.on('message', onMsg);
    ws.on('close', done);
    ws.send(encodeSyncStep1(new Y.Doc()));
  });
}

function awarenessFrame(entries: Array<{ id: number; clock: number; state: unknown }>): Uint8Array {
  const u = encoding.createEncoder();
  encoding.writeVarUint(u, entries.length);
  for (const e of entries) {
    encoding.writeVarUint(u, e.id);
    encoding.writeVarUint(u, e.clock);
    encoding.writeVarString(u, JSON.stringify(e.state));
  }
  return encodeAwareness(encoding.toUint8Array(u));
}

const now = Date.now();
const presence = (id: string, locks: unknown[]) => ({
  huddle: { v: 1, kind: 'session', id, name: id, role: 'x', agent: 'script', host: 'h', pid: 1, cwd: '/', branch: null, task: null, intent: null, startedAt: now, lastActive: now, hosted: false, locks, editing: [] },
});
const claim = (id: string, p: string) => ({ id, path: p, mode: 'exclusive', claimedAt: now, expiresAt: now + 3600_000, capAt: now + 7200_000, confirmed: true });

describe('event-loop stalls', () => {
  it('100 sessions x 10 locks: hook calls and presence changes stay cheap', async () => {
    const root = path.join(tempDir(), 'repo');
    fs.mkdirSync(path.join(root, '.git'), { recursive: true });
    fs.writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    fs.mkdirSync(path.join(root, '.huddle'));
    fs.writeFileSync(path.join(root, '.huddle', 'config.json'), JSON.stringify({ project: 'many' }));
    const SESSIONS = 100;
    for (let i = 0; i < SESSIONS; i += 10) {
      await Promise.all(Array.from({ length: 10 }, async (_, d) => {
        const paths = Array.from({ length: 10 }, (_, j) => `src/s${i + d}/f${j}.ts`);
        const r = await post('/api/p/many/op/lock', { session: { id: `s-${i + d}`, name: `s${i + d}` }, paths });
        expect(r.result?.status).toBe('confirmed');
      }));
    }
    const hook = (i: number, file: string) => post('/hooks/claude-code', {
      session_id: `s-${i}`, transcript_path: '/tmp/t', cwd: root, permission_mode: 'default', hook_event_name: 'PreToolUse',
      tool_name: 'Edit', tool_input: { file_path: path.join(root, file), old_string: 'a', new_string: 'b' }, tool_use_id: 't',
    });
    let denied = 0;
    const max = await stall(async () => {
      for (let k = 0; k < 100; k++) {
        const r = await hook(k % SESSIONS, `src/s${(k + 1) % SESSIONS}/f0.ts`);
        if (r.hookSpecificOutput?.permissionDecision === 'deny') denied++;
      }
    });
    expect(denied).toBe(100);
    expect(max).toBeLessThan(BOUND_MS);
  }, 60_000);

  it('5,000 updates whose dependencies never arrive', async () => {
    const src = new Y.Doc();
    src.clientID = 777;
    const ups: Uint8Array[] = [];
    src.on('update', (u: Uint8Array) => ups.push(u));
    for (let i = 0; i < 5001; i++) src.getMap('m').set(`k${i}`, i);
    const ws = await rawSocket(`${wsUrl}/pending`);
    const max = await stall(async () => {
      for (const u of ups.slice(1)) ws.send(encodeUpdate(u));
      await roundTrip(ws);
    });
    expect(max).toBeLessThan(BOUND_MS);
  }, 60_000);

  it('3,000 awareness frames from one client to 300 peers', async () => {
    const peers = await Promise.all(Array.from({ length: 300 }, () => rawSocket(`${wsUrl}/aw300`)));
    let last = false;
    peers[0].on('message', (d: Buffer) => {
      if (d.includes('"n":2999')) last = true;
    });
    const sender = await rawSocket(`${wsUrl}/aw300`);
    const max = await stall(async () => {
      for (let i = 0; i < 3000; i++) sender.send(awarenessFrame([{ id: 9001, clock: i + 1, state: { n: i } }]));
      await waitFor(() => last, 'the last state at a peer', 30_000);
    });
    for (const p of peers) p.terminate();
    expect(max).toBeLessThan(BOUND_MS);
  }, 60_000);

  it('long lock globs in presence', async () => {
    // A hosted session holds a lock, so presence views resolve the globs against it.
    await post('/api/p/globs/op/lock', { session: { id: 'holder' }, paths: ['src/a.ts'] });
    const ws = await rawSocket(`${wsUrl}/globs`);
    const worst = '*a'.repeat(16) + 'b'.repeat(990); // the most the bound allows: 1,022 characters, 16 wildcards
    const max = await stall(async () => {
      ws.send(awarenessFrame([
        { id: 5001, clock: 1, state: presence('g1', [claim('g1a', '*a'.repeat(1000)), claim('g1b', worst)]) },
        { id: 5002, clock: 1, state: presence('g2', [claim('g2a', 'a*'.repeat(1000)), claim('g2b', worst.split('').reverse().join(''))]) },
      ]));
      await roundTrip(ws);
      for (let i = 0; i < 5; i++) await fetch(`${url}/api/p/globs/state`).then((r) => r.json());
    });
    expect(max).toBeLessThan(BOUND_MS);
  }, 60_000);

  it('an awareness frame announcing 2 million entries', async () => {
    const u = encoding.createEncoder();
    const N = 2_000_000;
    encoding.writeVarUint(u, N);
    for (let i = 0; i < N; i++) {
      encoding.writeVarUint(u, 1);
      encoding.writeVarUint(u, 1);
      encoding.writeVarUint(u, 0);
    }
    const frame = encodeAwareness(encoding.toUint8Array(u));
    const ws = await rawSocket(`${wsUrl}/huge`);
    const max = await stall(async () => {
      ws.send(frame);
      await roundTrip(ws);
    });
    expect(max).toBeLessThan(BOUND_MS);
  }, 60_000);

  it('an /events reader that never reads is dropped, not buffered without bound', async () => {
    const port = Number(new URL(url).port);
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(`GET /api/p/ev/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    sock.pause(); // never reads
    const writer = await rawSocket(`${wsUrl}/ev`);
    const doc = new Y.Doc();
    doc.on('update', (up: Uint8Array) => writer.send(encodeUpdate(up)));
    writer.send(encodeSyncStep1(doc));
    const summary = 'x'.repeat(20_000);
    const dropped = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/huddle_slow_event_readers_dropped_total (\d+)/.exec(text)?.[1] ?? 0);
    };
    for (let round = 0; round < 40 && (await dropped()) === 0; round++) {
      // Timeline entries as any writer can add them: each becomes an event of about 20 KB.
      doc.transact(() => {
        for (let i = 0; i < 50; i++) doc.getArray('timeline').push([{ at: Date.now(), type: 'note', actor: 'a', actorName: 'a', summary }]);
      });
      await roundTrip(writer);
    }
    expect(await dropped()).toBe(1);
    sock.destroy();
  }, 60_000);
});
