/**
 * One project's document on the server: its Y.Doc, its awareness, the peers
 * connected to it, and the write pipeline that stores every update in
 * LevelDB before anyone else sees it.
 *
 * Pipeline: a peer's update is applied to the doc (which validates it), queued,
 * and committed to LevelDB in a group commit; only after the commit succeeds
 * is it broadcast to the other peers and acknowledged to its sender. Sync
 * answers are likewise computed at once and sent once everything they contain
 * is durable. So whatever any peer has seen survives `kill -9` of the server.
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { DocStore } from '../src/store/doc-store.js';
import { DocWal, walDir } from '../src/store/wal.js';
import {
  encodeAwareness,
  encodeAwarenessOf,
  encodePermissionDenied,
  encodeRelayStatus,
  encodeStored,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncStep1FromSV,
  readAwarenessEntries,
  encodeAwarenessUpdateOf,
  type AwarenessEntryRaw,
  encodeSyncStep2FromUpdate,
  encodeUpdate,
  CLOSE_MALFORMED,
  type ClientMessage,
  ProtocolError,
  CLOSE_UNSUPPORTED,
} from '../src/protocol/messages.js';
import type { ServerConfig } from './config.js';
import { screenPresence, sessionOwners, takeoverAllowed } from './presence-screen.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { AwarenessBatcher } from './awareness-batch.js';
import { guarded } from './guard.js';
import { beforeApply, dropPending, pendingProblem } from '../src/protocol/pending.js';
import { CLOSE_POLICY } from '../src/protocol/messages.js';

/** What a room needs of a connection. Implemented over `ws` in connection.ts. */
export interface RoomPeer {
  readonly id: number;
  readonly readOnly: boolean;
  send(frame: Uint8Array): void;
  /** Optional: hold writes until uncork, so that a batch leaves in one system call. */
  cork?(): void;
  uncork?(): void;
  close(code: number, reason: string): void;
  /** Awareness client IDs this peer has published; removed when it leaves. */
  readonly awarenessIds: Set<number>;
  /** Opted in to MSG_STORED acknowledgements. */
  storedSubscribed: boolean;
  /** Internal: highest pipeline sequence this peer awaits an ack for. */
  ackSeq: number;
  ackScheduled: boolean;
  deniedOnce: boolean;
}

export interface RoomContext {
  store: DocStore;
  config: ServerConfig;
  log: Logger;
  metrics: Metrics;
  /** Called with false when a commit fails and true when commits succeed again. */
  setPersistenceHealthy(ok: boolean): void;
}

/** Bounds on awareness client IDs: per frame, and per connection. */
const MAX_AWARENESS_PER_FRAME = 1000;
const MAX_AWARENESS_PER_PEER = 1000;
/** A peer gets at most one full awareness answer per this interval. */
const QUERY_INTERVAL_MS = 1000;


/** How long after loading the stored state is applied to the doc, unless needed earlier. */
const APPLY_DELAY_MS = 250;

/** Yjs's encoding of an update that holds nothing (no structs, no deletions). */
function isEmptyUpdate(u: Uint8Array): boolean {
  return u.length === 2 && u[0] === 0 && u[1] === 0;
}

/** LevelDB commits wait this long to group updates, unless DB_BATCH_UPDATES are queued. */
const DB_COMMIT_DELAY_MS = 20;
const DB_BATCH_UPDATES = 2000;

/** How long a room must go without updates before a due compaction runs. */
const COMPACT_QUIET_MS = 200;

/** Origin of updates applied while loading from LevelDB: never stored again. */
const LOAD_ORIGIN = Symbol('load');

interface Pending {
  update: Uint8Array;
  origin: unknown;
}

/** What a room needs of its link to a team relay (upstream.ts). */
export interface UpstreamOrder {
  /** True while the team relay's order is authoritative for this room (link connected and synced). */
  readonly authoritative: boolean;
}

