/**
 * Today's durable persistence: a write-ahead log per document (wal.ts) makes an
 * append durable with one synchronous write(); LevelDB (doc-store.ts) receives
 * the same updates in background group commits, and a log file is deleted once
 * everything in it is in LevelDB. Logs left by a crash are replayed into
 * LevelDB when the store opens, and a document's leftovers again when it loads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DocStore } from './doc-store.js';
import { DocWal, replayWal, walDir } from './wal.js';
import type { Persistence, StoreStats, StoredDoc } from './persistence.js';

export interface LeveldbPersistenceOptions {
  /** fdatasync every log write (and sync LevelDB commits): survives power loss too. Default false. */
  fsync?: boolean;
}

interface DocState {
  wal: DocWal;
  /** Appended to the log, not yet in LevelDB. */
  queue: Uint8Array[];
  queuedBytes: number;
  /** Closed log files whose records are all in LevelDB once the commit in flight succeeds. */
  retired: string[];
  committing: boolean;
}

export class LeveldbPersistence implements Persistence {
  readonly kind = 'leveldb';
  readonly docs: DocStore;
  /** What open() replayed from logs a crash left. */
  replayed: Awaited<ReturnType<typeof replayWal>> = { files: 0, records: 0, docs: [], damaged: [] };
  private readonly state = new Map<string, DocState>();
  private readonly fsync: boolean;

  constructor(readonly dataDir: string, opts: LeveldbPersistenceOptions = {}) {
    this.fsync = opts.fsync ?? false;
    this.docs = new DocStore(dataDir, { sync: this.fsync });
  }

  async open(): Promise<void> {
    fs.mkdirSync(this.dataDir, { recursive: true });
    try {
      await this.docs.open();
    } catch (err) {
      const e = err as Error & { cause?: Error };
      const detail = e.cause?.message ?? e.message;
      if (/lock/i.test(detail)) {
        throw new Error(`the data folder ${path.resolve(this.dataDir)} is in use by another huddle server (LevelDB allows one process per folder)`);
      }
      throw new Error(`cannot open LevelDB at ${path.resolve(this.dataDir)}: ${detail}`);
    }
    try {
      this.replayed = await replayWal(this.dataDir, this.docs);
    } catch (err) {
      await this.docs.close();
      throw new Error(`cannot replay the write-ahead log in ${path.resolve(this.dataDir)}: ${(err as Error).message}`);
    }
  }

  async load(doc: string): Promise<StoredDoc> {
    // Logs of this document left since open() (an earlier load whose commits kept failing).
    if (!this.state.has(doc)) await replayWal(this.dataDir, this.docs, doc);
    const loaded = await this.docs.load(doc);
    if (!this.state.has(doc)) this.state.set(doc, { wal: new DocWal(walDir(this.dataDir), doc, this.fsync), queue: [], queuedBytes: 0, retired: [], committing: false });
    return loaded;
  }

  /** One synchronous write to the document's log; throws on failure (then nothing was appended). */
  appendDurable(doc: string, updates: Uint8Array[]): void {
    const st = this.must(doc);
    st.wal.append(updates);
    for (const u of updates) {
      st.queue.push(u);
      st.queuedBytes += u.byteLength;
    }
  }

  async commit(doc: string, compactTo?: Uint8Array): Promise<void> {
    const st = this.must(doc);
    if (st.committing) throw new Error(`a commit of ${doc} is already running`);
    if (st.queue.length === 0 && !compactTo) return;
    const updates = st.queue;
    const bytes = st.queuedBytes;
    st.queue = [];
    st.queuedBytes = 0;
    st.committing = true;
    // Every record in the current log file is in `updates` or already committed: once this
    // batch commits, the file can go.
    const rotated = st.wal.rotateIfLarge();
    if (rotated) st.retired.push(rotated);
    try {
      await this.docs.commit(doc, updates, compactTo);
    } catch (err) {
      // Still safe in the log; keep the order for the retry.
      st.queue = updates.concat(st.queue);
      st.queuedBytes += bytes;
      throw err;
    } finally {
      st.committing = false;
    }
    for (const f of st.retired.splice(0)) DocWal.remove(f);
  }

  /** Everything stored for a loaded document, appended records not yet in LevelDB included. */
  stats(doc: string): StoreStats {
    const s = this.docs.stats(doc);
    const st = this.state.get(doc);
    if (!st || st.queue.length === 0) return s;
    return { records: s.records + st.queue.length, bytes: s.bytes + st.queuedBytes, baseBytes: s.records === 0 ? st.queue[0].byteLength : s.baseBytes };
  }

  async list(): Promise<string[]> {
    const names = new Set(await this.docs.listDocs());
    for (const [doc, st] of this.state) if (st.queue.length > 0) names.add(doc);
    return Array.from(names).sort();
  }

  /** Close the document's log; its files go when everything in them is in LevelDB, else the next load or start replays them. */
  forget(doc: string): void {
    const st = this.state.get(doc);
    if (!st) return;
    this.state.delete(doc);
    const current = st.wal.closeCurrent();
    this.docs.forget(doc);
    if (st.queue.length > 0 || st.committing) return;
    for (const f of st.retired) DocWal.remove(f);
    if (current) DocWal.remove(current);
  }

  async close(): Promise<void> {
    for (const doc of Array.from(this.state.keys())) this.forget(doc);
    await this.docs.close();
  }

  private must(doc: string): DocState {
    const st = this.state.get(doc);
    if (!st) throw new Error(`document ${doc} was not loaded`);
    return st;
  }
}
