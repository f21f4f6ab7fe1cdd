/**
 * Persistence in process memory: durable only as long as the process lives.
 * For tests, benchmarks and embedders that keep nothing on disk; it follows
 * the same contract as the durable implementations otherwise.
 */
import { mergeLog } from './doc-store.js';
import type { Persistence, StoreStats, StoredDoc } from './persistence.js';

export class MemoryPersistence implements Persistence {
  readonly kind = 'memory';
  /** Every document's records (a compacted state first, then updates), kept across forget(). */
  private readonly records = new Map<string, Uint8Array[]>();
  private readonly loaded = new Set<string>();
  private opened = false;

  async open(): Promise<void> {
    this.opened = true;
  }

  async load(doc: string): Promise<StoredDoc> {
    this.mustBeOpen();
    this.loaded.add(doc);
    const recs = this.records.get(doc) ?? [];
    let bytes = 0;
    for (const r of recs) bytes += r.byteLength;
    const update = recs.length === 0 ? null : recs.length === 1 ? recs[0] : mergeLog(recs);
    return { update, records: recs.length, bytes };
  }

  appendDurable(doc: string, updates: Uint8Array[]): void {
    this.mustBeLoaded(doc);
    if (updates.length === 0) return;
    const recs = this.records.get(doc) ?? [];
    // Copies: a caller may reuse its buffers.
    for (const u of updates) recs.push(u.slice());
    this.records.set(doc, recs);
  }

  async commit(doc: string, compactTo?: Uint8Array): Promise<void> {
    this.mustBeLoaded(doc);
    if (compactTo) this.records.set(doc, [compactTo.slice()]);
  }

  stats(doc: string): StoreStats {
    const recs = this.loaded.has(doc) ? (this.records.get(doc) ?? []) : [];
    let bytes = 0;
    for (const r of recs) bytes += r.byteLength;
    return { records: recs.length, bytes, baseBytes: recs[0]?.byteLength ?? 0 };
  }

  async list(): Promise<string[]> {
    return Array.from(this.records.keys()).sort();
  }

  forget(doc: string): void {
    this.loaded.delete(doc);
  }

  async close(): Promise<void> {
    this.loaded.clear();
    this.opened = false;
  }

  private mustBeOpen(): void {
    if (!this.opened) throw new Error('memory persistence is not open');
  }

  private mustBeLoaded(doc: string): void {
    this.mustBeOpen();
    if (!this.loaded.has(doc)) throw new Error(`document ${doc} was not loaded`);
  }
}
