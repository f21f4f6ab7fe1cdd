/** Percentiles, summaries, and the result table of the benchmark. */

/** Percentile `p` (0..100) of `values` by linear interpolation between closest ranks; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return percentileSorted(sorted, p);
}

export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return {
    count: n,
    min: n ? sorted[0] : NaN,
    mean: n ? sorted.reduce((s, v) => s + v, 0) / n : NaN,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: n ? sorted[n - 1] : NaN,
  };
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** One line of the result table. `huddle`/`reference` null means not measured (or not applicable). */
export interface ResultRow {
  section: string;
  metric: string;
  unit: string;
  huddle: number | null;
  reference: number | null;
  /** Human-readable goal, e.g. "< reference" or "< 200 ms"; empty when the row is informational. */
  goal: string;
  /** Whether huddle met the goal; null when there is no goal or it could not be judged. */
  met: boolean | null;
  /** Anything the reader should know about this row. */
  note?: string;
}

/** huddle / reference, or null when either is missing or the reference is 0. */
export function ratioOf(row: Pick<ResultRow, 'huddle' | 'reference'>): number | null {
  if (row.huddle === null || row.reference === null || !Number.isFinite(row.huddle) || !Number.isFinite(row.reference)) return null;
  if (row.reference === 0) return null;
  return row.huddle / row.reference;
}

/** A number with a sensible number of significant digits for a table. */
export function fmtNum(v: number | null, unit = ''): string {
  if (v === null || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const a = Math.abs(v);
  let s: string;
  if (a === 0) s = '0';
  else if (Number.isInteger(v) && a >= 1) s = v.toLocaleString('en-US');
  else if (a >= 1000) s = Math.round(v).toLocaleString('en-US');
  else if (a >= 100) s = v.toFixed(0);
  else if (a >= 10) s = v.toFixed(1);
  else if (a >= 1) s = v.toFixed(2);
  else s = v.toPrecision(2);
  return unit ? `${s} ${unit}` : s;
}

export function fmtRatio(r: number | null): string {
  if (r === null) return '-';
  return r >= 100 ? `${r.toFixed(0)}x` : r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
}

/** Render rows as an aligned plain-text table (columns: metric, huddle, reference, ratio, goal, met?). */
export function formatTable(rows: readonly ResultRow[]): string {
  const header = ['metric', 'huddle', 'reference', 'ratio', 'goal', 'met?'];
  const body = rows.map((r) => [
    r.metric + (r.unit ? ` (${r.unit})` : ''),
    fmtNum(r.huddle),
    fmtNum(r.reference),
    fmtRatio(ratioOf(r)),
    r.goal || '-',
    r.met === null ? '-' : r.met ? 'yes' : 'NO',
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const numeric = [false, true, true, true, false, false];
  const line = (cells: string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [line(header), sep];
  let lastSection = rows[0]?.section;
  for (let i = 0; i < body.length; i++) {
    if (rows[i].section !== lastSection) {
      out.push('');
      lastSection = rows[i].section;
    }
    out.push(line(body[i]));
  }
  const notes = rows.filter((r) => r.note);
  if (notes.length > 0) {
    out.push('', 'notes:');
    for (const r of notes) out.push(`  ${r.metric}: ${r.note}`);
  }
  return out.join('\n');
}
