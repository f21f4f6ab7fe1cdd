/**
 * A write-ahead log per document, so that an update is durable (it survives
 * `kill -9`) after one synchronous write() of a few microseconds, without
 * waiting for a LevelDB batch on the thread pool. LevelDB still receives every
 * update in the background; a log file is deleted once everything in it is in
 * LevelDB, and any file left by a crash is replayed into LevelDB at start-up.
 *
 * Files: <dataDir>/wal/<doc>.<n>.log. Records: u32 length, u32 crc32, update.
 * A torn last record (crash mid-write) fails its length or checksum and ends
 * the replay of that file. A bad record in the middle (a flipped byte) is
 * skipped: the reader resyncs at the next offset holding a valid header and
 * checksum and recovers every record after it, and says so (readLog).
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { DocStore } from './doc-store.js';

const HEADER = 8;
/** Start a new file once the current one holds this many bytes. */
export const WAL_ROTATE_BYTES = 1024 * 1024;

export function walDir(dataDir: string): string {
  return path.join(dataDir, 'wal');
}

function encodeRecords(updates: Uint8Array[]): Buffer {
  let size = 0;
  for (const u of updates) size += HEADER + u.byteLength;
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  for (const u of updates) {
    buf.writeUInt32LE(u.byteLength, o);
    buf.writeUInt32LE(crc32(u), o + 4);
    buf.set(u, o + HEADER);
    o += HEADER + u.byteLength;
  }
  return buf;
}

/** Read the intact records of one log file. */
export function readRecords(file: string): Uint8Array[] {
  return readLog(file).records;
}

export interface LogRead {
  records: Uint8Array[];
  /** Damaged stretches skipped between intact records (corruption, not a torn tail). */
  damaged: number;
  /** Bytes in those stretches. */
  damagedBytes: number;
  /** Bytes at the end that hold no intact record (a write cut short by a crash). */
  tornBytes: number;
}

/** The record at offset `o`, or null when its header or checksum does not hold. */
function recordAt(buf: Buffer, o: number): Buffer | null {
  if (o + HEADER > buf.length) return null;
  const len = buf.readUInt32LE(o);
  if (o + HEADER + len > buf.length) return null;
  const rec = buf.subarray(o + HEADER, o + HEADER + len);
  return crc32(rec) === buf.readUInt32LE(o + 4) ? rec : null;
}

/** Read a log file, skipping damaged records and resyncing on the next intact one. */
export function readLog(file: string): LogRead {
  const buf = fs.readFileSync(file);
  const out: LogRead = { records: [], damaged: 0, damagedBytes: 0, tornBytes: 0 };
  let o = 0;
  while (o < buf.length) {
    const rec = recordAt(buf, o);
    if (rec) {
      out.records.push(new Uint8Array(rec));
      o += HEADER + rec.length;
      continue;
    }
    // Resync: the next offset that holds an intact record (a false match needs a crc32 collision).
    let next = o + 1;
    while (next < buf.length && !recordAt(buf, next)) next++;
    if (next >= buf.length) {
      out.tornBytes = buf.length - o;
      break;
    }
    out.damaged++;
    out.damagedBytes += next - o;
    o = next;
  }
  return out;
}

/** Called when a log file cannot be deleted (it is retried later); the server logs it. */
export const walHooks: { onRemoveError: (file: string, err: Error) => void } = { onRemoveError: () => {} };

const failedRemovals = new Set<string>();
let removalRetry: NodeJS.Timeout | null = null;
let removalDelay = 1000;

function retryRemovals(): void {
  removalRetry = null;
  for (const f of Array.from(failedRemovals)) {
    failedRemovals.delete(f);
    DocWal.remove(f);
  }
}

/** The log of one document. Not safe for two processes (the LevelDB lock guards the folder). */
export class DocWal {
  private fd: number | null = null;
  private seq = 0;
  private size = 0;
  private file = '';

  constructor(readonly dir: string, readonly doc: string, private readonly fsync = false) {
    fs.mkdirSync(dir, { recursive: true });
  }

  private open(): void {
    this.seq++;
    this.file = path.join(this.dir, `${this.doc}.${Date.now().toString(36)}-${this.seq}.log`);
    this.fd = fs.openSync(this.file, 'a');
    this.size = 0;
  }

