/**
 * The link from a machine's huddle server to a team relay: for every loaded
 * project, document updates and awareness flow both ways over one y-websocket
 * connection. While the link is down the local server keeps serving from its
 * replica; on reconnect the sync exchange merges both sides.
 */
import { RelayConnection, type SocketFactory } from '../src/peer/connection.js';
import type { Room } from './room.js';
import type { Logger } from './log.js';

export interface UpstreamOptions {
  url: string;
  token?: string;
  socket?: SocketFactory;
}

export class UpstreamLink {
  readonly conn: RelayConnection;
  /** Since when the link has been in its current state. */
  since = Date.now();

  constructor(readonly room: Room, opts: UpstreamOptions, private readonly log: Logger) {
    this.conn = new RelayConnection({
      url: opts.url,
      project: room.name,
      doc: room.doc,
      awareness: room.awareness,
      token: opts.token,
      socket: opts.socket,
      relayAwareness: true,
      maxBackoffMs: 10_000,
    });
    this.conn.on('status', (s) => {
      this.since = Date.now();
      if (s === 'connected') log.info('upstream connected', { project: room.name });
      else if (s === 'disconnected') log.warn('upstream disconnected; serving from the local replica', { project: room.name });
    });
    this.conn.on('closed', (e) => log.error('upstream refused the connection', { project: room.name, code: e.code, reason: e.reason }));
  }

  get connected(): boolean {
    return this.conn.status === 'connected' && this.conn.synced;
  }

  status() {
    return { status: this.connected ? 'connected' : this.conn.status, since: this.since, lastSyncedAt: this.conn.lastSyncedAt };
  }

  close(): void {
    this.conn.destroy();
  }
}
