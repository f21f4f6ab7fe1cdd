/**
 * One WebSocket client of a room: frames in, frames out, and the guards that
 * keep one bad or slow client from hurting the others.
 */
import type { WebSocket, RawData } from 'ws';
import { decodeMessage, ProtocolError, CLOSE_MALFORMED, CLOSE_SLOW_READER, CLOSE_TRY_AGAIN } from '../src/protocol/messages.js';
import type { Room, RoomPeer } from './room.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

let nextId = 1;

/** What every connection of one server shares (one object, not one per connection). */
export interface ConnectionEnv {
  log: Logger;
  metrics: Metrics;
  maxBufferedBytes: number;
  /** The server's open connections; a connection removes itself when it closes. */
  connections: Set<Connection>;
}

// Listeners shared by all sockets (`this` is the socket): no closures per connection, which
// matters for the memory an idle connection costs.
const CONN = Symbol('huddle.connection');
type Tagged = WebSocket & { [CONN]: Connection };
function onWsMessage(this: Tagged, data: RawData, isBinary: boolean): void {
  this[CONN].onMessage(data, isBinary);
}
function onWsPong(this: Tagged): void {
  this[CONN].awaitingPong = false;
}
function onWsClose(this: Tagged): void {
  this[CONN].onClose();
}
function onWsError(this: Tagged, err: Error & { code?: string }): void {
  // ws closes the socket itself after an error (1009 for oversized frames, 1002 for bad framing).
  const c = this[CONN];
  c.env.metrics.protocolErrors++;
  c.env.log.warn('connection error', { project: c.room.name, conn: c.id, code: err.code, error: err.message });
}

export class Connection implements RoomPeer {
  /** A connection is the origin of the updates it applies (origin.ts). */
  readonly kind = 'connection' as const;
  readonly id = nextId++;
  /** Set by the ping loop; cleared on every pong. */
  awaitingPong = false;
  private queue: Uint8Array[] | null = [];
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly room: Room,
    readonly readOnly: boolean,
    readonly env: ConnectionEnv,
  ) {
    (ws as Tagged)[CONN] = this;
    const t = ws as Tagged;
    t.on('message', onWsMessage as (this: WebSocket, ...a: unknown[]) => void);
    t.on('pong', onWsPong as (this: WebSocket) => void);
    t.on('close', onWsClose as (this: WebSocket) => void);
    t.on('error', onWsError as (this: WebSocket, err: Error) => void);
    env.connections.add(this);
    room.ready.then(
      () => {
        if (this.closed) return;
        room.addPeer(this);
        const queued = this.queue ?? [];
        this.queue = null;
        for (const frame of queued) if (!this.closed) this.process(frame);
      },
      // The store could not load the document: a try-again, not an error of the client.
      () => this.close(CLOSE_TRY_AGAIN, 'document storage unavailable; try again later'),
    );
  }

  send(frame: Uint8Array): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.env.maxBufferedBytes) {
      this.env.metrics.slowReadersDropped++;
      this.env.log.warn('dropping slow reader', { project: this.room.name, conn: this.id, buffered: this.ws.bufferedAmount });
      this.close(CLOSE_SLOW_READER, 'send buffer limit exceeded');
      return;
    }
    this.env.metrics.bytesOut += frame.byteLength;
    this.ws.send(frame);
  }

  cork(): void {
    (this.ws as unknown as { _socket?: { cork(): void } })._socket?.cork();
  }

  uncork(): void {
    (this.ws as unknown as { _socket?: { uncork(): void } })._socket?.uncork();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason);
    // Do not wait for the closing handshake of a client that may not answer.
    const t = setTimeout(() => this.ws.terminate(), 2000);
    t.unref();
    this.onClose();
  }

  onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) {
      this.fail(new ProtocolError('text frames are not part of the protocol', CLOSE_MALFORMED));
      return;
    }
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.env.metrics.bytesIn += buf.byteLength;
    const frame = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    if (this.queue) this.queue.push(frame);
    else this.process(frame);
  }

  private process(frame: Uint8Array): void {
    try {
      this.room.handle(this, decodeMessage(frame));
    } catch (err) {
      if (err instanceof ProtocolError) this.fail(err);
      else this.fail(new ProtocolError(`internal error: ${(err as Error).message}`, 1011));
    }
  }

  private fail(err: ProtocolError): void {
    this.env.metrics.protocolErrors++;
    this.env.log.warn('closing connection after bad input', { project: this.room.name, conn: this.id, code: err.closeCode, reason: err.message });
    this.close(err.closeCode, err.message.slice(0, 120));
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = null;
    this.env.connections.delete(this);
    this.room.removePeer(this);
  }
}
