/**
 * The link from a machine's huddle server to a team relay: for every loaded
 * project, document updates and awareness flow both ways over one y-websocket
 * connection. While the link is down the local server keeps serving from its
 * replica; on reconnect the sync exchange merges both sides.
 *
 * Lock authority. Locks are confirmed in a relay's awareness order (presence.ts).
 * With an upstream, the team relay's order is the one that counts, so that two
 * machines never both confirm one exclusive lock:
 * - the link is authoritative while it is connected and synced and the team relay
 *   is itself authoritative; the room tells its peers (MSG_RELAY_STATUS) and hosted
 *   sessions (UpstreamEchoes) whenever that changes. While it is not, claims stay
 *   'unconfirmed' and are reconciled when it returns;
 * - while it is, the room does not echo a peer's awareness update back to the
 *   peer at once (room.ts); the link forwards it up, and when the team relay
 *   echoes it, after everything it ordered before, the link passes that echo on
 *   to the peer that owns the client ID (the room ignores it: same clock), and to
 *   hosted sessions through onEcho.
 */
import { RelayConnection, type EchoEntry, type SocketFactory } from '../src/peer/connection.js';
import { encodeAwarenessEntries, encodeRelayStatus } from '../src/protocol/messages.js';
import type { UpstreamEchoes } from '../src/peer/transports.js';
import type { Room, UpstreamOrder } from './room.js';
import type { Logger } from './log.js';

export interface UpstreamOptions {
  url: string;
  token?: string;
  socket?: SocketFactory;
  /** PEM text of certificate authorities to trust for a wss:// upstream. */
  ca?: string;
}

export class UpstreamLink implements UpstreamOrder, UpstreamEchoes {
  /** The link is the origin of what it applies to the room (origin.ts). */
  readonly kind = 'upstream' as const;
  readonly conn: RelayConnection;
  private readonly offDurable: () => void;
  /** Since when the link has been in its current state. */
  since = Date.now();
  private readonly echoListeners = new Set<(entries: EchoEntry[]) => void>();

  constructor(readonly room: Room, opts: UpstreamOptions, log: Logger) {
    this.conn = new RelayConnection({
      url: opts.url,
      project: room.name,
      doc: room.doc,
      awareness: room.awareness,
      token: opts.token,
      socket: opts.socket,
      ca: opts.ca,
      relayAwareness: true,
      maxBackoffMs: 10_000,
      origin: this,
      // Only what is durable here goes up: a kill -9 can then never leave the team relay
      // with an update this server lost.
      forwardDocUpdates: false,
      // The same for the sync answer: computed when the team relay asks, it may hold updates
      // still being appended here; it goes once they are durable.
      holdSyncAnswer: (send) => room.afterDurable(send),
    });
    this.offDurable = room.onDurable((batch) => {
      for (const e of batch) if (e.origin !== this) this.conn.sendUpdate(e.update);
    });
    this.conn.on('status', (s) => {
      this.since = Date.now();
      if (s !== 'connected' && this.downSince === null) this.downSince = Date.now();
      if (s === 'connected') log.debug('upstream socket open', { project: room.name });
      else if (s === 'disconnected') log.warn('upstream disconnected; serving from the local replica', { project: room.name });
    });
    this.conn.on('synced', () => {
      this.downSince = null;
      this.refused = null;
      log.info('upstream connected', { project: room.name });
    });
    this.conn.on('closed', (e) => {
      // Said where users look (peek, /healthz, the dashboard), not only in this log.
      this.refused = e.code === 4401 ? 'refused: wrong or missing token' : `refused: ${e.reason || `close code ${e.code}`}`;
      log.error('upstream refused the connection', { project: room.name, code: e.code, reason: e.reason });
    });
    this.conn.on('authority', (a) => {
      this.since = Date.now();
      room.sendToSubscribed(encodeRelayStatus(a));
    });
    this.conn.on('echo', (entries) => {
      // Echoes the room applied (the upstream lifted their clock) were broadcast to every
      // peer already; the others the room ignored, so pass them to their owners.
      const ignored = entries.filter((e) => !e.applied);
      if (ignored.length > 0) {
        // The rivals' states this frame (and earlier ones) brought sit in the room's coalesced
        // broadcast; they go first, or the owner would confirm a claim with a rival ordered
        // before it still out of its view (two confirmed holders; chaos test, 2026-12-01).
        room.flushAwareness();
        for (const [p, st] of room.peers) {
          const ids = st.awarenessIds;
          if (!ids) continue;
          const mine = ignored.filter((e) => ids.has(e.clientID));
          if (mine.length > 0) p.send(encodeAwarenessEntries(mine));
        }
      }
      for (const fn of this.echoListeners) fn(entries);
    });
    room.upstream = this;
  }

  /** Connected, synced, and the team relay's order is final (the room's peers are told as it changes). */
  get authoritative(): boolean {
    return this.conn.authoritative;
  }

  onAuthority(cb: (authoritative: boolean) => void): () => void {
    this.conn.on('authority', cb);
    return () => this.conn.off('authority', cb);
  }

  onEcho(cb: (entries: EchoEntry[]) => void): () => void {
    this.echoListeners.add(cb);
    return () => this.echoListeners.delete(cb);
  }

  get connected(): boolean {
    return this.conn.status === 'connected' && this.conn.synced;
  }

  /** Since when the link has been down (never synced yet, or lost), or null while connected. */
  private downSince: number | null = Date.now();
  /** Why the team relay refused us (a wrong token stops retries), or null. */
  private refused: string | null = null;

  status() {
    const connected = this.connected;
    return {
      status: connected ? 'connected' : this.conn.status,
      authoritative: this.authoritative,
      since: this.since,
      lastSyncedAt: this.conn.lastSyncedAt,
      /** null while connected; else "refused: ..." or "unreachable" (see downSince). */
      reason: connected ? null : this.refused ?? 'unreachable',
      downSince: connected ? null : this.downSince,
    };
  }

  close(): void {
    if (this.room.upstream === this) this.room.upstream = null;
    this.offDurable();
    this.echoListeners.clear();
    this.conn.destroy();
  }
}
