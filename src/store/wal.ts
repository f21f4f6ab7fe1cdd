/**
 * A write-ahead log per document, so that an update is durable (it survives
 * `kill -9`) after one synchronous write() of a few microseconds, without
 * waiting for a LevelDB batch on the thread pool. LevelDB still receives every
 * update in the background; a log file is deleted once everything in it is in
 * LevelDB, and any file left by a crash is replayed into LevelDB at start-up.
 *
 * Files: <dataDir>/wal/<doc>.<n>.log. Records: u32 length, u32 crc32, update.
 * A torn last record (crash mid-write) fails its length or checksum and ends
 * the replay of that file.
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
  const buf = fs.readFileSync(file);
  const out: Uint8Array[] = [];
  let o = 0;
  while (o + HEADER <= buf.length) {
    const len = buf.readUInt32LE(o);
    const sum = buf.readUInt32LE(o + 4);
    if (o + HEADER + len > buf.length) break;
    const rec = buf.subarray(o + HEADER, o + HEADER + len);
    if (crc32(rec) !== sum) break;
    out.push(new Uint8Array(rec));
    o += HEADER + len;
  }
  return out;
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

  static remove(file: string): void {
    fs.rmSync(file, { force: true });
  }
}

/**
 * Move every log left in `dataDir/wal` (or only those of document `only`) into LevelDB,
 * then delete the logs. Run before serving (the store must be open). Returns what was replayed.
 */
export async function replayWal(dataDir: string, store: DocStore, only?: string): Promise<{ files: number; records: number; docs: string[] }> {
  const dir = walDir(dataDir);
  if (!fs.existsSync(dir)) return { files: 0, records: 0, docs: [] };
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
    for (const f of list.sort()) updates.push(...readRecords(f));
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
  return { files, records, docs: Array.from(byDoc.keys()) };
}

/** Open a data folder for reading or writing outside the server: LevelDB plus any log replayed. */
export async function openDataDir(dataDir: string, store: DocStore): Promise<void> {
  await store.open();
  await replayWal(dataDir, store);
}
