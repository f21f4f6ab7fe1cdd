/**
 * A full huddle peer for TypeScript programs: joins a project as a session,
 * holds its own copy of the document (optionally in a local LevelDB replica, so
 * it starts and works with no relay reachable), and offers the shared context
 * and presence APIs.
 */
import os from 'node:os';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import type { Persistence } from '../store/persistence.js';
import { LeveldbPersistence } from '../store/leveldb-persistence.js';
import { DEFAULT_COMPACTION, shouldCompact } from '../store/compaction.js';
import { REPLICA, originOf } from '../protocol/origin.js';
import { SharedContext, ContextError, type Actor, type ContextOptions, type Task } from '../model/context.js';
import type { SessionInfo } from '../model/session.js';
import { projectNameProblem } from '../protocol/names.js';
import { RelayConnection, type SocketFactory } from './connection.js';
import { Presence, type AcquireOptions, type AcquireResult } from './presence.js';
import { connectionTransport } from './transports.js';
import { editOverlaps, type LockView, type PresenceView } from '../model/view.js';
import { normalizePattern } from '../model/paths.js';
import { forcedReleaseNotice } from '../model/enums.js';
import { DEFAULT_URL } from '../protocol/constants.js';

export { DEFAULT_URL };

export interface JoinOptions {
  /** Relay URL. Default ws://127.0.0.1:4321 */
  url?: string;
  project: string;
  token?: string;
  /** Who this session is. `id` defaults to `<agent>-<host>-<pid>`. */
  session: Partial<SessionInfo>;
  /** Keep a local replica in this LevelDB folder (one process per folder). */
  replicaDir?: string;
  /** Or keep it in this persistence (opened by join, closed by close). */
  replica?: Persistence;
  /** Renew presence this often. Default 10 s (peers drop us after 30 s without renewal). */
  heartbeatMs?: number;
  /** Wait this long for the first sync before resolving join (0: do not wait). Default 5 s; offline is not an error. */
  syncTimeoutMs?: number;
  socket?: SocketFactory;
  /** PEM certificate(s) to trust for a wss:// relay with a private CA (Node's default socket). */
  ca?: string | string[];
  context?: ContextOptions;
  lockTtlMs?: number;
  lockCapMs?: number;
  confirmTimeoutMs?: number;
}

export class HuddlePeer {
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly connection: RelayConnection;
  readonly context: SharedContext;
  readonly presence: Presence;
  private replica: Persistence | null = null;
  private lastUpdateAt = 0;
  private replicaQueue: Uint8Array[] = [];
  private replicaWriting: Promise<void> | null = null;

  private constructor(readonly project: string, doc: Y.Doc, replica: Persistence | null, opts: JoinOptions) {
    this.doc = doc;
    this.replica = replica;
    this.awareness = new Awareness(doc);
    this.awareness.setLocalState(null);
    this.context = new SharedContext(doc, opts.context);
    this.connection = new RelayConnection({ url: opts.url ?? DEFAULT_URL, project, doc, awareness: this.awareness, token: opts.token, socket: opts.socket, ca: opts.ca });
    const info: SessionInfo = {
      ...opts.session,
      id: opts.session.id ?? `${opts.session.agent ?? 'script'}-${os.hostname()}-${process.pid}`,
    };
    this.presence = new Presence(connectionTransport(this.connection), {
      info,
      hosted: false,
      host: os.hostname(),
      pid: process.pid,
      cwd: process.cwd(),
      heartbeatMs: opts.heartbeatMs,
      isForced: (id) => this.context.isForced(id),
      ttlMs: opts.lockTtlMs,
      capMs: opts.lockCapMs,
      confirmTimeoutMs: opts.confirmTimeoutMs,
    });
    doc.on('update', this.onUpdate);
  }

  /** Join a project. Resolves once synced, or after `syncTimeoutMs` when the relay is unreachable (working offline). */
  static async join(opts: JoinOptions): Promise<HuddlePeer> {
    const problem = projectNameProblem(opts.project);
    if (problem) throw new Error(problem);
    const doc = new Y.Doc();
    const replica = opts.replica ?? (opts.replicaDir ? new LeveldbPersistence(opts.replicaDir) : null);
    if (replica) {
      await replica.open();
      const loaded = await replica.load(opts.project);
      if (loaded.update) Y.applyUpdate(doc, loaded.update, REPLICA);
    }
    const peer = new HuddlePeer(opts.project, doc, replica, opts);
    const wait = opts.syncTimeoutMs ?? 5000;
    if (wait > 0) await peer.connection.whenSynced(wait).catch(() => {});
    return peer;
  }

