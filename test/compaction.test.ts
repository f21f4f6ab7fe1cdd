/** shouldCompact: the compaction policy alone, as a table. */
import { describe, expect, it } from 'vitest';
import { COMPACT_QUIET_MS, compactAfterLoad, shouldCompact } from '../src/store/compaction.js';

const cfg = { compactRecords: 500, compactBytes: 8 * 1024 * 1024 };
const quiet = COMPACT_QUIET_MS;

describe('shouldCompact', () => {
  it('leaves a log under both thresholds alone', () => {
    expect(shouldCompact({ records: 500, bytes: 1000, baseBytes: 10, quietMs: 1e9 }, cfg)).toBe('no');
  });

  it('compacts past the record threshold once the log has grown by the last compacted state, at a quiet moment', () => {
    expect(shouldCompact({ records: 501, bytes: 2000, baseBytes: 1000, quietMs: quiet }, cfg)).toBe('now');
    expect(shouldCompact({ records: 501, bytes: 2000, baseBytes: 1000, quietMs: quiet - 1 }, cfg)).toBe('when-quiet');
  });

  it('does not compact while the log has grown by less than the last compacted state', () => {
    expect(shouldCompact({ records: 600, bytes: 1999, baseBytes: 1000, quietMs: 1e9 }, cfg)).toBe('no');
  });

  it('compacts past the byte threshold too', () => {
    expect(shouldCompact({ records: 2, bytes: cfg.compactBytes + 1, baseBytes: 10, quietMs: quiet }, cfg)).toBe('now');
  });

  it('compacts at once, quiet or not, past ten times the record threshold', () => {
    expect(shouldCompact({ records: 5001, bytes: 2000, baseBytes: 1999, quietMs: 0 }, cfg)).toBe('now');
    expect(shouldCompact({ records: 5000, bytes: 2000, baseBytes: 1999, quietMs: 0 }, cfg)).toBe('no');
  });

  it('compacts a long log found at load', () => {
    expect(compactAfterLoad({ records: 501, bytes: 1 }, cfg)).toBe(true);
    expect(compactAfterLoad({ records: 1, bytes: cfg.compactBytes + 1 }, cfg)).toBe(true);
    expect(compactAfterLoad({ records: 500, bytes: 1 }, cfg)).toBe(false);
  });
});
