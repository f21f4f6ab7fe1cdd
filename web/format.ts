/** Formatting for the dashboard: escaping, ages, clock times. Pure, no DOM. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML content and attribute values. Everything shown from peers goes through here. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A duration for people: 0s, 42s, 5m, 2h 10m, 3d. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export function ago(t: number, now: number): string {
  return now - t < 1000 ? 'now' : `${duration(now - t)} ago`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** HH:MM:SS today, else "Mon D HH:MM". */
export function clock(t: number, now = Date.now()): string {
  const d = new Date(t);
  const n = new Date(now);
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === n.toDateString()) return hms;
  return `${d.toLocaleString('en', { month: 'short' })} ${d.getDate()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Full local date and time, for tooltips. */
export function fullTime(t: number): string {
  const d = new Date(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** ISO time for datetime attributes; empty for values that are not a time (data comes from peers). */
export function isoTime(t: number): string {
  const d = new Date(t);
  return Number.isFinite(d.getTime()) ? d.toISOString() : '';
}
