/**
 * One WebSocket client of a room: frames in, frames out, and the guards that
 * keep one bad or slow client from hurting the others.
 */
import type { WebSocket, RawData } from 'ws';
import { decodeMessage, ProtocolError, CLOSE_MALFORMED, CLOSE_SLOW_READER } from '../src/protocol/messages.js';
import type { Room, RoomPeer } from './room.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

let nextId = 1;

export class Connection implements RoomPeer {
  readonly id = nextId++;
  readonly awarenessIds = new Set<number>();
  storedSubscribed = false;
  ackSeq = 0;
  ackScheduled = false;
  deniedOnce = false;
  /** Set by the ping loop; cleared on every pong. */
  awaitingPong = false;
  private queue: Uint8Array[] | null = [];
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly room: Room,
    readonly readOnly: boolean,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly maxBufferedBytes: number,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    ws.on('close', () => this.onClose());
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself after an error (1009 for oversized frames, 1002 for bad framing).
      this.metrics.protocolErrors++;
      this.log.warn('connection error', { project: room.name, conn: this.id, code: err.code, error: err.message });
    });
    room.ready.then(
      () => {
        if (this.closed) return;
        room.addPeer(this);
        const queued = this.queue ?? [];
        this.queue = null;
        for (const frame of queued) if (!this.closed) this.process(frame);
      },
      () => this.close(1011, 'document storage unavailable'),
    );
  }

  send(frame: Uint8Array): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.maxBufferedBytes) {
      this.metrics.slowReadersDropped++;
      this.log.warn('dropping slow reader', { project: this.room.name, conn: this.id, buffered: this.ws.bufferedAmount });
      this.close(CLOSE_SLOW_READER, 'send buffer limit exceeded');
      return;
    }
    this.metrics.bytesOut += frame.byteLength;
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

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) {
      this.fail(new ProtocolError('text frames are not part of the protocol', CLOSE_MALFORMED));
      return;
    }
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.metrics.bytesIn += buf.byteLength;
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
    this.metrics.protocolErrors++;
    this.log.warn('closing connection after bad input', { project: this.room.name, conn: this.id, code: err.closeCode, reason: err.message });
    this.close(err.closeCode, err.message.slice(0, 120));
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = null;
    this.room.removePeer(this);
  }
}
