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

/** Rows as aligned columns (the last column is not padded), each line indented by `indent`. */
export function table(rows: string[][], indent = '  '): string {
  if (rows.length === 0) return '';
  const n = Math.max(...rows.map((r) => r.length));
  const w = Array.from({ length: n }, (_, i) => Math.max(...rows.map((r) => width(r[i] ?? ''))));
  return rows
    .map((r) => indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(w[i] - width(cell)))).join('  ').trimEnd())
    .join('\n') + '\n';
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
  return new Date(now).toDateString() === d.toDateString() ? t : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${t}`;
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
