/**
 * A node that forwards a client's WebSocket to a project's owner bounds both directions: a
 * client that writes faster than the owner reads must not grow the forwarding node without
 * bound (relay/cluster.ts). The owner here is a plain ws server that stops reading.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { Cluster } from '../relay/cluster.js';
import type { OwnerLeases } from '../relay/owner-lease.js';
import { silentLogger } from '../relay/log.js';
import { cleanup, listenWs, onCleanup } from './helpers.js';

afterEach(cleanup);

const listen = async (wss: WebSocketServer): Promise<number> => (await listenWs(wss)).port;

describe('forwarding to the owner node', () => {
  it('closes a client that writes faster than the owner reads (4029), instead of buffering it all', async () => {
    // The owner accepts and never reads again: what the node sends it piles up in the node.
    const owner = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    owner.on('connection', (ws) => (ws as unknown as { _socket: { pause(): void } })._socket.pause());
    const ownerPort = await listen(owner);

    const cluster = new Cluster({ node: 'node-b' } as unknown as OwnerLeases, silentLogger);
    const node = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    node.on('connection', (client) => cluster.forward(client, `ws://127.0.0.1:${ownerPort}/p`, [], { token: null, maxBufferedBytes: 256 * 1024, maxPayload: 1 << 20, log: silentLogger }));
    const nodePort = await listen(node);

    const client = new WebSocket(`ws://127.0.0.1:${nodePort}/p`);
    onCleanup(() => client.terminate());
    await new Promise<void>((r) => client.once('open', () => r()));
    const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
    const frame = Buffer.alloc(64 * 1024, 1);
    // 64 MiB at most, well past what loopback's socket buffers hold; the node must give up first.
    let sent = 0;
    let code: number | null = null;
    void closed.then((c) => (code = c));
    while (code === null && sent < 1024) {
      if (client.readyState !== WebSocket.OPEN) break;
      if (client.bufferedAmount < 4 << 20) {
        client.send(frame);
        sent++;
      } else await new Promise((r) => setTimeout(r, 5));
      if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    // Without the bound nothing closes: the node just holds the 64 MiB.
    expect(await Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), 5000))])).toBe(4029);
    expect(sent).toBeLessThan(1024);
  });
});
