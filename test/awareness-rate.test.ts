/**
 * Per-connection inbound awareness budget (issue 13 §5, relay/rate-limit.ts): a client that
 * floods awareness frames is throttled, counted and closed with 4029, while the other
 * clients of the room keep being served; a client within its budget is never touched.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import { WebSocket } from 'ws';
import { cleanup, closeOf, rawSocket, sleep, startServer, waitFor } from './helpers.js';
import { AwarenessBudget, awarenessEntryCount } from '../relay/rate-limit.js';
import { CLOSE_RATE_LIMIT, encodeAwareness } from '../src/protocol/messages.js';

afterEach(cleanup);

function frame(id: number, clock: number, state: unknown): Uint8Array {
  const u = encoding.createEncoder();
  encoding.writeVarUint(u, 1);
  encoding.writeVarUint(u, id);
  encoding.writeVarUint(u, clock);
  encoding.writeVarString(u, JSON.stringify(state));
  return encodeAwareness(encoding.toUint8Array(u));
}

describe('AwarenessBudget', () => {
  it('spends a burst, refills at the rate, drops over budget and closes once the debt passes the burst', () => {
    const b = new AwarenessBudget(100, 10, 0);
    // A frame of one entry costs 2: five fit in the burst.
    for (let i = 0; i < 5; i++) expect(b.charge(1, 0)).toBe('ok');
    expect(b.charge(1, 0)).toBe('drop');
    // 20 ms at 100/s refills 2: one more frame.
    expect(b.charge(1, 20)).toBe('ok');
    const verdicts = Array.from({ length: 6 }, () => b.charge(1, 20));
    expect(verdicts.slice(0, 5)).toEqual(['drop', 'drop', 'drop', 'drop', 'drop']);
    expect(verdicts[5]).toBe('close');
    // Back within budget, the debt is forgiven.
    const c = new AwarenessBudget(100, 10, 0);
    for (let i = 0; i < 5; i++) c.charge(1, 0);
    expect(c.charge(1, 0)).toBe('drop');
    expect(c.charge(1, 1000)).toBe('ok');
    expect(awarenessEntryCount(new Uint8Array([3, 0]))).toBe(3);
    expect(awarenessEntryCount(new Uint8Array([]))).toBe(0);
    // A frame announcing millions costs what the most a frame may hold costs (the gate refuses it as malformed).
    expect(awarenessEntryCount(new Uint8Array([0x80, 0x80, 0x80, 0x01]))).toBe(1001);
  });
});

describe('awareness flood from one connection', () => {
  it('is throttled and closed with 4029 while the other clients are still served', async () => {
    const server = await startServer({ awarenessRate: 200, awarenessBurst: 400 });
    const watcher = await rawSocket(`${server.wsUrl}/flood`);
    const seen = new Set<string>();
    watcher.on('message', (d: Buffer) => {
      for (const m of d.toString('latin1').matchAll(/"who":"(\w+)","n":(\d+)/g)) seen.add(`${m[1]}:${m[2]}`);
    });
    const polite = await rawSocket(`${server.wsUrl}/flood`);
    const flooder = await rawSocket(`${server.wsUrl}/flood`);
    const closed = closeOf(flooder);
    // The flood: 5,000 frames at once (12x the burst).
    for (let i = 0; i < 5000; i++) flooder.send(frame(7001, i + 1, { who: 'flood', n: i }));
    // Meanwhile a polite client publishes now and then (10 a second).
    for (let i = 0; i < 5; i++) {
      polite.send(frame(7002, i + 1, { who: 'polite', n: i }));
      await sleep(100);
    }
    const c = await closed;
    expect(c.code).toBe(CLOSE_RATE_LIMIT);
    expect(c.reason).toMatch(/awareness rate limit/);
    // Every state of the polite client reached the watcher; only the flood's start did.
    await waitFor(() => seen.has('polite:4'), 'the polite client is served');
    for (let i = 0; i < 5; i++) expect(seen.has(`polite:${i}`)).toBe(true);
    // At most the burst's worth of the flood got through (coalesced per turn, often none at all).
    const flooded = Array.from(seen).filter((s) => s.startsWith('flood:')).length;
    expect(flooded).toBeLessThanOrEqual(400);
    expect(server.metrics.awarenessThrottled).toBeGreaterThan(0);
    expect(polite.readyState).toBe(WebSocket.OPEN);
    // The flood's client ID left with its connection.
    const room = await server.room('flood');
    await waitFor(() => !room.awareness.getStates().has(7001), 'the flooder is gone');
  }, 30_000);

  it('a client within its budget is never throttled, and the default budget covers a burst of 3,000 frames', async () => {
    const server = await startServer();
    const ws = await rawSocket(`${server.wsUrl}/calm`);
    for (let i = 0; i < 3000; i++) ws.send(frame(7100, i + 1, { n: i }));
    const room = await server.room('calm');
    await waitFor(() => (room.awareness.getStates().get(7100) as { n?: number } | undefined)?.n === 2999, 'the last state applied', 15_000);
    expect(server.metrics.awarenessThrottled).toBe(0);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  }, 30_000);
});
