/**
 * Human output of the huddle command: aligned columns, relative times, and
 * colour: `--color always|never` (HUDDLE_COLOR), else FORCE_COLOR, else only on
 * a terminal without NO_COLOR. `--json` output never comes here.
 */

import { publicJson, selectField } from './json.js';

export function useColor(env: NodeJS.ProcessEnv = process.env, tty = Boolean(process.stdout.isTTY)): boolean {
  if (env.HUDDLE_COLOR === 'always') return true;
  if (env.HUDDLE_COLOR === 'never') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return tty && !env.NO_COLOR;
}

const paint = (code: string) => (s: string) => (useColor() ? `\x1b[${code}m${s}\x1b[0m` : s);

export const c = {
  bold: paint('1'),
  dim: paint('2'),
  red: paint('31'),
  green: paint('32'),
  yellow: paint('33'),
  cyan: paint('36'),
};

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const width = (s: string) => s.replace(ANSI, '').length;

/** The terminal's width: the terminal's own, else $COLUMNS, else unlimited (a pipe or a file). */
export function terminalWidth(): number {
  if (process.stdout.isTTY && process.stdout.columns) return process.stdout.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env > 0 ? env : Infinity;
}

/** A cell cut to `max` visible characters, with an ellipsis (colour dropped from a cut cell). */
function fit(cell: string, max: number): string {
  if (width(cell) <= max) return cell;
  return cell.replace(ANSI, '').slice(0, Math.max(0, max - 1)) + '…';
}

/**
 * Rows as aligned columns (the last column is not padded), each line indented
 * by `indent`, cut to the terminal width: the widest columns shrink first (down
 * to 8 characters) and their cells end in "…". `header`, when given, is the
 * first row, dimmed.
 */
export function table(rows: string[][], indent = '  ', header?: string[], maxWidth = terminalWidth()): string {
  if (rows.length === 0) return '';
  const all = header ? [header.map((h) => c.dim(h)), ...rows] : rows;
  const n = Math.max(...all.map((r) => r.length));
  const w = Array.from({ length: n }, (_, i) => Math.max(...all.map((r) => width(r[i] ?? ''))));
  const total = () => indent.length + w.reduce((a, b) => a + b, 0) + 2 * (n - 1);
  while (total() > maxWidth) {
    const widest = w.indexOf(Math.max(...w));
    if (w[widest] <= 8) break;
    w[widest] = Math.max(8, w[widest] - (total() - maxWidth));
  }
  return all
    .map((r) => indent + r.map((cell, i) => {
      const cut = fit(cell, w[i]);
      return i === r.length - 1 ? cut : cut + ' '.repeat(w[i] - width(cut));
    }).join('  ').trimEnd())
    .join('\n') + '\n';
}

/** "1 conflict", "2 conflicts"; `many` for irregular plurals. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "in 5 min" for the future. */
export function ago(at: number | null | undefined, now = Date.now()): string {
  if (!at) return '-';
  const d = now - at;
  const future = d < 0;
  const s = Math.round(Math.abs(d) / 1000);
  const span = s < 1 ? 'now' : s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 86400 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} d`;
  if (span === 'now') return 'just now';
  return future ? `in ${span}` : `${span} ago`;
}

/** Local clock time, with the date when it is not today. */
export function clock(at: number, now = Date.now()): string {
  const d = new Date(at);
  const pad = (x: number) => String(x).padStart(2, '0');
  const t = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const n = new Date(now);
  // Compared field by field: toDateString formats (about 0.4 ms the first time, in a short command).
  const today = n.getDate() === d.getDate() && n.getMonth() === d.getMonth() && n.getFullYear() === d.getFullYear();
  return today ? t : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${t}`;
}

/** Every full id in a text for people (`t-mx5221zu00-8d32e4e4c4e41686`) in its short form (`t-8d32e4`). */
export function shortIds(text: string): string {
  return text.replace(/\b([a-z])-[0-9a-z]{10}-([0-9a-f]{16})\b/g, (_m, p: string, hex: string) => `${p}-${hex.slice(0, 6)}`);
}

/** A short form of an id for people: the prefix and the first random characters. */
export function short(id: string | undefined | null): string {
  if (!id) return '-';
  const parts = id.split('-');
  return parts.length >= 3 ? `${parts[0]}-${parts[2].slice(0, 6)}` : id;
}

export function clip(s: string | null | undefined, n = 60): string {
  if (!s) return '';
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

/**
 * Prose cut into lines at spaces to fit the terminal (tables are cut by `table`): a longer line
 * goes on under its own indent plus two spaces. A word longer than the width stays whole.
 */
export function wrap(text: string, maxWidth = terminalWidth()): string {
  if (!Number.isFinite(maxWidth)) return text;
  return text.split('\n').map((line) => {
    if (width(line) <= maxWidth) return line;
    const indent = /^\s*/.exec(line)![0];
    const hang = indent + '  ';
    const lines: string[] = [];
    let cur = indent;
    for (const word of line.slice(indent.length).split(' ')) {
      const lead = lines.length ? hang : indent;
      if (cur !== lead && width(cur) + 1 + width(word) > maxWidth) {
        lines.push(cur);
        cur = hang + word;
      } else cur = cur === lead ? cur + word : `${cur} ${word}`;
    }
    lines.push(cur);
    return lines.join('\n');
  }).join('\n');
}

export function heading(title: string, count?: number): string {
  return c.bold(title) + (count === undefined ? '' : c.dim(` (${count})`)) + '\n';
}

export function statusColor(status: string): string {
  return status === 'active' || status === 'held' || status === 'confirmed' || status === 'done' || status === 'ready' ? c.green(status)
    : status === 'idle' || status === 'pending' || status === 'claimed' || status === 'draft' || status === 'changed' ? c.yellow(status)
    : status === 'stale' || status === 'blocked' ? c.red(status)
    : status;
}

export function out(s: string): void {
  process.stdout.write(s.endsWith('\n') || s === '' ? s : s + '\n');
}

let field: string | undefined;

/** `--field PATH`: print only that part of every JSON output (see selectField). */
export function setJsonField(path: string | undefined): void {
  field = path;
}

/**
 * Print a command's JSON result in the public vocabulary (cli/json.ts); with
 * --field, only the selected part, a string as plain text (like `jq -r`).
 */
export function json(v: unknown): void {
  let out = publicJson(v);
  if (field !== undefined) {
    out = selectField(out, field);
    if (typeof out === 'string') return void process.stdout.write(out + '\n');
  }
  process.stdout.write(JSON.stringify(out ?? null, null, 2) + '\n');
}

/** One JSON line (NDJSON, for `watch --json`), in the public vocabulary and with --field. */
export function jsonLine(v: unknown): void {
  let out = publicJson(v);
  if (field !== undefined) out = selectField(out, field);
  process.stdout.write((typeof out === 'string' && field !== undefined ? out : JSON.stringify(out ?? null)) + '\n');
}
