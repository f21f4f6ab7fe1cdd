/**
 * The persistence seam: how a room keeps its document. The write-ahead log
 * + LevelDB is one implementation, an in-memory one is another, PostgreSQL a
 * third. One contract test suite runs against all of them.
 *
 * The contract a room relies on:
 * - `appendDurable` returns (or resolves) only once the updates survive a
 *   `kill -9` of this process (a write() to the log, an INSERT committed). The
 *   room broadcasts and acknowledges only after that.
 * - `load` returns everything ever made durable for the document, including
 *   appends that were never committed (a crash replay).
 * - `commit` moves what was appended into the long-term store; with
 *   `compactTo` the document's whole history is replaced by that one state
 *   atomically (it must contain everything appended before the call; what is
 *   appended while the commit runs is kept beside it).
 * - `stats` counts every record made durable, committed or not.
 */

export interface StoredDoc {
  /** Every stored update merged into one, or null for a new document. */
  update: Uint8Array | null;
  /** Number of stored records (1 right after a compaction). */
  records: number;
  /** Total stored bytes of those records. */
  bytes: number;
}

export interface StoreStats {
  records: number;
  bytes: number;
  /** Size of the oldest record (the last compacted state, typically). */
  baseBytes: number;
}

export interface Persistence {
  /** 'leveldb' | 'memory' | 'postgres' …, for /healthz and logs. */
  readonly kind: string;
  /**
   * A store over the network (PostgreSQL): when it fails, the server refuses writes
   * (WebSocket close 1013, HTTP 503) instead of holding them in memory and retrying.
   */
  readonly remote?: boolean;
  open(): Promise<void>;
  /** Read (and replay) a document. Must be called before append/commit for that document. */
  load(doc: string): Promise<StoredDoc>;
  /** Make updates durable. Synchronous implementations return void; async ones a promise. */
  appendDurable(doc: string, updates: Uint8Array[]): void | Promise<void>;
  /** Move appended updates into the long-term store, optionally compacting to one state. */
  commit(doc: string, compactTo?: Uint8Array): Promise<void>;
  stats(doc: string): StoreStats;
  /** Names of every stored document. */
  list(): Promise<string[]>;
  /** Drop in-memory bookkeeping of an unloaded document (its data stays). */
  forget(doc: string): void;
  close(): Promise<void>;
}
