/**
 * A client connection to a huddle relay for one Y.Doc and its awareness.
 *
 * Speaks the y-websocket protocol like y-websocket's WebsocketProvider, and
 * adds what huddle needs of a client: stored acknowledgements (whenStored),
 * reconnects with exponential backoff and jitter, an end to retries on
 * 4400-4499 close codes, and a hook that sees each awareness update as the
 * relay ordered it (lock confirmation relies on that order).
 *
 * This module is the lifecycle and the dispatch; beside it: `socket.ts` (opening
 * sockets, backoff), `relay-awareness.ts` (relay mode's forwarding and echoes),
 * `durable-acks.ts` (what the relay has stored), `connection-options.ts` (options, events).
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import * as awarenessProtocol from 'y-protocols/awareness';
import { ObservableV2 } from 'lib0/observable';
import {
  MSG_AUTH,
  MSG_AWARENESS,
  MSG_QUERY_AWARENESS,
  MSG_RELAY_STATUS,
  MSG_STORED,
  MSG_SYNC,
  encodeAwarenessOf,
  encodeStoredSubscribe,
  encodeUpdate,
  readAwarenessEntries,
} from '../protocol/messages.js';
import { Backoff, OPEN, defaultFactory, type SocketFactory, type SocketLike } from './socket.js';
import { RelayAwareness } from './relay-awareness.js';
import { DurableAcks, docState, grownSince } from './durable-acks.js';
import type { ConnectionEvents, ConnectionOptions, ConnectionStatus } from './connection-options.js';

export type { AwarenessEntry, ConnectionEvents, ConnectionOptions, ConnectionStatus } from './connection-options.js';
export type { SocketFactory, SocketLike } from './socket.js';
export type { EchoEntry } from './relay-awareness.js';

const NONE: ReadonlySet<number> = new Set();

export class RelayConnection extends ObservableV2<ConnectionEvents> {
  readonly url: string;
  status: ConnectionStatus = 'disconnected';
  synced = false;
  /** The socket whose sync answer is held until durable (holdSyncAnswer), if any. */
  private answerHeldFor: SocketLike | null = null;
  private readonly acks = new DurableAcks();
  /** Time of the last successful sync, or null. */
  lastSyncedAt: number | null = null;
  closeInfo: { code: number; reason: string } | null = null;

  /** Whether this connection's relay has told us anything of its authority yet (MSG_RELAY_STATUS or MSG_STORED). */
  private authorityKnown = false;
  /** What the relay said in its last MSG_RELAY_STATUS (true when it never sent one). */
  private relayAuthoritative = true;
  private lastAuthority = false;

  private ws: SocketLike | null = null;
  private factory: SocketFactory | null;
  private shouldConnect: boolean;
  private readonly backoff: Backoff;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval>;
  private lastReceived = 0;
  private readonly silenceTimeout: number;
  private destroyed = false;
  private readonly origin: unknown;
  /** Set in relay mode (`relayAwareness`): what goes up and what came down. */
  private readonly relayMode: RelayAwareness | null;

  constructor(private readonly opts: ConnectionOptions) {
    super();
    this.origin = opts.origin ?? this;
    this.relayMode = opts.relayAwareness ? new RelayAwareness(opts.awareness) : null;
    this.url = `${opts.url.replace(/\/+$/, '')}/${encodeURIComponent(opts.project)}`;
    this.factory = opts.socket ?? null;
    this.backoff = new Backoff(opts.minBackoffMs ?? 100, opts.maxBackoffMs ?? 5000);
    this.silenceTimeout = opts.silenceTimeoutMs ?? 70_000;
    this.shouldConnect = opts.connect ?? true;
    if (opts.forwardDocUpdates !== false) opts.doc.on('update', this.onDocUpdate);
    opts.awareness.on('update', this.onAwarenessUpdate);
    this.watchdog = setInterval(() => {
      if (this.status === 'connected' && Date.now() - this.lastReceived > this.silenceTimeout) this.dropSocket();
      this.relayMode?.prune();
    }, Math.min(5000, this.silenceTimeout / 2));
    (this.watchdog as { unref?: () => void }).unref?.();
    if (this.shouldConnect) this.open();
  }

  /** State vector the relay has durably stored, as last acknowledged. */
  get durable(): Map<number, number> {
    return this.acks.stored;
  }

  /** Relay mode: client IDs whose states arrived from upstream (never sent back up). */
  get fromUpstream(): ReadonlySet<number> {
    return this.relayMode?.fromUpstream ?? NONE;
  }

  get doc(): Y.Doc {
    return this.opts.doc;
  }

  get awareness(): awarenessProtocol.Awareness {
    return this.opts.awareness;
  }

  connect(): void {
    if (this.destroyed) return;
    this.shouldConnect = true;
    this.closeInfo = null;
    if (!this.ws && !this.reconnectTimer) this.open();
  }

  /** Close the socket and stop reconnecting; local state is kept. */
  disconnect(): void {
    this.shouldConnect = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.dropSocket();
  }

  override destroy(): void {
    if (this.destroyed) return;
    this.disconnect();
    this.destroyed = true;
    clearInterval(this.watchdog);
    this.opts.doc.off('update', this.onDocUpdate);
    this.opts.awareness.off('update', this.onAwarenessUpdate);
    super.destroy();
  }

  /**
   * Whether the awareness order this relay gives is authoritative now: connected,
   * synced, and the relay is not a server whose own upstream is away
   * (MSG_RELAY_STATUS). Lock confirmation needs it.
   */
  get authoritative(): boolean {
    return this.status === 'connected' && this.synced && this.authorityKnown && this.relayAuthoritative;
  }

  private updateAuthority(): void {
    const a = this.authoritative;
    if (a === this.lastAuthority) return;
    this.lastAuthority = a;
    this.emit('authority', [a]);
  }

  /** Resolves once the first sync after (re)connecting is complete. */
  whenSynced(timeoutMs = 10_000): Promise<void> {
    if (this.synced) return Promise.resolve();
    return this.waitFor('synced', () => this.synced, timeoutMs, 'sync with the relay');
  }

  /**
   * Resolves once the relay acknowledges that it has durably stored everything
   * this doc holds at the time of the call. Rejects after `timeoutMs`.
   */
  whenStored(timeoutMs = 10_000): Promise<void> {
    const want = docState(this.opts.doc);
    if (this.acks.covers(want)) return Promise.resolve();
    return this.waitFor('stored', () => this.acks.covers(want), timeoutMs, 'the relay to store the change');
  }

  private waitFor(event: 'synced' | 'stored', done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        cleanup();
        resolve();
      };
      const onClosed = (e: { code: number; reason: string }) => {
        cleanup();
        reject(new Error(`relay closed the connection (${e.code}): ${e.reason}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.status})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off(event, check);
        this.off('closed', onClosed);
      };
      this.on(event, check);
      this.on('closed', onClosed);
    });
  }

  private setStatus(s: ConnectionStatus): void {
    if (this.status === s) return;
    this.status = s;
    this.emit('status', [s]);
    this.updateAuthority();
  }

  private open(): void {
    this.reconnectTimer = null;
    if (!this.shouldConnect || this.ws || this.destroyed) return;
    this.setStatus('connecting');
    const go = (factory: SocketFactory) => {
      if (!this.shouldConnect || this.ws || this.destroyed) return;
      this.factory = factory;
      let ws: SocketLike;
      try {
        ws = factory(this.url, this.opts.token);
      } catch (err) {
        this.scheduleReconnect();
        return;
      }
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      ws.onopen = () => this.onOpen(ws);
      ws.onmessage = (ev) => {
        if (this.ws !== ws) return;
        this.lastReceived = Date.now();
        this.onMessage(new Uint8Array(ev.data as ArrayBuffer));
      };
      ws.onerror = () => {};
      ws.onclose = (ev) => this.onClose(ws, ev);
      // Node's ws answers relay pings itself; count them as signs that the link is alive.
      (ws as unknown as { on?: (e: string, f: () => void) => void }).on?.('ping', () => (this.lastReceived = Date.now()));
    };
    if (this.factory) go(this.factory);
    else void defaultFactory(this.opts.ca).then(go, () => this.scheduleReconnect());
  }

  private onOpen(ws: SocketLike): void {
    if (this.ws !== ws) return;
    this.lastReceived = Date.now();
    this.authorityKnown = false;
    this.relayAuthoritative = true;
    this.setStatus('connected');
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MSG_SYNC);
    syncProtocol.writeSyncStep1(e, this.opts.doc);
    this.send(encoding.toUint8Array(e));
    this.send(encodeStoredSubscribe());
    if (this.relayMode) {
      const ids = this.relayMode.forward(Array.from(this.opts.awareness.getStates().keys()));
      if (ids.length) this.send(encodeAwarenessOf(this.opts.awareness, ids));
    } else if (this.opts.awareness.getLocalState() !== null) {
      this.send(encodeAwarenessOf(this.opts.awareness, [this.opts.doc.clientID]));
    }
  }

  private onMessage(buf: Uint8Array): void {
    const d = decoding.createDecoder(buf);
    const type = decoding.readVarUint(d);
    switch (type) {
      case MSG_SYNC: {
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, MSG_SYNC);
        const before = docState(this.opts.doc);
        const sub = syncProtocol.readSyncMessage(d, e, this.opts.doc, this.origin);
        if (encoding.length(e) > 1) {
          const answer = encoding.toUint8Array(e);
          const hold = this.opts.holdSyncAnswer;
          const ws = this.ws;
          if (hold && sub === syncProtocol.messageYjsSyncStep1) {
            // One answer held per socket: the relay's state only grows on one socket, so the held answer
            // covers a later request too (what came since goes up as durable updates), and a relay that
            // asks again and again cannot pile up copies of the document here.
            if (this.answerHeldFor !== ws) {
              this.answerHeldFor = ws;
              hold(() => {
                if (this.answerHeldFor === ws) this.answerHeldFor = null;
                // Only for this socket: a reconnect makes a new exchange.
                if (this.ws === ws) this.send(answer);
              });
            }
          } else this.send(answer);
        }
        // The relay sends only what it has stored: whatever it just gave us is durable there.
        const grown = grownSince(this.opts.doc, before);
        if (grown.size > 0) this.mergeDurable(grown);
        if (sub === syncProtocol.messageYjsSyncStep2 && !this.synced) {
          this.synced = true;
          this.backoff.reset();
          this.lastSyncedAt = Date.now();
          this.emit('synced', []);
          this.updateAuthority();
        }
        break;
      }
      case MSG_AWARENESS: {
        const update = decoding.readVarUint8Array(d);
        const aw = this.opts.awareness;
        if (this.relayMode) {
          const raw = readAwarenessEntries(update);
          const echoes = this.relayMode.receive(raw);
          awarenessProtocol.applyAwarenessUpdate(aw, update, this.origin);
          this.emit('awareness', [raw]);
          // After the frame is applied: whatever the upstream ordered before these is in place.
          if (echoes.length) this.emit('echo', [echoes]);
          break;
        }
        const mine = aw.getLocalState();
        awarenessProtocol.applyAwarenessUpdate(aw, update, this.origin);
        // The relay may echo our state with a lifted clock (after a reconnect); that echo can be
        // older than what we hold now, so put our own state back on top of it.
        if (mine !== null && aw.getLocalState() !== mine) aw.setLocalState(mine);
        this.emit('awareness', [readAwarenessEntries(update)]);
        break;
      }
      case MSG_QUERY_AWARENESS:
        this.send(encodeAwarenessOf(this.opts.awareness, Array.from(this.opts.awareness.getStates().keys())));
        break;
      case MSG_STORED:
        this.mergeDurable(Y.decodeStateVector(decoding.readVarUint8Array(d)));
        // A huddle server tells its authority (if it has any doubt about it) before its first ack.
        this.authorityKnown = true;
        this.updateAuthority();
        break;
      case MSG_RELAY_STATUS:
        this.relayAuthoritative = decoding.readVarUint(d) === 1;
        this.authorityKnown = true;
        this.updateAuthority();
        break;
      case MSG_AUTH: {
        decoding.readVarUint(d);
        this.emit('denied', [decoding.readVarString(d)]);
        break;
      }
      default:
        break; // unknown messages from a newer relay are ignored
    }
  }

  private mergeDurable(sv: Map<number, number>): void {
    this.acks.merge(sv);
    this.emit('stored', [this.durable]);
  }

  private onClose(ws: SocketLike, ev: { code: number; reason: string }): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.synced = false;
    this.emit('dropped', [{ code: ev.code, reason: ev.reason }]);
    this.authorityKnown = false;
    this.updateAuthority();
    if (this.relayMode) {
      // Upstream states time out on their own (the room's awareness timeout) unless the link returns first.
      this.setStatus('disconnected');
    } else {
      // Remote states are only known through the relay; forget them until we are back.
      const others = Array.from(this.opts.awareness.getStates().keys()).filter((id) => id !== this.opts.doc.clientID);
      if (others.length) awarenessProtocol.removeAwarenessStates(this.opts.awareness, others, this.origin);
      // Forget their clocks too, so that the states the relay sends on reconnect are taken as new.
      for (const id of others) this.opts.awareness.meta.delete(id);
    }
    if (ev.code >= 4400 && ev.code < 4500) {
      this.shouldConnect = false;
      this.closeInfo = { code: ev.code, reason: ev.reason };
      this.setStatus('closed');
      this.emit('closed', [this.closeInfo]);
      return;
    }
    this.setStatus('disconnected');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.shouldConnect || this.destroyed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => this.open(), this.backoff.next());
  }

  private dropSocket(): void {
    const ws = this.ws;
    if (!ws) return;
    try {
      ws.close();
    } catch {
      /* already closing */
    }
    this.onClose(ws, { code: 1000, reason: 'client closed' });
  }

  private send(frame: Uint8Array): void {
    const ws = this.ws;
    if (ws && ws.readyState === OPEN) {
      try {
        ws.send(frame);
      } catch {
        this.dropSocket();
      }
    }
  }

  /** Send one doc update to the relay now (dropped while disconnected: the next sync carries it). */
  sendUpdate(update: Uint8Array): void {
    this.send(encodeUpdate(update));
  }

  private onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin !== this.origin) this.send(encodeUpdate(update));
  };

  private onAwarenessUpdate = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void => {
    if (origin === this.origin) return;
    if (this.relayMode) {
      const ids = this.relayMode.forward(added.concat(updated, removed));
      if (ids.length) this.send(encodeAwarenessOf(this.opts.awareness, ids));
      return;
    }
    const changed = added.concat(updated, removed).filter((id) => id === this.opts.doc.clientID);
    if (changed.length) this.send(encodeAwarenessOf(this.opts.awareness, changed));
  };
}