  get actor(): Actor {
    const s = this.presence.current;
    return { id: s.id, name: s.name, role: s.role };
  }

  get online(): boolean {
    return this.connection.status === 'connected' && this.connection.synced;
  }

  private onUpdate = (update: Uint8Array, origin: unknown): void => {
    this.presence.documentChanged();
    if (!this.replica || originOf(origin).kind === 'replica') return;
    this.lastUpdateAt = Date.now();
    this.replicaQueue.push(update);
    if (!this.replicaWriting) this.replicaWriting = this.drainReplica();
  };

  private async drainReplica(): Promise<void> {
    while (this.replicaQueue.length > 0 && this.replica) {
      const batch = this.replicaQueue;
      this.replicaQueue = [];
      // Durable in the replica's log at once; into its long-term store in the background.
      await this.replica.appendDurable(this.project, batch);
      const decision = shouldCompact({ ...this.replica.stats(this.project), quietMs: Date.now() - this.lastUpdateAt }, DEFAULT_COMPACTION);
      await this.replica.commit(this.project, decision === 'now' ? Y.encodeStateAsUpdate(this.doc) : undefined);
    }
    this.replicaWriting = null;
  }

  /** Resolves once the relay has durably stored everything this peer holds now. */
  whenStored(timeoutMs = 10_000): Promise<void> {
    return this.connection.whenStored(timeoutMs);
  }

  /** Resolves once the local replica (if any) has written everything. */
  async whenLocallyStored(): Promise<void> {
    while (this.replicaWriting) await this.replicaWriting;
  }

  // ---- presence ------------------------------------------------------------

  presenceView(): PresenceView {
    // A copy: the view is cached and shared inside the presence (see PresenceCache).
    return structuredClone(this.presence.view());
  }

  lock(paths: string[], opts?: AcquireOptions): Promise<AcquireResult> {
    return this.presence.acquire(paths, opts);
  }

  unlock(paths?: string[]): string[] {
    return this.presence.release(paths);
  }

  /** Force another session's lock on `path` off; recorded in the timeline, and the holder is told. */
  forceUnlock(path: string, reason?: string): LockView {
    const p = normalizePattern(path);
    const lock = this.presence.view().locks.find((l) => l.path === p && l.session !== this.actor.id);
    if (!lock) throw new ContextError(`no lock of another session on ${p}`, 'not-found');
    this.context.forceRelease(this.actor, lock, reason);
    this.context.send(this.actor, { to: lock.session, kind: 'fyi', text: forcedReleaseNotice(lock.path, this.actor.name, reason) });
    return lock;
  }

  conflicts() {
    return editOverlaps(this.presence.view());
  }

  // ---- tasks -----------------------------------------------------------------

  /**
   * Claim a task. Concurrent claims end with one winner on every peer; this
   * resolves once the claim has been stored by the relay (when online) and says
   * whether this session won.
   */
  async claimTask(idOrPrefix: string, timeoutMs = 10_000): Promise<{ won: boolean; task: Task; stored: boolean }> {
    const t = this.context.claimTask(this.actor, idOrPrefix);
    this.presence.touch({ task: t.title });
    let stored = false;
    if (this.online) {
      await this.whenStored(timeoutMs);
      stored = true;
    }
    const now = this.context.task(t.id);
    return { won: now.assignee?.id === this.actor.id, task: now, stored };
  }

  /** Close: leave presence at once (peers drop us now), flush the replica, disconnect. */
  async close(): Promise<void> {
    this.presence.close();
    // Give the socket a moment to carry the goodbye before it closes.
    await new Promise((r) => setTimeout(r, 20));
    this.connection.destroy();
    this.doc.off('update', this.onUpdate);
    await this.whenLocallyStored();
    await this.replica?.close();
    this.awareness.destroy();
    this.doc.destroy();
  }
}

export const joinProject = HuddlePeer.join;
