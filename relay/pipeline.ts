/**
 * The durable pipeline of one room. Every doc update is enqueued here; at the
 * end of the tick the queue is appended to the persistence in one call
 * (`appendDurable`: one write() to the log, durable against `kill -9` from
 * then on); only then is the batch announced on `onDurable`, the one bus that
 * broadcasts, acknowledgements, watchers, the upstream link and caches hear.
 * In the background what was appended is committed to the long-term store in
 * group commits, compacted when `shouldCompact` says so.
 */
import type { Persistence } from '../src/store/persistence.js';
import { COMPACT_QUIET_MS, compactAfterLoad, shouldCompact, type CompactionConfig } from '../src/store/compaction.js';
import type { Origin } from '../src/protocol/origin.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

export interface DurableEntry {
  readonly update: Uint8Array;
  readonly origin: Origin;
}

/** Updates that have just become durable, in the order they were applied. */
export type DurableBatch = readonly DurableEntry[];

export interface PipelineEnv {
  readonly doc: string;
  readonly persistence: Persistence;
  readonly config: CompactionConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Called with false when a write fails and true when writes succeed again. */
  setPersistenceHealthy(ok: boolean): void;
  /** The whole document to compact to, or null while it must not be compacted (stored state not applied). */
  encodeState(): Uint8Array | null;
  /** Called when waiters ran and nothing is left to append (the room may go idle). */
  onIdle(): void;
  /**
   * Given for remote stores: a failed append is not retried but handed here (the room
   * drops its unstored state and tells its writers to come back; see Room.abandon).
   */
  onAppendRefused?(err: Error): void;
}

/** Commits wait this long to group updates, unless COMMIT_BATCH_UPDATES are waiting. */
const COMMIT_DELAY_MS = 20;
const COMMIT_BATCH_UPDATES = 2000;

/** Retry delays after a failed write: doubling from 100 ms up to 5 s, reset by a success. */
export class Backoff {
  private delay: number;
  constructor(private readonly min = 100, private readonly max = 5000) {
    this.delay = min;
  }
  next(): number {
    const d = this.delay;
    this.delay = Math.min(d * 2, this.max);
    return d;
  }
  reset(): void {
    this.delay = this.min;
  }
}

export class DurablePipeline {
  private pending: DurableEntry[] = [];
  /** Sequence numbers of updates: the last enqueued, and the last durable. */
  private enqueued = 0;
  private flushed = 0;
  /** An append is queued or in flight. */
  private writing = false;
  private waiters: Array<{ seq: number; fn: () => void }> = [];
  private readonly listeners: Array<(batch: DurableBatch) => void> = [];
  /** Appended but not yet committed to the long-term store. */
  private uncommitted = 0;
  private committing = false;
  /** Compact at the next commit even if shouldCompact does not say so. */
  private forceCompact = false;
  private drained: Array<() => void> = [];
  private readonly appendRetry = new Backoff();
  private readonly commitRetry = new Backoff();
  private appendOk = true;
  private commitOk = true;
  private lastUpdateAt = 0;
  private commitTimer: NodeJS.Timeout | null = null;
  private compactTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** A refused append ended this pipeline: nothing more is written, whenDurable rejects. */
  private abandoned: Error | null = null;
  private readonly onAbandon: Array<(err: Error) => void> = [];

  constructor(private readonly env: PipelineEnv) {}

  /** Queue an update that was applied to the doc; it is appended at the end of this tick. */
  enqueue(update: Uint8Array, origin: Origin): void {
    this.lastUpdateAt = Date.now();
    this.pending.push({ update, origin });
    this.enqueued++;
    if (!this.writing) {
      this.writing = true;
      // Let every frame already read from the sockets join this write.
      queueMicrotask(() => this.flush());
    }
  }

