/**
 * A small journal of the sessions this server hosts, so that they and their
 * locks survive a restart (an upgrade, a crash, `kill -9`).
 *
 * `<data>/sessions.journal`: JSON lines (src/store/session-journal-codec.ts).
 * Changes are batched: a session is marked dirty and its current entry is
 * appended at the next flush (a timer for presence changes, which are
 * frequent; at once for lock changes). Appends are one write() each, with no
 * fsync, like the write-ahead log: the OS keeps written data across a process
 * crash. The file is rewritten with only the live entries (temp file, then
 * rename) at open and whenever it has grown past a few times that size, so it
 * never grows without bound.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeJournal, encodeRecord, journalKey, type JournalEntry } from '../src/store/session-journal-codec.js';
import type { Logger } from './log.js';

export const JOURNAL_FILE = 'sessions.journal';

export interface JournalOptions {
  /** Batch presence changes for this long. Default 250 ms. */
  flushMs?: number;
  /** Rewrite once the file is this many times the live size (and past minBytes). Default 4. */
  compactFactor?: number;
  minCompactBytes?: number;
}

export class SessionJournal {
  readonly file: string;
  private fd: number | null = null;
  private live = new Map<string, JournalEntry>();
  private readonly dirty = new Map<string, () => JournalEntry | null>();
  private timer: NodeJS.Timeout | null = null;
  private urgent = false;
  private bytes = 0;
  private liveBytes = 0;
  private readonly flushMs: number;
  private readonly factor: number;
  private readonly minBytes: number;
  /** Lines skipped at open (torn or malformed). */
  skipped = 0;

  constructor(dataDir: string, private readonly log: Logger, opts: JournalOptions = {}) {
    this.file = path.join(dataDir, JOURNAL_FILE);
    this.flushMs = opts.flushMs ?? 250;
    this.factor = opts.compactFactor ?? 4;
    this.minBytes = opts.minCompactBytes ?? 64 * 1024;
  }

  /** Read what the last run left, keep the entries `keep` wants, compact, and keep appending. */
  open(keep: (e: JournalEntry) => boolean = () => true): JournalEntry[] {
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn('cannot read the session journal; starting without it', { error: (err as Error).message });
    }
    const { entries, bad } = decodeJournal(text);
    this.skipped = bad;
    if (bad > 0) this.log.warn('session journal: skipped unreadable records', { count: bad });
    for (const [k, e] of entries) if (!keep(e)) entries.delete(k);
    this.live = entries;
    this.rewrite();
    return Array.from(entries.values());
  }

  /** Note that a session changed; `read` gives its entry at flush time (null: it is gone). */
  mark(project: string, id: string, read: () => JournalEntry | null, urgent = false): void {
    if (this.fd === null) return;
    this.dirty.set(journalKey(project, id), read);
    if (urgent) {
      if (!this.urgent) {
        this.urgent = true;
        queueMicrotask(() => this.flush());
      }
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** The session ended or was removed: forget it. */
  remove(project: string, id: string): void {
    this.mark(project, id, () => null, true);
  }

  /** Append every dirty session's current entry in one write. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.urgent = false;
    if (this.fd === null || this.dirty.size === 0) return;
    let out = '';
    for (const [key, read] of this.dirty) {
      let e: JournalEntry | null;
      try {
        e = read();
      } catch {
        e = null;
      }
      const [p, id] = key.split('\u0000');
      if (e) {
        this.live.set(key, e);
        out += encodeRecord({ op: 'put', s: e });
      } else if (this.live.delete(key)) {
        out += encodeRecord({ op: 'del', p, id });
      }
    }
    this.dirty.clear();
    if (!out) return;
    try {
      const buf = Buffer.from(out);
      fs.writeSync(this.fd, buf);
      this.bytes += buf.length;
    } catch (err) {
      this.log.error('session journal write failed', { error: (err as Error).message });
      return;
    }
    if (this.bytes > this.minBytes && this.bytes > this.factor * this.liveBytes) this.rewrite();
  }

  /** Write only the live entries to a new file and switch to it. */
  private rewrite(): void {
    const text = Array.from(this.live.values(), (s) => encodeRecord({ op: 'put', s })).join('');
    const tmp = `${this.file}.tmp`;
    try {
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, this.file);
      if (this.fd !== null) fs.closeSync(this.fd);
      this.fd = fs.openSync(this.file, 'a');
      this.bytes = this.liveBytes = Buffer.byteLength(text);
    } catch (err) {
      this.log.error('session journal rewrite failed', { error: (err as Error).message });
      if (this.fd === null) {
        try {
          this.fd = fs.openSync(this.file, 'a');
        } catch {
          /* journal disabled */
        }
      }
    }
  }

  /** Size of the file as written by this process (for tests and metrics). */
  get size(): number {
    return this.bytes;
  }

  close(): void {
    this.flush();
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