export class Room {
  readonly doc = new Y.Doc();
  readonly awareness: awarenessProtocol.Awareness;
  readonly peers = new Set<RoomPeer>();
  /**
   * Set while this room syncs with a team relay: then the team relay's order decides locks.
   * Peers that subscribed to acks learn whether it is authoritative now (MSG_RELAY_STATUS),
   * and while it is, a peer's awareness update is echoed back to it by the upstream link in
   * the team relay's order (see onAwarenessUpdate), not at once.
   */
  upstream: UpstreamOrder | null = null;
  /** Set while applying a peer's awareness update whose clock reviveClocks lifted. */
  private revived = false;
  /** Resolves once the persisted state is in `doc`; rejects when loading failed. */
  readonly ready: Promise<void>;
  isReady = false;
  destroyed = false;

  private pending: Pending[] = [];
  private enqueuedSeq = 0;
  private flushedSeq = 0;
  private writing = false;
  /** Compact at the next commit even if the thresholds are not reached. */
  private forceCompact = false;
  private retryDelay = 100;
  private readonly wal: DocWal;
  private dbQueue: Uint8Array[] = [];
  private dbWriting = false;
  private dbRetryDelay = 100;
  private dbDrained: Array<() => void> = [];
  private retiredLogs: string[] = [];
  private walOk = true;
  private dbOk = true;
  private waiters: Array<{ seq: number; fn: () => void }> = [];
  /** State vector of what is durably stored. */
  get durableStateVector(): Uint8Array {
    // Only asked for when nothing is pending (see scheduleAck): then the doc holds exactly
    // what is durable, and nothing is computed on the write path.
    return this.stored ? Y.encodeStateVectorFromUpdate(this.stored.update ?? Y.encodeStateAsUpdate(this.doc)) : Y.encodeStateVector(this.doc);
  }
  /** Keeps the room loaded while > 0 (HTTP API calls, hosted sessions). */
  private holds = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private reaper: NodeJS.Timeout;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    readonly name: string,
    private readonly ctx: RoomContext,
    private readonly onUnload: (room: Room) => void,
  ) {
    this.wal = new DocWal(walDir(ctx.config.dataDir), name, ctx.config.fsync);
    this.awareness = new awarenessProtocol.Awareness(this.doc);
    // The server itself is not a participant.
    this.awareness.setLocalState(null);
    this.awarenessOut = new AwarenessBatcher(this.awareness, this.peers, ctx.metrics);
    this.awareness.on('update', this.onAwarenessUpdate);
    const timeout = ctx.config.awarenessTimeoutMs;
    this.reaper = setInterval(guarded(ctx.log, ctx.metrics, 'awareness reaper', () => this.reapAwareness(timeout)), Math.max(100, Math.min(3000, Math.floor(timeout / 10))));
    this.reaper.unref();
    this.ready = this.load();
    // A load failure is handled in load(); keep an unobserved rejection from crashing the process.
    this.ready.catch(() => {});
  }

  private async load(): Promise<void> {
    const t0 = performance.now();
    const loaded = await this.ctx.store.load(this.name).catch((err: Error) => {
      this.ctx.log.error('loading document failed', { project: this.name, error: err.message });
      this.ctx.setPersistenceHealthy(false);
      // The server drops this room: release what it holds.
      this.destroyed = true;
      clearInterval(this.reaper);
      this.awareness.destroy();
      this.wal.closeCurrent();
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

  /** The stored state read at load time, until it is applied to `doc`. */
  private stored: { update: Uint8Array | null; records: number; bytes: number } | null = null;
  private applied = false;

  /** Apply the stored state to `doc` if that has not happened yet. Call before using `doc`. */
  ensureApplied(): void {
    if (this.applied || !this.stored || this.destroyed) return;
    const loaded = this.stored;
    this.stored = null;
    this.applied = true;
    const t0 = performance.now();
    if (loaded.update) Y.applyUpdate(this.doc, loaded.update, LOAD_ORIGIN);
    this.doc.on('update', this.onDocUpdate);
    this.ctx.log.debug('document applied', { project: this.name, ms: Math.round(performance.now() - t0) });
    // A long log left by an earlier process is compacted now rather than on every later load.
    if (loaded.records > this.ctx.config.compactRecords || loaded.bytes > this.ctx.config.compactBytes) {
      this.forceCompact = true;
      void this.commitToDb();
    }
  }

  // ---- peers -------------------------------------------------------------

  addPeer(peer: RoomPeer): void {
    this.peers.add(peer);
    this.cancelIdle();
    // Our sync step 1 asks the client for what it has that we lack.
    if (!this.applied && this.stored) peer.send(encodeSyncStep1FromSV(this.stored.update ? Y.encodeStateVectorFromUpdate(this.stored.update) : Y.encodeStateVector(this.doc)));
    else peer.send(encodeSyncStep1(this.doc));
    if (this.awareness.getStates().size > 0) {
      peer.send(encodeAwarenessOf(this.awareness, Array.from(this.awareness.getStates().keys())));
    }
  }

  removePeer(peer: RoomPeer): void {
    if (!this.peers.delete(peer)) return;
    // Not the IDs another connection has taken over since (a reconnect whose old socket lingered).
    const ids = Array.from(peer.awarenessIds).filter((id) => this.awareness.getStates().has(id) && this.owners.get(id) === peer);
    // Broadcast the removal at once, with clock + 1 so that it beats the last state every
    // peer holds, instead of letting peers time out after 30 s.
    if (ids.length > 0) removeWithNextClock(this.awareness, ids, 'disconnect');
    this.maybeScheduleIdle();
  }

  /** Handle one decoded message from a peer. Throws ProtocolError for bad input. */
  handle(peer: RoomPeer, msg: ClientMessage): void {
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
        this.afterDurable(() => peer.send(answer));
        return;
      }
      case 'sync-step2':
      case 'update': {
        this.ctx.metrics.updatesIn++;
        if (peer.readOnly) {
          if (!peer.deniedOnce) {
            peer.deniedOnce = true;
            peer.send(encodePermissionDenied('read-only token: document updates are refused'));
            this.ctx.log.info('update refused from read-only client', { project: this.name, peer: peer.id });
          }
          return;
        }
        try {
          beforeApply(this.doc, peer);
          if (!isEmptyUpdate(msg.update)) Y.applyUpdate(this.doc, msg.update, peer);
        } catch (err) {
          throw new ProtocolError(`update could not be applied: ${(err as Error).message}`, CLOSE_MALFORMED);
        }
        const pendingIssue = pendingProblem(this.doc, peer);
        if (pendingIssue) {
          dropPending(this.doc);
          this.ctx.metrics.pendingOverflows++;
          throw new ProtocolError(pendingIssue, CLOSE_POLICY);
        }
        if (peer.storedSubscribed) this.scheduleAck(peer);
        return;
      }
      case 'awareness': {
        this.ctx.metrics.awarenessIn++;
        try {
          const { update, revived } = this.screenAwareness(peer, msg.update);
          if (!update) return;
          this.revived = revived;
          awarenessProtocol.applyAwarenessUpdate(this.awareness, update, peer);
        } catch (err) {
          throw new ProtocolError(`awareness update could not be applied: ${(err as Error).message}`, CLOSE_MALFORMED);
        } finally {
          this.revived = false;
        }
        return;
      }
      case 'query-awareness':
        this.answerQuery(peer);
        return;
      case 'stored-subscribe':
        peer.storedSubscribed = true;
        // With an upstream, say first whether our awareness order is authoritative (see messages.ts).
        if (this.upstream) peer.send(encodeRelayStatus(this.upstream.authoritative));
        this.scheduleAck(peer);
        return;
      case 'auth':
        return; // clients have nothing to say in the auth protocol; ignore
      case 'stored':
        throw new ProtocolError('stored acknowledgements are sent by servers, not clients', CLOSE_UNSUPPORTED);
    }
  }

  /** Acknowledge to `peer` once everything it sent so far is durable (coalesced per peer). */
  private scheduleAck(peer: RoomPeer): void {
    peer.ackSeq = this.enqueuedSeq;
    if (peer.ackScheduled) return;
    peer.ackScheduled = true;
    const fire = () => {
      if (peer.ackSeq > this.flushedSeq || this.writing || this.pending.length > 0) {
        this.waiters.push({ seq: Math.max(peer.ackSeq, this.enqueuedSeq), fn: fire });
        return;
      }
      peer.ackScheduled = false;
      if (this.peers.has(peer)) peer.send(encodeStored(this.durableStateVector));
    };
    this.afterDurable(fire);
  }

  /** Which peer (or hosted session, or upstream link) published each awareness client ID. */
  private readonly owners = new Map<number, unknown>();

  /**
   * Check a peer's awareness update before applying it: a peer may not change client IDs
   * another publisher owns (a read-write peer may take one over with a newer clock, as a
   * client whose old connection has not been reaped yet does); a read-only peer may not
   * publish locks; removals of IDs never seen are dropped (they would only grow the meta
   * map); and the number of IDs per frame and per peer is bounded. Returns the update to
   * apply (null when nothing is left) and whether a clock was lifted (reviveClocks).
   */
  private screenAwareness(peer: RoomPeer, update: Uint8Array): { update: Uint8Array | null; revived: boolean } {
    const entries = readAwarenessEntries(update, MAX_AWARENESS_PER_FRAME);
    const ownerOfSession = sessionOwners(this.awareness, this.owners);
    const keep = entries.filter((e) => {
      const owner = this.owners.get(e.clientID);
      if (owner !== undefined && owner !== peer) {
        if (peer.readOnly) return false;
        if (e.clock <= (this.awareness.meta.get(e.clientID)?.clock ?? 0)) return false;
        // Only the reconnect case: the same session from a new connection; never a removal, never a
        // hosted session's or upstream link's ID (issue 13 §4).
        if (!this.peers.has(owner as RoomPeer) || !takeoverAllowed(e.json, this.awareness.states.get(e.clientID))) return false;
      }
      if (e.json === 'null') return this.awareness.meta.has(e.clientID);
      if (owner !== peer && peer.awarenessIds.size >= MAX_AWARENESS_PER_PEER) return false;
      // Parsed, not pattern-matched: read-only locks and session ids owned elsewhere (presence-screen.ts).
      const verdict = screenPresence({ json: e.json, readOnly: peer.readOnly, publisher: peer, ownerOfSession: (sid) => ownerOfSession(sid, e.clientID) });
      if (verdict === 'unparsable') throw new ProtocolError('awareness state is not JSON', CLOSE_MALFORMED);
      return verdict === null;
    });
    if (keep.length === 0) return { update: null, revived: false };
    const revived = reviveClocks(this.awareness, keep);
    // Decoded once; re-encoded only when an entry was dropped or a clock lifted.
    return { update: revived || keep.length !== entries.length ? encodeAwarenessUpdateOf(keep) : update, revived };
  }

  private onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const changed = added.concat(updated, removed);
    if (changed.length === 0) return;
    if (origin !== null && typeof origin === 'object') {
      for (const id of added) this.owners.set(id, origin);
      for (const id of updated) this.owners.set(id, origin);
    }
    for (const id of removed) this.owners.delete(id);
    if (origin && this.peers.has(origin as RoomPeer)) {
      const peer = origin as RoomPeer;
      for (const id of added) peer.awarenessIds.add(id);
      for (const id of updated) peer.awarenessIds.add(id);
      for (const id of removed) peer.awarenessIds.delete(id);
    }
    // Echo to the sender too: the echo tells it where the relay ordered its update (locks rely
    // on this), and carries a revived clock back after a reconnect. While a team relay's order
    // is authoritative, the upstream link echoes it instead, once the team relay has ordered it.
    const skip = this.upstream?.authoritative && !this.revived ? origin : null;
    // Coalesced per turn of the event loop (awareness-batch.ts), unless a peer is skipped.
    this.awarenessOut.changed(changed, (skip as RoomPeer | null) ?? null);
  };

  private readonly awarenessOut: AwarenessBatcher;
  /** When each peer last got a full awareness answer (query-awareness is rate-limited). */
  private readonly queried = new WeakMap<RoomPeer, { at: number; timer: NodeJS.Timeout | null }>();

  /**
   * Answer a query-awareness: every state, which may be large, for a 1-byte request. At most
   * one answer a second per peer; queries meanwhile get one answer at the end of that second.
   */
  private answerQuery(peer: RoomPeer): void {
    const q = this.queried.get(peer) ?? { at: 0, timer: null };
    this.queried.set(peer, q);
    if (q.timer) return;
    const answer = () => {
      q.timer = null;
      q.at = Date.now();
      if (this.destroyed || !this.peers.has(peer)) return;
      this.awarenessOut.flush();
      peer.send(encodeAwarenessOf(this.awareness, Array.from(this.awareness.getStates().keys())));
    };
    const wait = q.at + QUERY_INTERVAL_MS - Date.now();
    if (wait <= 0) answer();
    else {
      q.timer = setTimeout(answer, wait);
      q.timer.unref();
    }
  }

  private reapAwareness(timeout: number): void {
    const now = Date.now();
    const stale: number[] = [];
    this.awareness.meta.forEach((meta, id) => {
      if (id !== this.awareness.clientID && now - meta.lastUpdated >= timeout && this.awareness.states.has(id)) stale.push(id);
    });
    if (stale.length > 0) removeWithNextClock(this.awareness, stale, 'timeout');
    // The clock of a removed client is kept a while (it keeps a late, older state from coming
    // back), then forgotten, so that the meta map does not grow for ever.
    for (const [id, meta] of this.awareness.meta) {
      if (id !== this.awareness.clientID && !this.awareness.states.has(id) && now - meta.lastUpdated >= 10 * timeout) this.awareness.meta.delete(id);
    }
  }

  // ---- write pipeline ----------------------------------------------------
  //
  // 1. A doc update is queued; at the end of the tick the queue is appended to the room's
  //    write-ahead log with one synchronous write (durable against kill -9 from then on).
  // 2. Then it is broadcast, acknowledged, and waiting sync answers go out.
  // 3. In the background the same updates are committed to LevelDB in group commits (with
  //    compaction); a log file is deleted once everything in it is in LevelDB.

  private onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    this.lastUpdateAt = Date.now();
    this.pending.push({ update, origin });
    this.enqueuedSeq++;
    if (!this.writing) {
      this.writing = true;
      // Let every frame already read from the sockets join this write.
      queueMicrotask(() => this.flush());
    }
  };

  /** Run `fn` once everything queued so far is durable. */
  afterDurable(fn: () => void): void {
    if (!this.writing && this.pending.length === 0) fn();
    else this.waiters.push({ seq: this.enqueuedSeq, fn });
  }

  /** A promise form of afterDurable. */
  whenDurable(): Promise<void> {
    return new Promise((resolve) => this.afterDurable(resolve));
  }

  /** Resolves once everything is durable and also committed to LevelDB. */
  async whenPersisted(): Promise<void> {
    await this.whenDurable();
    while (this.dbWriting || this.dbQueue.length > 0 || this.forceCompact || this.writing || this.pending.length > 0) {
      if (this.writing || this.pending.length > 0) {
        await this.whenDurable();
        continue;
      }
      // Commit now rather than after the grouping delay (commitToDb clears the timer).
      if (!this.dbWriting) void this.commitToDb();
      await new Promise<void>((resolve) => this.dbDrained.push(resolve));
    }
  }

  /** Nothing waits to reach the log or LevelDB (checked synchronously, so it holds until the next await). */
  private get settled(): boolean {
    return !this.writing && this.pending.length === 0 && !this.dbWriting && this.dbQueue.length === 0 && !this.forceCompact;
  }

  private setHealth(part: 'wal' | 'db', ok: boolean): void {
    if (part === 'wal') this.walOk = ok;
    else this.dbOk = ok;
    this.ctx.setPersistenceHealthy(this.walOk && this.dbOk);
  }

  private flush(): void {
    if (this.pending.length === 0) {
      this.writing = false;
      this.runWaiters();
      return;
    }
    const batch = this.pending;
    this.pending = [];
    const upto = this.enqueuedSeq;
    const t0 = performance.now();
    try {
      this.wal.append(batch.map((p) => p.update));
    } catch (err) {
      this.ctx.metrics.persistenceErrors++;
      this.setHealth('wal', false);
      this.ctx.log.error('writing the log failed; updates are held and retried', {
        project: this.name,
        updates: batch.length,
        error: (err as Error).message,
        retryMs: this.retryDelay,
      });
      // Keep order: the failed batch goes back in front of anything that arrived meanwhile.
      this.pending = batch.concat(this.pending);
      const t = setTimeout(() => this.flush(), this.retryDelay);
      t.unref();
      this.retryDelay = Math.min(this.retryDelay * 2, 5000);
      return;
    }
    this.retryDelay = 100;
    this.ctx.metrics.observeCommit((performance.now() - t0) / 1000);
    if (!this.walOk) this.setHealth('wal', true);
    this.flushedSeq = upto;
    this.writing = false;
    this.broadcast(batch);
    for (const p of batch) this.dbQueue.push(p.update);
    this.scheduleDbCommit();
    this.runWaiters();
  }

  private compactTimer: NodeJS.Timeout | null = null;
  private unloading = false;
  private lastUpdateAt = 0;

  /** Compact once no update has arrived for COMPACT_QUIET_MS. */
  private compactWhenQuiet(): void {
    if (this.compactTimer || this.destroyed) return;
    this.compactTimer = setTimeout(() => {
      this.compactTimer = null;
      if (this.destroyed) return;
      if (Date.now() - this.lastUpdateAt < COMPACT_QUIET_MS) return this.compactWhenQuiet();
      this.forceCompact = true;
      void this.commitToDb();
    }, COMPACT_QUIET_MS);
    this.compactTimer.unref();
  }

  private dbTimer: NodeJS.Timeout | null = null;

  /**
   * LevelDB commits are grouped over a few milliseconds: the log already made the updates
   * durable, and fewer commits leave more of the main thread to broadcasts.
   */
  private scheduleDbCommit(): void {
    if (this.dbWriting || this.dbTimer) return;
    if (this.dbQueue.length >= DB_BATCH_UPDATES) {
      void this.commitToDb();
      return;
    }
    this.dbTimer = setTimeout(() => {
      this.dbTimer = null;
      void this.commitToDb();
    }, DB_COMMIT_DELAY_MS);
    this.dbTimer.unref();
  }

  /** Background group commits into LevelDB; never on the path of a broadcast. */
  private async commitToDb(): Promise<void> {
    if (this.dbWriting) return;
    if (this.dbTimer) {
      clearTimeout(this.dbTimer);
      this.dbTimer = null;
    }
    if (this.dbQueue.length === 0 && !this.forceCompact) {
      for (const fn of this.dbDrained.splice(0)) fn();
      return;
    }
    this.dbWriting = true;
    const updates = this.dbQueue;
    this.dbQueue = [];
    // Every record in the current log file is in `updates` or already committed: after this
    // batch commits, the file can go.
    const rotated = this.wal.rotateIfLarge();
    if (rotated) this.retiredLogs.push(rotated);
    const { records, bytes, baseBytes } = this.ctx.store.stats(this.name);
    let batchBytes = 0;
    for (const u of updates) batchBytes += u.byteLength;
    // Compact past the thresholds, but only once the log has grown by at least the size of the
    // last compacted state: re-encoding a large document on every commit would cost more than
    // linear time under a steady stream of writes.
    // Compaction re-encodes the document on the main thread, which would delay broadcasts:
    // it waits for a quiet moment unless the log has grown ten times past the threshold.
    const over = records + updates.length > this.ctx.config.compactRecords || bytes + batchBytes > this.ctx.config.compactBytes;
    const hard = records + updates.length > 10 * this.ctx.config.compactRecords;
    const due = over && (bytes + batchBytes - baseBytes >= baseBytes || hard);
    const quiet = Date.now() - this.lastUpdateAt >= COMPACT_QUIET_MS;
    // Never compact an unapplied doc: it would replace the stored state with an empty one.
    const compact = this.applied && (this.forceCompact || hard || (due && quiet));
    if (due && !compact) this.compactWhenQuiet();
    this.forceCompact = false;
    const t0 = performance.now();
    try {
      await this.ctx.store.commit(this.name, updates, compact ? Y.encodeStateAsUpdate(this.doc) : undefined);
    } catch (err) {
      this.ctx.metrics.persistenceErrors++;
      this.setHealth('db', false);
      this.ctx.log.error('storing updates in LevelDB failed; they are safe in the log and retried', {
        project: this.name,
        updates: updates.length,
        error: (err as Error).message,
        retryMs: this.dbRetryDelay,
      });
      this.dbQueue = updates.concat(this.dbQueue);
      this.dbWriting = false;
      const t = setTimeout(() => void this.commitToDb(), this.dbRetryDelay);
      t.unref();
      this.dbRetryDelay = Math.min(this.dbRetryDelay * 2, 5000);
      return;
    }
    this.dbRetryDelay = 100;
    this.ctx.metrics.leveldbCommits++;
    this.ctx.metrics.leveldbSeconds += (performance.now() - t0) / 1000;
    if (compact) this.ctx.metrics.compactions++;
    if (!this.dbOk) this.setHealth('db', true);
    for (const f of this.retiredLogs.splice(0)) DocWal.remove(f);
    this.dbWriting = false;
    // Someone waits for LevelDB (or nothing is left): go on now; otherwise group what comes.
    if (this.dbQueue.length === 0 || this.forceCompact || this.dbDrained.length > 0) void this.commitToDb();
    else this.scheduleDbCommit();
  }

  private runWaiters(): void {
    const done = this.writing || this.pending.length > 0 ? this.flushedSeq : this.enqueuedSeq;
    let i = 0;
    while (i < this.waiters.length && this.waiters[i].seq <= done) i++;
    if (i === 0) return;
    const ready = this.waiters.splice(0, i);
    for (const w of ready) w.fn();
    if (!this.writing && this.pending.length === 0) this.maybeScheduleIdle();
  }

  /**
   * Send a committed batch: one frame per update (merging a large batch costs more than
   * sending it: Y.mergeUpdates grows faster than linearly), each to every peer but its
   * sender, written in one go per peer by corking its socket.
   */
  private broadcast(batch: Pending[]): void {
    const frames = batch.map((p) => encodeUpdate(p.update));
    for (const peer of this.peers) {
      peer.cork?.();
      for (let i = 0; i < batch.length; i++) {
        if (batch[i].origin === peer) continue;
        peer.send(frames[i]);
        this.ctx.metrics.updatesOut++;
      }
      peer.uncork?.();
    }
  }

  // ---- lifetime ----------------------------------------------------------

  /** Run `fn` when the room is unloaded or the server shuts down. */
  onDestroy(fn: () => void): void {
    this.cleanups.push(fn);
  }

  private runCleanups(): void {
    this.awarenessOut.destroy();
    if (this.compactTimer) clearTimeout(this.compactTimer);
    if (this.dbTimer) clearTimeout(this.dbTimer);
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
      if (this.isReady && this.ctx.store.stats(this.name).records > 1) this.forceCompact = true;
      // Updates may keep arriving (an upstream link): settle a few times, else try again later.
      for (let i = 0; i < 5 && !this.settled; i++) await this.whenPersisted();
      await this.whenPersisted();
      if (this.peers.size > 0 || this.holds > 0 || !this.settled) {
        this.maybeScheduleIdle();
        return; // someone came back, or writes are still coming
      }
      // From here on synchronous: nobody can join or write in between, and a room created for the
      // same project after this point loads from LevelDB, which has everything.
      this.destroyed = true;
      this.onUnload(this);
      this.retireLogs(this.dbOk);
      this.ctx.store.forget(this.name);
      this.runCleanups();
      clearInterval(this.reaper);
      this.awareness.destroy();
      this.doc.destroy();
      this.ctx.metrics.docsUnloaded++;
      this.ctx.log.debug('document unloaded', { project: this.name });
    } finally {
      this.unloading = false;
    }
  }

  /** Close the log; delete its files when everything in them is in LevelDB (else the next start replays them). */
  private retireLogs(inLevelDb: boolean): void {
    const current = this.wal.closeCurrent();
    if (!inLevelDb) return;
    for (const f of this.retiredLogs.splice(0)) DocWal.remove(f);
    if (current) DocWal.remove(current);
  }

  /** Server shutdown: wait for every queued write (LevelDB included, for up to `timeoutMs`), then compact. */
  async shutdown(timeoutMs = 5000): Promise<void> {
    this.cancelIdle();
    let persisted = false;
    if (this.isReady) {
      // Applied first: the compaction below encodes the doc, which must hold the stored state.
      this.ensureApplied();
      // Leave one record per document, so that the next start loads it fast.
      if (this.ctx.store.stats(this.name).records > 1) this.forceCompact = true;
      let timedOut = false;
      const timer = new Promise<void>((resolve) => setTimeout(() => ((timedOut = true), resolve()), timeoutMs).unref());
      await Promise.race([this.whenPersisted(), timer]);
      persisted = !timedOut && this.settled;
      if (!persisted) this.ctx.log.error('shutdown: LevelDB did not take every update in time; they stay in the log and are replayed at the next start', { project: this.name });
    }
    this.destroyed = true;
    this.retireLogs(persisted && this.dbOk);
    this.runCleanups();
    clearInterval(this.reaper);
    this.awareness.destroy();
    this.doc.destroy();
  }
}

/** Remove remote awareness states by applying a null state with clock + 1, so the removal wins everywhere. */
export function removeWithNextClock(awareness: awarenessProtocol.Awareness, ids: number[], origin: unknown): void {
  const update = encodeAwarenessUpdateOf(ids.map((id) => ({ clientID: id, clock: (awareness.meta.get(id)?.clock ?? 0) + 1, json: 'null' })));
  awarenessProtocol.applyAwarenessUpdate(awareness, update, origin);
}

/**
 * A client that comes back after its state was removed re-sends its state with
 * the clock it had, which every peer would ignore (the removal's clock is
 * higher). Lift such clocks above the removal (in place) so the state reappears
 * at once. Returns whether any clock was lifted.
 */
export function reviveClocks(awareness: awarenessProtocol.Awareness, entries: AwarenessEntryRaw[]): boolean {
  let changed = false;
  for (const x of entries) {
    const meta = awareness.meta.get(x.clientID);
    if (meta && x.json !== 'null' && !awareness.states.has(x.clientID) && x.clock <= meta.clock) {
      x.clock = meta.clock + 1;
      changed = true;
    }
  }
  return changed;
}
