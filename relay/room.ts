/**
 * One project's document on the server: its Y.Doc and awareness, the peers
 * connected to it (with their per-peer state), protocol dispatch, and its
 * lifetime (load, deferred apply, idle unload, shutdown).
 *
 * Writes go through the durable pipeline (pipeline.ts): a peer's update is
 * applied to the doc (which validates it), appended to the persistence at the
 * end of the tick, and only then broadcast, acknowledged and announced to
 * everyone else listening (`onDurable`). Sync answers are computed at once and
 * sent once everything they contain is durable. So whatever any peer has seen
 * survives `kill -9` of the server. Awareness goes through the gate
 * (awareness-gate.ts) and is never stored.
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { Persistence, StoredDoc } from '../src/store/persistence.js';
import {
  encodeAwarenessOf,
  encodePermissionDenied,
  encodeRelayStatus,
  encodeStored,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncStep1FromSV,
  encodeSyncStep2FromUpdate,
  encodeUpdate,
  CLOSE_MALFORMED,
  type ClientMessage,
  ProtocolError,
  CLOSE_UNSUPPORTED,
  CLOSE_RATE_LIMIT,
} from '../src/protocol/messages.js';
import { AwarenessBudget, awarenessEntryCount } from './rate-limit.js';
import { LOAD, originOf } from '../src/protocol/origin.js';
import { DurablePipeline, type DurableBatch } from './pipeline.js';
import { AwarenessGate } from './awareness-gate.js';
import type { ServerConfig } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { beforeApply, dropPending, pendingProblem } from '../src/protocol/pending.js';
import { CLOSE_POLICY, CLOSE_TRY_AGAIN } from '../src/protocol/messages.js';

/** What a room needs of a connection. Implemented over `ws` in connection.ts; it is its own transaction origin. */
export interface RoomPeer {
  readonly kind: 'connection';
  readonly id: number;
  readonly readOnly: boolean;
  send(frame: Uint8Array): void;
  /** Optional: hold writes until uncork, so that a batch leaves in one system call. */
  cork?(): void;
  uncork?(): void;
  close(code: number, reason: string): void;
}

/** What the room keeps per peer. */
export interface PeerState {
  /** Awareness client IDs this peer has published; removed when it leaves (made on first use). */
  awarenessIds: Set<number> | null;
  /** Opted in to MSG_STORED acknowledgements. */
  storedSubscribed: boolean;
  /** Highest pipeline sequence this peer awaits an ack for. */
  ackSeq: number;
  ackScheduled: boolean;
  deniedOnce: boolean;
  /** Inbound awareness budget (rate-limit.ts); made on the first awareness frame. */
  awarenessBudget: AwarenessBudget | null;
}

export interface RoomContext {
  persistence: Persistence;
  config: ServerConfig;
  log: Logger;
  metrics: Metrics;
  /** Called with false when a write fails and true when writes succeed again. */
  setPersistenceHealthy(ok: boolean): void;
  /** Why writes are refused right now (a remote store is unreachable), or null. */
  writesRefused?(): string | null;
  /** A remote store refused a write of this room: the room has dropped itself (Room.abandon). */
  storeRefused?(room: Room, err: Error): void;
}

/** Reason sent with CLOSE_TRY_AGAIN. */
export const STORE_UNAVAILABLE = 'the relay cannot store writes now (database unavailable); try again later';

/** How long after loading the stored state is applied to the doc, unless needed earlier. */
const APPLY_DELAY_MS = 250;

/** Yjs's encoding of an update that holds nothing (no structs, no deletions). */
function isEmptyUpdate(u: Uint8Array): boolean {
  return u.length === 2 && u[0] === 0 && u[1] === 0;
}

/** What a room needs of its link to a team relay (upstream.ts). */
export interface UpstreamOrder {
  /** True while the team relay's order is authoritative for this room (link connected and synced). */
  readonly authoritative: boolean;
}