  /** Append updates in one write; throws on any error (nothing is then acknowledged). */
  append(updates: Uint8Array[]): void {
    if (this.fd === null) this.open();
    const buf = encodeRecords(updates);
    let off = 0;
    try {
      while (off < buf.length) off += fs.writeSync(this.fd!, buf, off, buf.length - off);
      if (this.fsync) fs.fdatasyncSync(this.fd!);
    } catch (err) {
      // A partial write must not stay in the file: a torn record in the middle would end the
      // replay there and drop the (retried, acknowledged) records after it.
      try {
        fs.ftruncateSync(this.fd!, this.size);
      } catch {
        // Cannot cut it: leave this file (its intact records still replay) and start another.
        try {
          fs.closeSync(this.fd!);
        } catch {
          /* already unusable */
        }
        this.fd = null;
      }
      throw err;
    }
    this.size += buf.length;
  }

  /**
   * Called when a LevelDB batch with everything appended so far starts: if the
   * current file is large, close it and return its path, to be deleted once
   * that batch has committed. Later appends go to a new file.
   */
  rotateIfLarge(limit = WAL_ROTATE_BYTES): string | null {
    if (this.fd === null || this.size < limit) return null;
    return this.closeCurrent();
  }

  /** Close the current file (if any) and return its path. */
  closeCurrent(): string | null {
    if (this.fd === null) return null;
    fs.closeSync(this.fd);
    this.fd = null;
    return this.file;
  }

  /**
   * Delete a log file whose records are all in LevelDB. Never throws: a file that cannot go
   * (EACCES, EBUSY) is reported and retried later with backoff; if the server stops first, the
   * next start replays it, which is harmless (Yjs applies updates idempotently).
   */
  static remove(file: string): boolean {
    try {
      fs.rmSync(file, { force: true });
      if (failedRemovals.size === 0) removalDelay = 1000;
      return true;
    } catch (err) {
      walHooks.onRemoveError(file, err as Error);
      failedRemovals.add(file);
      if (!removalRetry) {
        removalRetry = setTimeout(retryRemovals, removalDelay);
        removalRetry.unref();
        removalDelay = Math.min(removalDelay * 2, 60_000);
      }
      return false;
    }
  }
}

/**
 * Move every log left in `dataDir/wal` (or only those of document `only`) into LevelDB,
 * then delete the logs. Run before serving (the store must be open). Returns what was replayed.
 */
export async function replayWal(dataDir: string, store: DocStore, only?: string): Promise<{ files: number; records: number; docs: string[]; damaged: Array<{ file: string; stretches: number; bytes: number }> }> {
  const dir = walDir(dataDir);
  const damaged: Array<{ file: string; stretches: number; bytes: number }> = [];
  if (!fs.existsSync(dir)) return { files: 0, records: 0, docs: [], damaged };
  const byDoc = new Map<string, string[]>();
  for (const name of fs.readdirSync(dir)) {
    const m = /^(.+)\.[0-9a-z]+-\d+\.log$/.exec(name);
    if (!m || (only !== undefined && m[1] !== only)) continue;
    const list = byDoc.get(m[1]) ?? [];
    list.push(path.join(dir, name));
    byDoc.set(m[1], list);
  }
  let files = 0;
  let records = 0;
  for (const [doc, list] of byDoc) {
    const updates: Uint8Array[] = [];
    for (const f of list.sort()) {
      const r = readLog(f);
      for (const u of r.records) updates.push(u);
      if (r.damaged > 0) damaged.push({ file: path.basename(f), stretches: r.damaged, bytes: r.damagedBytes });
    }
    if (updates.length > 0) {
      await store.load(doc);
      // Updates already in LevelDB come again: Yjs applies them idempotently.
      await store.commit(doc, updates);
      store.forget(doc);
    }
    for (const f of list) DocWal.remove(f);
    files += list.length;
    records += updates.length;
  }
  return { files, records, docs: Array.from(byDoc.keys()), damaged };
}

/** Open a data folder for reading or writing outside the server: LevelDB plus any log replayed. */
export async function openDataDir(dataDir: string, store: DocStore): Promise<void> {
  await store.open();
  await replayWal(dataDir, store);
}
