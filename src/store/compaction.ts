/**
 * When a document's stored log is compacted into one record. Pure, so that the
 * server's pipeline and the library peer's replica decide alike.
 *
 * Compact past the thresholds, but only once the log has grown by at least the
 * size of the last compacted state: re-encoding a large document on every
 * commit would cost more than linear time under a steady stream of writes.
 * Compaction re-encodes the document on the main thread, which delays
 * broadcasts, so it waits for a quiet moment unless the log has grown ten
 * times past the record threshold.
 */

export interface CompactionStats {
  /** Records in the log, counting the batch about to be committed. */
  records: number;
  /** Bytes in the log, counting that batch. */
  bytes: number;
  /** Size of the oldest record (the last compacted state). */
  baseBytes: number;
  /** Time since the last update arrived. */
  quietMs: number;
}

export interface CompactionConfig {
  compactRecords: number;
  compactBytes: number;
}

/** The server's defaults (relay/config.ts), used by the library peer's replica. */
export const DEFAULT_COMPACTION: CompactionConfig = { compactRecords: 500, compactBytes: 8 * 1024 * 1024 };

/** How long a document must go without updates before a due compaction runs. */
export const COMPACT_QUIET_MS = 200;

/** 'now': compact with this commit; 'when-quiet': due, wait for a quiet moment; 'no'. */
export type CompactionDecision = 'now' | 'when-quiet' | 'no';

export function shouldCompact(s: CompactionStats, c: CompactionConfig): CompactionDecision {
  const over = s.records > c.compactRecords || s.bytes > c.compactBytes;
  if (!over) return 'no';
  const hard = s.records > 10 * c.compactRecords;
  if (hard) return 'now';
  if (s.bytes - s.baseBytes < s.baseBytes) return 'no';
  return s.quietMs >= COMPACT_QUIET_MS ? 'now' : 'when-quiet';
}

/** A log read at load time this long is compacted at once rather than on every later load. */
export function compactAfterLoad(s: { records: number; bytes: number }, c: CompactionConfig): boolean {
  return s.records > c.compactRecords || s.bytes > c.compactBytes;
}