  /** Hear every batch once it is durable. Returns the unsubscribe function. */
  onDurable(fn: (batch: DurableBatch) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Sequence number of the last enqueued update. */
  get seq(): number {
    return this.enqueued;
  }

  /** Nothing is queued or being appended. */
  get idle(): boolean {
    return !this.writing && this.pending.length === 0;
  }

  /** Run `fn` once everything enqueued so far is durable. */
  afterDurable(fn: () => void): void {
    if (this.idle) fn();
    else this.waiters.push({ seq: this.enqueued, fn });
  }

  /** Update `seq` and everything before it is durable, and nothing else is queued. */
  isDurable(seq: number): boolean {
    return seq <= this.flushed && this.idle;
  }

  /** Run `fn` once update `seq`, and whatever is queued now, is durable. */
  waitFor(seq: number, fn: () => void): void {
    this.waiters.push({ seq: Math.max(seq, this.enqueued), fn });
  }

  /** Resolves once everything enqueued so far is durable; rejects if the store refused it (remote stores). */
  whenDurable(): Promise<void> {
    if (this.abandoned) return Promise.reject(this.abandoned);
    return new Promise((resolve, reject) => {
      this.onAbandon.push(reject);
      this.afterDurable(() => {
        const i = this.onAbandon.indexOf(reject);
        if (i >= 0) this.onAbandon.splice(i, 1);
        resolve();
      });
    });
  }

  /** Resolves once everything is durable and also committed to the long-term store. */
  async whenPersisted(): Promise<void> {
    await this.whenDurable();
    while (this.committing || this.uncommitted > 0 || this.forceCompact || !this.idle) {
      if (!this.idle) {
        await this.whenDurable();
        continue;
      }
      // Commit now rather than after the grouping delay (commit() clears the timer).
      if (!this.committing) void this.commit();
      await new Promise<void>((resolve) => this.drained.push(resolve));
    }
  }

  /** Nothing waits to be appended or committed (checked synchronously, so it holds until the next await). */
  get settled(): boolean {
    return this.idle && !this.committing && this.uncommitted === 0 && !this.forceCompact;
  }

  /** Every write since the last failure succeeded. */
  get healthy(): boolean {
    return this.appendOk && this.commitOk;
  }

  /** Just loaded: a long log left by an earlier process is compacted now rather than on every later load. */
  loaded(stats: { records: number; bytes: number }): void {
    if (!compactAfterLoad(stats, this.env.config)) return;
    this.forceCompact = true;
    void this.commit();
  }

  /** Leave one record at the next commit (unload, shutdown), when there is more than one. */
  compactOnSettle(): void {
    if (this.env.persistence.stats(this.env.doc).records > 1) this.forceCompact = true;
  }

  stop(): void {
    this.stopped = true;
    if (this.commitTimer) clearTimeout(this.commitTimer);
    if (this.compactTimer) clearTimeout(this.compactTimer);
    this.commitTimer = this.compactTimer = null;
  }

  private setHealth(part: 'append' | 'commit', ok: boolean): void {
    if (part === 'append') this.appendOk = ok;
    else this.commitOk = ok;
    this.env.setPersistenceHealthy(this.appendOk && this.commitOk);
  }

  private flush(): void {
    if (this.abandoned) return;
    if (this.pending.length === 0) {
      this.writing = false;
      this.runWaiters();
      return;
    }
    const batch = this.pending;
    this.pending = [];
    const upto = this.enqueued;
    const t0 = performance.now();
    let r: void | Promise<void>;
    try {
      r = this.env.persistence.appendDurable(this.env.doc, batch.map((p) => p.update));
    } catch (err) {
      this.appendFailed(batch, err as Error);
      return;
    }
    if (r && typeof (r as Promise<void>).then === 'function') {
      (r as Promise<void>).then(
        () => this.appended(batch, upto, t0),
        (err: Error) => this.appendFailed(batch, err),
      );
    } else {
      this.appended(batch, upto, t0);
    }
  }

  private appendFailed(batch: DurableEntry[], err: Error): void {
    this.env.metrics.persistenceErrors++;
    this.setHealth('append', false);
    if (this.env.onAppendRefused) {
      // Remote store: what it did not take is neither acknowledged nor broadcast, and not held
      // here either; its senders still have it and send it again once they reconnect.
      this.abandoned = err;
      this.pending = [];
      this.waiters = [];
      this.writing = false;
      this.stop();
      for (const reject of this.onAbandon.splice(0)) reject(err);
      this.env.log.error('the store refused a write; the project is dropped from memory and its clients told to retry', {
        project: this.env.doc,
        updates: batch.length,
        error: err.message,
      });
      this.env.onAppendRefused(err);
      return;
    }
    const retryMs = this.appendRetry.next();
    this.env.log.error('writing the log failed; updates are held and retried', {
      project: this.env.doc,
      updates: batch.length,
      error: err.message,
      retryMs,
    });
    // Keep order: the failed batch goes back in front of anything that arrived meanwhile.
    this.pending = batch.concat(this.pending);
    setTimeout(() => this.flush(), retryMs).unref();
  }

  private appended(batch: DurableEntry[], upto: number, t0: number): void {
    this.appendRetry.reset();
    this.env.metrics.observeAppend((performance.now() - t0) / 1000);
    if (!this.appendOk) this.setHealth('append', true);
    this.flushed = upto;
    this.uncommitted += batch.length;
    this.writing = false;
    for (const fn of this.listeners.slice()) {
      try {
        fn(batch);
      } catch (err) {
        this.env.log.warn('a durable-update listener failed', { project: this.env.doc, error: (err as Error).message });
      }
    }
    // An async append lets updates queue meanwhile without a flush of their own.
    if (this.pending.length > 0 && !this.writing) {
      this.writing = true;
      queueMicrotask(() => this.flush());
    }
    this.scheduleCommit();
    this.runWaiters();
  }

  private runWaiters(): void {
    const done = this.idle ? this.enqueued : this.flushed;
    let i = 0;
    while (i < this.waiters.length && this.waiters[i].seq <= done) i++;
    if (i === 0) return;
    const ready = this.waiters.splice(0, i);
    for (const w of ready) w.fn();
    if (this.idle) this.env.onIdle();
  }

  /**
   * Commits are grouped over a few milliseconds: the append already made the updates
   * durable, and fewer commits leave more of the main thread to broadcasts.
   */
  private scheduleCommit(): void {
    if (this.committing || this.commitTimer || this.stopped) return;
    if (this.uncommitted >= COMMIT_BATCH_UPDATES) {
      void this.commit();
      return;
    }
    this.commitTimer = setTimeout(() => {
      this.commitTimer = null;
      void this.commit();
    }, COMMIT_DELAY_MS);
    this.commitTimer.unref();
  }

  /** Compact once no update has arrived for COMPACT_QUIET_MS. */
  private compactWhenQuiet(): void {
    if (this.compactTimer || this.stopped) return;
    this.compactTimer = setTimeout(() => {
      this.compactTimer = null;
      if (this.stopped) return;
      if (Date.now() - this.lastUpdateAt < COMPACT_QUIET_MS) return this.compactWhenQuiet();
      this.forceCompact = true;
      void this.commit();
    }, COMPACT_QUIET_MS);
    this.compactTimer.unref();
  }

  /** Background group commits; never on the path of a broadcast. */
  private async commit(): Promise<void> {
    if (this.committing) return;
    if (this.commitTimer) {
      clearTimeout(this.commitTimer);
      this.commitTimer = null;
    }
    if (this.uncommitted === 0 && !this.forceCompact) {
      for (const fn of this.drained.splice(0)) fn();
      return;
    }
    const { doc, persistence, metrics } = this.env;
    this.committing = true;
    const n = this.uncommitted;
    this.uncommitted = 0;
    const decision = shouldCompact({ ...persistence.stats(doc), quietMs: Date.now() - this.lastUpdateAt }, this.env.config);
    const state = this.forceCompact || decision === 'now' ? this.env.encodeState() : null;
    if (decision !== 'no' && !state) this.compactWhenQuiet();
    this.forceCompact = false;
    const t0 = performance.now();
    try {
      await persistence.commit(doc, state ?? undefined);
    } catch (err) {
      metrics.persistenceErrors++;
      this.setHealth('commit', false);
      const retryMs = this.commitRetry.next();
      this.env.log.error('storing updates failed; they are safe in the log and retried', {
        project: doc,
        store: persistence.kind,
        updates: n,
        error: (err as Error).message,
        retryMs,
      });
      this.uncommitted += n;
      this.committing = false;
      setTimeout(() => void this.commit(), retryMs).unref();
      return;
    }
    this.commitRetry.reset();
    metrics.leveldbCommits++;
    metrics.leveldbSeconds += (performance.now() - t0) / 1000;
    if (state) metrics.compactions++;
    if (!this.commitOk) this.setHealth('commit', true);
    this.committing = false;
    // Someone waits for the store (or nothing is left): go on now; otherwise group what comes.
    if (this.uncommitted === 0 || this.forceCompact || this.drained.length > 0) void this.commit();
    else this.scheduleCommit();
  }
}
