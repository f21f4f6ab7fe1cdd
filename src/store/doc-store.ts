/**
 * An append-only log of Yjs updates per document in LevelDB (classic-level).
 *
 * Written on classic-level directly rather than y-leveldb because we need
 * write errors to reject (y-leveldb resolves null), atomic group commits, an
 * optional fsync, and compaction while a document stays loaded.
 *
 * Layout (utf8 keys, binary values):
 *   u/<doc>/<seq: 12 hex digits>  one update (or a compacted full state)
 *   m/<doc>                       JSON metadata: { created }
 * Document names never contain '/', so prefixes cannot collide.
 */
import { ClassicLevel } from 'classic-level';
import * as Y from 'yjs';

export interface DocStoreOptions {
  /** fsync every commit (survives power loss, not only a process crash). Default false. */
  sync?: boolean;
}

export interface LoadedDoc {
  /** All stored updates merged into one, or null for a new document. */
  update: Uint8Array | null;
  /** Number of stored records (1 right after a compaction). */
  records: number;
  /** Total stored bytes of those records. */
  bytes: number;
}

interface DocLog {
  firstSeq: number;
  nextSeq: number;
  records: number;
  bytes: number;
  /** Size of the oldest record (the last compacted state, typically). */
  baseBytes: number;
}

const SEQ_WIDTH = 12;
const seqKey = (doc: string, seq: number) => `u/${doc}/${seq.toString(16).padStart(SEQ_WIDTH, '0')}`;
// '0' sorts right after '/', so [`u/<doc>/`, `u/<doc>0`) spans exactly one document.
const docRange = (doc: string) => ({ gte: `u/${doc}/`, lt: `u/${doc}0` });

export class DocStore {
  readonly db: ClassicLevel<string, Uint8Array>;
  private logs = new Map<string, DocLog>();
  private readonly sync: boolean;

  constructor(readonly location: string, opts: DocStoreOptions = {}) {
    this.db = new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
    this.sync = opts.sync ?? false;
  }

  async open(): Promise<void> {
    await this.db.open();
  }

  async close(): Promise<void> {
    if (this.db.status === 'open' || this.db.status === 'opening') await this.db.close();
  }

  /** Read and merge a document's log. Must be called before commit() for that document. */
  async load(doc: string): Promise<LoadedDoc> {
    const values: Uint8Array[] = [];
    let firstSeq = -1;
    let lastSeq = -1;
    let bytes = 0;
    let baseBytes = 0;
    for await (const [key, value] of this.db.iterator(docRange(doc))) {
      const seq = parseInt(key.slice(key.lastIndexOf('/') + 1), 16);
      if (firstSeq < 0) firstSeq = seq;
      lastSeq = seq;
      if (values.length === 0) baseBytes = value.byteLength;
      values.push(value);
      bytes += value.byteLength;
    }
    const log: DocLog = {
      firstSeq: firstSeq < 0 ? 0 : firstSeq,
      nextSeq: lastSeq + 1,
      records: values.length,
      bytes,
      baseBytes,
    };
    this.logs.set(doc, log);
    const update = values.length === 0 ? null : values.length === 1 ? values[0] : mergeLog(values);
    return { update, records: values.length, bytes };
  }

  /** Stats of a loaded document's log. */
  stats(doc: string): { records: number; bytes: number; baseBytes: number } {
    const log = this.logs.get(doc);
    return { records: log?.records ?? 0, bytes: log?.bytes ?? 0, baseBytes: log?.baseBytes ?? 0 };
  }

  /**
   * Append updates atomically. With `compactTo`, the whole log is replaced
   * by that single full state in the same atomic batch (the state must already
   * contain `updates`, which are then not written separately).
   * Rejects on any LevelDB error; the in-memory log position only advances on success.
   */
  async commit(doc: string, updates: Uint8Array[], compactTo?: Uint8Array): Promise<void> {
    const log = this.logs.get(doc);
    if (!log) throw new Error(`document ${doc} was not loaded before commit`);
    const ops: Array<{ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }> = [];
    const isNew = log.nextSeq === 0;
    let next = log.nextSeq;
    let records = log.records;
    let bytes = log.bytes;
    let firstSeq = log.firstSeq;
    let baseBytes = log.baseBytes;
    if (compactTo) {
      for (let s = log.firstSeq; s < log.nextSeq; s++) ops.push({ type: 'del', key: seqKey(doc, s) });
      ops.push({ type: 'put', key: seqKey(doc, next), value: compactTo });
      firstSeq = next;
      next += 1;
      records = 1;
      bytes = compactTo.byteLength;
      baseBytes = bytes;
    } else {
      if (log.records === 0 && updates.length > 0) baseBytes = updates[0].byteLength;
      for (const u of updates) {
        ops.push({ type: 'put', key: seqKey(doc, next++), value: u });
        records++;
        bytes += u.byteLength;
      }
    }
    if (isNew) {
      ops.push({ type: 'put', key: `m/${doc}`, value: new TextEncoder().encode(JSON.stringify({ created: Date.now() })) });
    }
    if (ops.length === 0) return;
    await this.db.batch(ops, { sync: this.sync });
    log.nextSeq = next;
    log.firstSeq = firstSeq;
    log.records = records;
    log.bytes = bytes;
    log.baseBytes = baseBytes;
  }

  /** Forget the in-memory log position of an unloaded document. */
  forget(doc: string): void {
    this.logs.delete(doc);
  }

  /** Names of every stored document. */
  async listDocs(): Promise<string[]> {
    const names: string[] = [];
    for await (const key of this.db.keys({ gte: 'm/', lt: 'm0' })) names.push(key.slice(2));
    return names;
  }
}

/**
 * Merge a log (a compacted state followed by small updates). Y.mergeUpdates grows faster
 * than linearly with the number of updates, so the tail is merged in chunks first.
 */
export function mergeLog(values: Uint8Array[], chunk = 256): Uint8Array {
  if (values.length <= chunk) return Y.mergeUpdates(values);
  const parts: Uint8Array[] = [values[0]];
  for (let i = 1; i < values.length; i += chunk) parts.push(Y.mergeUpdates(values.slice(i, i + chunk)));
  return parts.length <= chunk ? Y.mergeUpdates(parts) : mergeLog(parts, chunk);
}
