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
 *
 * Beside it: `room-peer.ts` (the peer interface, per-peer state, acks and
 * broadcast), `peer-input.ts` (admitting a peer's updates and awareness),
 * `idle-unload.ts` (holds and the idle timer).
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { Persistence, StoredDoc } from '../src/store/persistence.js';
import {
  encodeAwarenessOf,
  encodeRelayStatus,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncStep1FromSV,
  encodeSyncStep2FromUpdate,
  type ClientMessage,
  ProtocolError,
  CLOSE_UNSUPPORTED,
} from '../src/protocol/messages.js';
import { LOAD, originOf } from '../src/protocol/origin.js';
import { DurablePipeline, type DurableBatch } from './pipeline.js';
import { AwarenessGate } from './awareness-gate.js';
import { CLOSE_TRY_AGAIN } from '../src/protocol/messages.js';
import { admitAwareness, applyPeerUpdate, isEmptyUpdate, type InputContext } from './peer-input.js';
import { broadcast, newPeerState, scheduleAck, type PeerState, type RoomPeer } from './room-peer.js';
import { IdleUnload } from './idle-unload.js';
import type { ServerConfig } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

export type { PeerState, RoomPeer } from './room-peer.js';

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

/** What a room needs of its link to a team relay (upstream.ts). */
export interface UpstreamOrder {
  /** True while the team relay's order is authoritative for this room (link connected and synced). */
  readonly authoritative: boolean;
}

/** How long after loading the stored state is applied to the doc, unless needed earlier. */
const APPLY_DELAY_MS = 250;

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
  private readonly input: InputContext;
  /** The stored state read at load time, until it is applied to `doc`. */
  private stored: StoredDoc | null = null;
  private applied = false;
  /** Holds (HTTP API calls, hosted sessions) and the idle timer. */
  private readonly idle: IdleUnload;
  private unloading = false;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    readonly name: string,
    private readonly ctx: RoomContext,
    private readonly onUnload: (room: Room) => void,
  ) {
    this.awareness = new awarenessProtocol.Awareness(this.doc);
    this.input = { project: name, doc: this.doc, config: ctx.config, log: ctx.log, metrics: ctx.metrics, writesRefused: () => ctx.writesRefused?.() ?? null };
    this.idle = new IdleUnload(ctx.config.idleUnloadMs, () => this.peers.size > 0, () => !this.destroyed, () => void this.unload());
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
    this.peers.set(peer, newPeerState());
    this.idle.cancel();
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
      case 'update':
        if (applyPeerUpdate(this.input, peer, state, msg.update) && state.storedSubscribed) this.scheduleAck(peer, state);
        return;
      case 'awareness':
        if (admitAwareness(this.input, state, msg.update)) this.gate.apply(peer, state, msg.update);
        return;
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

  /** Acknowledge to `peer` once everything it sent so far is durable (room-peer.ts). */
  private scheduleAck(peer: RoomPeer, state: PeerState): void {
    scheduleAck(this.pipeline, peer, state, () => this.peers.has(peer), () => this.durableStateVector);
  }

  /** Send a durable batch to every peer but its sender (room-peer.ts). */
  private broadcast = (batch: DurableBatch): void => {
    if (this.peers.size > 0) broadcast(this.peers.keys(), batch, this.ctx.metrics);
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
    return this.idle.hold();
  }

  private maybeScheduleIdle(): void {
    this.idle.maybeSchedule();
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
      if (!this.idle.idle || !this.pipeline.settled) {
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
    this.idle.cancel();
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
    this.idle.cancel();
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
