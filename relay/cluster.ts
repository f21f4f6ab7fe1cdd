/**
 * Several relay nodes on one PostgreSQL database (`serve --store postgres://…`):
 * exactly one node owns a project at a time (its lease, owner-lease.ts), and only
 * the owner loads the project and writes it (fenced by the lease token).
 *
 * A client that reaches another node is served through the owner: that node looks
 * the owner up in the database and forwards the WebSocket to it, frame for frame,
 * both ways. Choice: forwarding rather than a replica with an upstream link (as a
 * machine server keeps towards its team relay). The owner then is the one ordering
 * point for every client of the project, so the lock confirmation rule applies
 * unchanged; an acknowledgement a client gets means committed in PostgreSQL, not
 * held by a middle node that a kill -9 could lose; and a non-owner holds no state
 * to reconcile when ownership moves. The cost: one more hop, and the owner does the
 * fan-out for every client of the project.
 *
 * When the owner dies its forwarded sockets close; the node closes the client's
 * socket with 1013 and the client reconnects; the next connection finds no live
 * owner (the advisory lock ended with the dead node's database session), takes the
 * lease and loads the project from PostgreSQL.
 */
import WebSocket, { type RawData } from 'ws';
import type { OwnerLeases } from './owner-lease.js';
import type { Logger } from './log.js';
import { CLOSE_RATE_LIMIT, CLOSE_SLOW_READER, CLOSE_TRY_AGAIN } from '../src/protocol/messages.js';

/** Header on a forwarded connection: the receiving node serves it itself or refuses, never forwards again. */
export const FORWARDED_HEADER = 'x-huddle-forwarded';

export type Route = { kind: 'owner' } | { kind: 'forward'; url: string; node: string } | { kind: 'none'; reason: string };

export interface ForwardOptions {
  /** The token the client presented, passed on as is (every node checks the same tokens). */
  token: string | null;
  maxBufferedBytes: number;
  maxPayload: number;
  log: Logger;
  /** PEM text to trust for wss:// between nodes. */
  ca?: string;
}

/** Close codes a peer may send (RFC 6455 7.4.1; 1005/1006/1015 are never sent). */
function sendable(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

export class Cluster {
  /** WebSocket connections forwarded to an owner, total, and open now. */
  forwardedTotal = 0;
  forwardedOpen = 0;
  /** HTTP requests (hooks, the CLI's API) passed to an owner node. */
  httpForwardedTotal = 0;
  takeovers = 0;

  constructor(readonly leases: OwnerLeases, private readonly log: Logger) {}

  get node(): string {
    return this.leases.node;
  }

  /**
   * Who serves `project`: this node (it holds the lease, or has just taken it), another
   * live owner (forward there), or nobody right now. A forwarded connection is never
   * forwarded again (a stale lease row could otherwise bounce it between nodes).
   */
  async route(project: string, forwarded: boolean): Promise<Route> {
    for (let attempt = 0; attempt < 4; attempt++) {
      if (this.leases.held(project)) return { kind: 'owner' };
      const lease = await this.leases.tryAcquire(project);
      if (lease) {
        this.takeovers++;
        this.log.info('this node is now the owner of the project', { project, token: lease.token });
        return { kind: 'owner' };
      }
      if (forwarded) return { kind: 'none', reason: 'forwarded to a node that does not own this project; try again' };
      const owner = await this.leases.owner(project);
      if (owner && owner.node !== this.node) return { kind: 'forward', url: owner.url, node: owner.node };
      // The owner holds the lock but has not written its row yet: ask again in a moment.
      await new Promise((r) => setTimeout(r, 25 * (attempt + 1)));
    }
    return { kind: 'none', reason: 'no node owns this project right now; try again' };
  }

  release(project: string): void {
    void this.leases.release(project);
  }

  /**
   * Serve `client` through the owner at `url` (ws://host:port/<project>): frames both ways as
   * they are, `early` (read before the route was known) first; either side closing closes the other.
   */
  forward(client: WebSocket, url: string, early: Array<{ data: RawData; isBinary: boolean }>, opts: ForwardOptions): void {
    this.forwardedTotal++;
    this.forwardedOpen++;
    const headers: Record<string, string> = { [FORWARDED_HEADER]: this.node };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const owner = new WebSocket(url, { headers, perMessageDeflate: false, maxPayload: opts.maxPayload, ca: opts.ca, handshakeTimeout: 5000 });
    const queue = early.slice();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.forwardedOpen--;
    };
    owner.on('open', () => {
      for (const f of queue) owner.send(f.data, { binary: f.isBinary });
      queue.length = 0;
    });
    // The other direction is bounded too: a client writing faster than the owner takes it (or
    // while the owner's socket is still opening) must not grow this node without bound.
    let queuedBytes = early.reduce((n, f) => n + rawLength(f.data), 0);
    client.on('message', (data: RawData, isBinary: boolean) => {
      const pending = owner.readyState === WebSocket.CONNECTING ? (queuedBytes += rawLength(data)) : owner.bufferedAmount;
      if (pending > opts.maxBufferedBytes) {
        client.close(CLOSE_RATE_LIMIT, 'sending faster than the project\'s owner node takes it; reconnect later');
        owner.terminate();
        return;
      }
      if (owner.readyState === WebSocket.OPEN) owner.send(data, { binary: isBinary });
      else if (owner.readyState === WebSocket.CONNECTING) queue.push({ data, isBinary });
    });
    owner.on('message', (data: RawData, isBinary: boolean) => {
      if (client.readyState !== WebSocket.OPEN) return;
      if (client.bufferedAmount > opts.maxBufferedBytes) {
        client.close(CLOSE_SLOW_READER, 'send buffer limit exceeded');
        owner.terminate();
        return;
      }
      client.send(data, { binary: isBinary });
    });
    owner.on('close', (code: number, reason: Buffer) => {
      finish();
      if (client.readyState === WebSocket.OPEN || client.readyState === WebSocket.CONNECTING) {
        const text = reason.toString();
        if (sendable(code) && text) client.close(code, text);
        else client.close(CLOSE_TRY_AGAIN, 'the node that owned this project went away; reconnect');
      }
      setTimeout(() => client.terminate(), 2000).unref();
    });
    owner.on('error', (err) => {
      opts.log.debug('forwarding to the owner failed', { url, error: err.message });
    });
    client.on('close', () => {
      finish();
      if (owner.readyState === WebSocket.OPEN) owner.close(1000, 'client left');
      else owner.terminate();
    });
    client.on('error', () => owner.terminate());
  }

  stats() {
    return { ...this.leases.stats(), forwardedOpen: this.forwardedOpen, forwardedTotal: this.forwardedTotal, httpForwardedTotal: this.httpForwardedTotal, takeovers: this.takeovers };
  }

  close(): Promise<void> {
    return this.leases.close();
  }
}

/** Bytes in a ws message, whichever of its shapes it arrived in. */
function rawLength(d: RawData): number {
  return Array.isArray(d) ? d.reduce((n, b) => n + b.length, 0) : d.byteLength;
}