export class Room {
  readonly doc = new Y.Doc();
  readonly awareness: awarenessProtocol.Awareness;
  /** Connected peers and what the room keeps for each. */
  readonly peers = new Map<RoomPeer, PeerState>();
  /**
   * Set while this room syncs with a team relay: then the team relay's order decides locks.
   * Peers that subscribed to acks learn whether it is authoritative now (MSG_RELAY_STATUS),
   * and while it is, a peer's awareness update is echoed back to it by the upstream link in
   * the team relay's order (see awareness-gate.ts), not at once.
   */
  upstream: UpstreamOrder | null = null;
  /** Resolves once the persisted state is in `doc`; rejects when loading failed. */
  readonly ready: Promise<void>;
  isReady = false;
  destroyed = false;

  private readonly pipeline: DurablePipeline;
  private readonly gate: AwarenessGate;
  /** The stored state read at load time, until it is applied to `doc`. */
  private stored: StoredDoc | null = null;
  private applied = false;
  /** Keeps the room loaded while > 0 (HTTP API calls, hosted sessions). */
  private holds = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private unloading = false;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    readonly name: string,
    private readonly ctx: RoomContext,
    private readonly onUnload: (room: Room) => void,
  ) {
    this.awareness = new awarenessProtocol.Awareness(this.doc);
    // The server itself is not a participant.
    this.awareness.setLocalState(null);
    this.gate = new AwarenessGate({ awareness: this.awareness, peers: this.peers, upstreamAuthoritative: () => !!this.upstream?.authoritative, log: ctx.log, metrics: ctx.metrics }, ctx.config.awarenessTimeoutMs);
    this.pipeline = new DurablePipeline({
      doc: name,
      persistence: ctx.persistence,
      config: ctx.config,
      log: ctx.log,
      metrics: ctx.metrics,
      setPersistenceHealthy: ctx.setPersistenceHealthy,
      // Never compact an unapplied doc: it would replace the stored state with an empty one.
      encodeState: () => (this.applied && !this.destroyed ? Y.encodeStateAsUpdate(this.doc) : null),
      onIdle: () => this.maybeScheduleIdle(),
      onAppendRefused: ctx.persistence.remote ? (err) => this.abandon(err) : undefined,
    });
    // First on the bus: the other peers see a batch before anyone else hears of it.
    this.pipeline.onDurable(this.broadcast);
    this.ready = this.load();
    // A load failure is handled in load(); keep an unobserved rejection from crashing the process.
    this.ready.catch(() => {});
  }

  private async load(): Promise<void> {
    const t0 = performance.now();
    const loaded = await this.ctx.persistence.load(this.name).catch((err: Error) => {
      this.ctx.log.error('loading document failed', { project: this.name, error: err.message });
      this.ctx.setPersistenceHealthy(false);
      // The server drops this room: release what it holds.
      this.destroyed = true;
      this.gate.destroy();
      this.awareness.destroy();
      this.ctx.persistence.forget(this.name);
      this.ctx.storeRefused?.(this, err);
      throw err;
    });
    this.stored = loaded;
    this.isReady = true;
    this.ctx.metrics.docsLoaded++;
    this.ctx.log.debug('document read', { project: this.name, records: loaded.records, bytes: loaded.bytes, ms: Math.round(performance.now() - t0) });
    // Applying a large state to the Y.Doc takes a while; the first sync answers are served from the
    // stored bytes meanwhile (Y.diffUpdate), and the doc is applied right after, or at once when needed.
    // Not at once: applying blocks the event loop, and the first answers (possibly large) should
    // leave the socket first. Whatever needs the doc earlier applies it then.
    setTimeout(() => this.ensureApplied(), APPLY_DELAY_MS).unref();
  }

  /** Apply the stored state to `doc` if that has not happened yet. Call before using `doc`. */
  ensureApplied(): void {
    if (this.applied || !this.stored || this.destroyed) return;
    const loaded = this.stored;
    this.stored = null;
    this.applied = true;
    const t0 = performance.now();
    if (loaded.update) Y.applyUpdate(this.doc, loaded.update, LOAD);
    this.doc.on('update', this.onDocUpdate);
    this.ctx.log.debug('document applied', { project: this.name, ms: Math.round(performance.now() - t0) });
    this.pipeline.loaded(loaded);
  }

  private onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    this.pipeline.enqueue(update, originOf(origin));
  };

  // ---- the durable bus -----------------------------------------------------

  /** Hear every batch of updates once it is durable (broadcast to peers first). Returns the unsubscribe function. */
  onDurable(fn: (batch: DurableBatch) => void): () => void {
    return this.pipeline.onDurable(fn);
  }

  /** Run `fn` once everything applied to the doc so far is durable. */
  afterDurable(fn: () => void): void {
    this.pipeline.afterDurable(fn);
  }

  /**
   * For Y.Doc observers: run `fn` once the transaction being observed now (whose update is
   * enqueued only after its observers ran) is durable.
   */
  afterObservedDurable(fn: () => void): void {
    queueMicrotask(() => (this.destroyed ? undefined : this.pipeline.afterDurable(fn)));
  }

  whenDurable(): Promise<void> {
    return this.pipeline.whenDurable();
  }

  /** Resolves once everything is durable and also in the long-term store. */
  whenPersisted(): Promise<void> {
    return this.pipeline.whenPersisted();
  }

  /** State vector of what is durably stored. */
  get durableStateVector(): Uint8Array {
    // Only asked for when nothing is pending (see scheduleAck): then the doc holds exactly
    // what is durable, and nothing is computed on the write path.
    return this.stored ? Y.encodeStateVectorFromUpdate(this.stored.update ?? Y.encodeStateAsUpdate(this.doc)) : Y.encodeStateVector(this.doc);
  }

  // ---- peers -------------------------------------------------------------

  addPeer(peer: RoomPeer): void {
    this.peers.set(peer, { awarenessIds: null, storedSubscribed: false, ackSeq: 0, ackScheduled: false, deniedOnce: false, awarenessBudget: null });
    this.cancelIdle();
    // Our sync step 1 asks the client for what it has that we lack.
    if (!this.applied && this.stored) peer.send(encodeSyncStep1FromSV(this.stored.update ? Y.encodeStateVectorFromUpdate(this.stored.update) : Y.encodeStateVector(this.doc)));
    else peer.send(encodeSyncStep1(this.doc));
    if (this.awareness.getStates().size > 0) {
      peer.send(encodeAwarenessOf(this.awareness, Array.from(this.awareness.getStates().keys())));
    }
  }

  removePeer(peer: RoomPeer): void {
    const state = this.peers.get(peer);
    if (!state) return;
    this.peers.delete(peer);
    this.gate.peerLeft(peer, state);
    this.maybeScheduleIdle();
  }

  /**
   * Send the awareness changes still queued for broadcast now. A frame sent to one peer
   * outside the broadcast (an upstream echo) must not overtake states applied before it:
   * a lock is confirmed on its echo, with every claim ordered before it in view.
   */
  flushAwareness(): void {
    if (!this.destroyed) this.gate.flush();
  }

  /** Send `frame` to every peer that opted in to acknowledgements (and relay status). */
  sendToSubscribed(frame: Uint8Array): void {
    for (const [p, st] of this.peers) if (st.storedSubscribed) p.send(frame);
  }

  /** Handle one decoded message from a peer. Throws ProtocolError for bad input. */
  handle(peer: RoomPeer, msg: ClientMessage): void {
    const state = this.peers.get(peer);
    if (!state) return;
    // Only document updates need the doc; a fresh client's empty reply (two zero bytes) does not.
    if ((msg.type === 'sync-step2' || msg.type === 'update') && !isEmptyUpdate(msg.update)) this.ensureApplied();
    switch (msg.type) {
      case 'sync-step1': {
        if (!this.applied && this.stored) {
          // Straight from the stored bytes, all durable: no need to wait for the doc.
          // A fresh client (empty state vector) gets the stored bytes as they are.
          const fresh = msg.stateVector.length === 1 && msg.stateVector[0] === 0;
          const u = this.stored.update;
          peer.send(encodeSyncStep2FromUpdate(u ? (fresh ? u : Y.diffUpdate(u, msg.stateVector)) : Y.encodeStateAsUpdate(this.doc)));
          return;
        }
        // Computed now, sent once everything in it is durable.
        const answer = encodeSyncStep2(this.doc, msg.stateVector);
        this.pipeline.afterDurable(() => peer.send(answer));
        return;
      }
      case 'sync-step2':
      case 'update': {
        this.ctx.metrics.updatesIn++;
        if (peer.readOnly) {
          if (!state.deniedOnce) {
            state.deniedOnce = true;
            peer.send(encodePermissionDenied('read-only token: document updates are refused'));
            this.ctx.log.info('update refused from read-only client', { project: this.name, peer: peer.id });
          }
          return;
        }
        const refused = !isEmptyUpdate(msg.update) ? this.ctx.writesRefused?.() : null;
        if (refused) {
          // Not applied: the client keeps the update and sends it again when it reconnects.
          this.ctx.metrics.writesRefused++;
          peer.close(CLOSE_TRY_AGAIN, refused);
          return;
        }
        try {
          beforeApply(this.doc, peer);
          if (!isEmptyUpdate(msg.update)) Y.applyUpdate(this.doc, msg.update, peer);
        } catch (err) {
          throw new ProtocolError(`update could not be applied: ${(err as Error).message}`, CLOSE_MALFORMED);
        }
        // Updates whose dependencies never arrive are bounded (src/protocol/pending.ts).
        const pendingIssue = pendingProblem(this.doc, peer);
        if (pendingIssue) {
          dropPending(this.doc);
          this.ctx.metrics.pendingOverflows++;
          throw new ProtocolError(pendingIssue, CLOSE_POLICY);
        }
        if (state.storedSubscribed) this.scheduleAck(peer, state);
        return;
      }
      case 'awareness': {
        this.ctx.metrics.awarenessIn++;
        // One client flooding awareness must not stall the others: bounded per connection.
        const now = Date.now();
        const budget = (state.awarenessBudget ??= new AwarenessBudget(this.ctx.config.awarenessRate, this.ctx.config.awarenessBurst, now));
        const verdict = budget.charge(awarenessEntryCount(msg.update), now);
        if (verdict !== 'ok') {
          this.ctx.metrics.awarenessThrottled++;
          if (verdict === 'close') throw new ProtocolError(`awareness rate limit exceeded (at most ${this.ctx.config.awarenessRate} entries a second)`, CLOSE_RATE_LIMIT);
          return;
        }
        this.gate.apply(peer, state, msg.update);
        return;
      }
      case 'query-awareness':
        this.gate.answerQuery(peer);
        return;
      case 'stored-subscribe':
        state.storedSubscribed = true;
        // With an upstream, say first whether our awareness order is authoritative (see messages.ts).
        if (this.upstream) peer.send(encodeRelayStatus(this.upstream.authoritative));
        this.scheduleAck(peer, state);
        return;
      case 'auth':
        return; // clients have nothing to say in the auth protocol; ignore
      case 'stored':
        throw new ProtocolError('stored acknowledgements are sent by servers, not clients', CLOSE_UNSUPPORTED);
    }
  }

  /** Acknowledge to `peer` once everything it sent so far is durable (coalesced per peer). */
  private scheduleAck(peer: RoomPeer, state: PeerState): void {
    state.ackSeq = this.pipeline.seq;
    if (state.ackScheduled) return;
    state.ackScheduled = true;
    const fire = () => {
      if (!this.pipeline.isDurable(state.ackSeq)) return this.pipeline.waitFor(state.ackSeq, fire);
      state.ackScheduled = false;
      if (this.peers.has(peer)) peer.send(encodeStored(this.durableStateVector));
    };
    this.pipeline.afterDurable(fire);
  }

  /**
   * Send a durable batch: one frame per update (merging a large batch costs more than
   * sending it: Y.mergeUpdates grows faster than linearly), each to every peer but its
   * sender, written in one go per peer by corking its socket.
   */
  private broadcast = (batch: DurableBatch): void => {
    if (this.peers.size === 0) return;
    const frames = batch.map((p) => encodeUpdate(p.update));
    for (const peer of this.peers.keys()) {
      peer.cork?.();
      for (let i = 0; i < batch.length; i++) {
        if (batch[i].origin === peer) continue;
        peer.send(frames[i]);
        this.ctx.metrics.updatesOut++;
      }
      peer.uncork?.();
    }
  };

  // ---- lifetime ----------------------------------------------------------

  /** Run `fn` when the room is unloaded or the server shuts down. */
  onDestroy(fn: () => void): void {
    this.cleanups.push(fn);
  }

  private runCleanups(): void {
    this.pipeline.stop();
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch (err) {
        this.ctx.log.warn('room cleanup failed', { project: this.name, error: (err as Error).message });
      }
    }
  }

  /** Keep the room loaded until the returned function is called. */
  hold(): () => void {
    this.holds++;
    this.cancelIdle();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.maybeScheduleIdle();
    };
  }

  private cancelIdle(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
  }

  private maybeScheduleIdle(): void {
    if (this.destroyed || this.idleTimer || this.peers.size > 0 || this.holds > 0) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.peers.size === 0 && this.holds === 0) void this.unload();
    }, this.ctx.config.idleUnloadMs);
    this.idleTimer.unref();
  }

  /** Flush, compact if the log has grown, and drop the document from memory. */
  async unload(): Promise<void> {
    if (this.destroyed || this.unloading) return;
    this.unloading = true;
    try {
      // Compaction goes through the write pipeline (never beside it), on the applied doc.
      this.ensureApplied();
      if (this.isReady) this.pipeline.compactOnSettle();
      // Updates may keep arriving (an upstream link): settle a few times, else try again later.
      for (let i = 0; i < 5 && !this.pipeline.settled; i++) await this.whenPersisted();
      await this.whenPersisted();
      if (this.peers.size > 0 || this.holds > 0 || !this.pipeline.settled) {
        this.maybeScheduleIdle();
        return; // someone came back, or writes are still coming
      }
      // From here on synchronous: nobody can join or write in between, and a room created for the
      // same project after this point loads from the store, which has everything.
      this.destroyed = true;
      this.onUnload(this);
      this.ctx.persistence.forget(this.name);
      this.release();
      this.ctx.metrics.docsUnloaded++;
      this.ctx.log.debug('document unloaded', { project: this.name });
    } finally {
      this.unloading = false;
    }
  }

  /**
   * The remote store refused a write: the doc now holds updates that are not stored. Drop
   * the room (so nobody is served them) and close every peer with CLOSE_TRY_AGAIN; peers
   * keep their updates and send them again to the room loaded afresh once the store is back.
   */
  abandon(err: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.cancelIdle();
    const fenced = (err as Error & { code?: string }).code === 'FENCED';
    // A lease ends with its database connection: in an outage that comes first, so say both.
    const reason = fenced ? 'this node lost the ownership of the project (database connection lost); reconnect or try again later' : STORE_UNAVAILABLE;
    for (const peer of Array.from(this.peers.keys())) peer.close(CLOSE_TRY_AGAIN, reason);
    this.onUnload(this);
    this.ctx.persistence.forget(this.name);
    this.release();
    this.ctx.storeRefused?.(this, err);
  }

  /** Server shutdown: wait for every queued write (the long-term store included, for up to `timeoutMs`), then compact. */
  async shutdown(timeoutMs = 5000): Promise<void> {
    this.cancelIdle();
    if (this.isReady) {
      // Applied first: the compaction below encodes the doc, which must hold the stored state.
      this.ensureApplied();
      // Leave one record per document, so that the next start loads it fast.
      this.pipeline.compactOnSettle();
      let timedOut = false;
      const timer = new Promise<void>((resolve) => setTimeout(() => ((timedOut = true), resolve()), timeoutMs).unref());
      await Promise.race([this.whenPersisted(), timer]);
      if (timedOut || !this.pipeline.settled) this.ctx.log.error('shutdown: the store did not take every update in time; they stay in the log and are replayed at the next start', { project: this.name });
    }
    this.destroyed = true;
    // The persistence keeps whatever is not committed yet for the next start.
    if (this.isReady) this.ctx.persistence.forget(this.name);
    this.release();
  }

  private release(): void {
    this.runCleanups();
    this.gate.destroy();
    this.awareness.destroy();
    this.doc.destroy();
  }
}
