/**
 * One schema per kind of record read from the shared document or from
 * awareness. Anyone with write access (or a read-only client, for awareness)
 * can put any JSON there, so readers never trust a shape: a wrongly typed
 * entry is ignored and counted (invalidRecordCounts, exposed in /metrics),
 * never thrown on.
 *
 * Document records go through zod; presence states, read on every awareness
 * change by every hosted session, go through hand-written guards. Both are
 * memoized per object (awareness replaces a state object on each update and a
 * Y.Map value is immutable), so a state is checked and counted once.
 */
// zod/mini: the same checks, tree-shaken (the full build added 450 KiB to the dashboard bundle).
import * as z from 'zod/mini';
import type { Decision, ForcedRelease, InterfaceDecl, Message, Note, TimelineEvent, Version } from './records.js';
import type { LockClaim } from './locks.js';
import { MAX_PATTERN, patternProblem } from './paths.js';
import type { EditingEntry, SessionState } from './session.js';

/** Longest lock path or glob accepted (longer ones cost too much to compare). */
export const MAX_LOCK_PATH = MAX_PATTERN;
/** Most claims read from one session's state; more are ignored. */
export const MAX_LOCKS_PER_SESSION = 256;
/** Most editing entries read from one session's state. */
export const MAX_EDITING_READ = 50;
/** Longest string field of a presence state (names, roles, intents...). */
export const MAX_PRESENCE_STRING = 4096;

export type RecordKind =
  | 'decision'
  | 'interface'
  | 'message'
  | 'task'
  | 'note'
  | 'timeline'
  | 'version'
  | 'forced'
  | 'presence'
  | 'lock'
  | 'editing';

const counts = new Map<RecordKind, number>();

export function countInvalid(kind: RecordKind, n = 1): void {
  counts.set(kind, (counts.get(kind) ?? 0) + n);
}

/** Invalid records seen since start, by kind (for huddle_invalid_records_total{kind}). */
export function invalidRecordCounts(): ReadonlyMap<RecordKind, number> {
  return counts;
}

// ---- document records (zod) ----------------------------------------------

const num = z.number(); // zod 4 numbers are finite
const str = z.string();
const opt = <T extends z.ZodMiniType>(t: T) => z.optional(t);
const authored = { by: str, byName: str, at: num };

const decision = z.object({ id: str, text: str, rationale: opt(str), supersedes: opt(str), ...authored });
const iface = z.object({
  name: str,
  file: str,
  description: opt(str),
  owner: str,
  ownerName: str,
  status: z.enum(['draft', 'ready', 'changed']),
  ...authored,
});
const message = z.object({
  id: str,
  to: str,
  kind: z.enum(['fyi', 'need-input', 'interface-ready', 'request', 'response', 'handoff']),
  text: str,
  replyTo: opt(str),
  needsReply: z.boolean(),
  taskId: opt(str),
  files: opt(z.array(str)),
  ...authored,
});
const note = z.object({ key: str, value: str, ...authored });
// `data`: compact facts of activity events (src/model/activity.ts); its values are read through guards (report.ts).
const timeline = z.object({ at: num, type: str, actor: str, actorName: str, summary: str, ref: opt(str), data: opt(z.record(str, z.unknown())) });
const version = z.object({ id: str, name: opt(str), summary: str, auto: z.boolean(), content: str, ...authored });
const forced = z.object({ claimId: str, holder: str, holderName: str, path: str, reason: opt(str), ...authored });
/** A task as Y.Map.toJSON() gives it (its id is the key). */
const task = z.object({
  title: str,
  detail: opt(str),
  role: opt(str),
  status: z.enum(['open', 'claimed', 'done', 'blocked']),
  assignee: opt(z.nullable(z.object({ id: str, name: str, at: num }))),
  deps: opt(z.array(str)),
  createdAt: num,
  updatedAt: num,
  by: str,
  byName: str,
  doneAt: opt(num),
  blockedReason: opt(str),
  lastNote: opt(str),
  orphaned: opt(z.object({ from: str, fromName: str, at: num, lastNote: opt(str) })),
  handoff: opt(z.object({ from: str, fromName: str, to: str, summary: str, files: z.array(str), at: num })),
});

export type TaskFields = z.infer<typeof task>;

interface DocKinds {
  decision: Decision;
  interface: InterfaceDecl;
  message: Message;
  note: Note;
  timeline: TimelineEvent;
  version: Version;
  forced: ForcedRelease;
}

const docSchemas: { [K in keyof DocKinds]: z.ZodMiniType } = { decision, interface: iface, message, note, timeline, version, forced };

const memo = new WeakMap<object, unknown>();
const INVALID = Symbol('invalid');
/** Keys of non-object invalid values already counted (bounded), so a stored bad value counts once. */
const seenPrimitive = new Set<string>();

function noteBadPrimitive(kind: RecordKind, key: string | number | undefined, value: unknown): void {
  const sig = `${kind}\u0000${key ?? ''}\u0000${typeof value}\u0000${String(value).slice(0, 64)}`;
  if (seenPrimitive.has(sig)) return;
  if (seenPrimitive.size > 10_000) seenPrimitive.clear();
  seenPrimitive.add(sig);
  countInvalid(kind);
}

/**
 * The record if `value` is a well-formed `kind`, else null (counted once per object).
 * `key` only makes counting of non-object values (a string where a record should be) distinct.
 */
export function validDoc<K extends keyof DocKinds>(kind: K, value: unknown, key?: string | number): DocKinds[K] | null {
  if (value === null || typeof value !== 'object') {
    noteBadPrimitive(kind, key, value);
    return null;
  }
  const hit = memo.get(value);
  if (hit !== undefined) return hit === INVALID ? null : (hit as DocKinds[K]);
  const r = docSchemas[kind].safeParse(value);
  memo.set(value, r.success ? r.data : INVALID);
  if (!r.success) countInvalid(kind);
  return r.success ? (r.data as DocKinds[K]) : null;
}

/** The fields of a task read from its Y.Map (toJSON is a fresh object each time, so not memoized). */
export function validTaskFields(id: string, json: unknown): TaskFields | null {
  const r = task.safeParse(json);
  if (r.success) return r.data;
  noteBadPrimitive('task', id, JSON.stringify(json)?.slice(0, 200));
  return null;
}

/** Record a task entry that is not a Y.Map at all (e.g. `tasks["t-evil"] = "x"`). */
export function invalidTaskEntry(id: string, value: unknown): void {
  noteBadPrimitive('task', id, value);
}

// ---- presence (hand-written: hot path) ------------------------------------

const isStr = (v: unknown, max = MAX_PRESENCE_STRING): v is string => typeof v === 'string' && v.length <= max;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optStr = (v: unknown): string | null | undefined => (v === undefined || v === null ? null : isStr(v) ? v : undefined);

/** A lock claim, or null when any field is wrongly typed or the path is empty or too long. */
export function validClaim(v: unknown): LockClaim | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const c = v as Record<string, unknown>;
  if (!isStr(c.id, 256) || !isStr(c.path, MAX_LOCK_PATH) || c.path === '' || patternProblem(c.path)) return null;
  if (c.mode !== 'exclusive' && c.mode !== 'shared') return null;
  if (!isNum(c.claimedAt) || !isNum(c.expiresAt) || !isNum(c.capAt) || typeof c.confirmed !== 'boolean') return null;
  if (c.reason !== undefined && !isStr(c.reason)) return null;
  const out: LockClaim = { id: c.id, path: c.path, mode: c.mode, claimedAt: c.claimedAt, expiresAt: c.expiresAt, capAt: c.capAt, confirmed: c.confirmed };
  if (c.reason !== undefined) out.reason = c.reason as string;
  return out;
}

function validEditing(v: unknown): EditingEntry | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const e = v as Record<string, unknown>;
  if (!isStr(e.path, MAX_LOCK_PATH) || !isNum(e.at)) return null;
  if (e.ranges === undefined) return { path: e.path, at: e.at };
  if (!Array.isArray(e.ranges) || e.ranges.length > 100) return null;
  const ranges: Array<[number, number]> = [];
  for (const r of e.ranges) {
    if (!Array.isArray(r) || r.length !== 2 || !isNum(r[0]) || !isNum(r[1])) return null;
    ranges.push([r[0], r[1]]);
  }
  return { path: e.path, at: e.at, ranges };
}

function parseSession(raw: unknown): SessionState | null {
  if (raw === null || typeof raw !== 'object') return null;
  const s = (raw as { huddle?: unknown }).huddle;
  // Not one of ours (another y-websocket app's state): not an error.
  if (s === undefined) return null;
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return bad();
  const o = s as Record<string, unknown>;
  if (o.v !== 1 || !isStr(o.id, 256) || o.id === '' || !isStr(o.name) || !isStr(o.role)) return bad();
  if (!isNum(o.lastActive) || !isNum(o.startedAt)) return bad();
  const kind = o.kind === undefined ? 'session' : o.kind;
  if (kind !== 'session' && kind !== 'watcher') return bad();
  if (o.locks !== undefined && !Array.isArray(o.locks)) return bad();
  if (o.editing !== undefined && !Array.isArray(o.editing)) return bad();
  const branch = optStr(o.branch);
  const taskV = optStr(o.task);
  const intent = optStr(o.intent);
  if (branch === undefined || taskV === undefined || intent === undefined) return bad();
  if (o.agent !== undefined && !isStr(o.agent)) return bad();
  if (o.host !== undefined && !isStr(o.host)) return bad();
  if (o.cwd !== undefined && !isStr(o.cwd)) return bad();
  if (o.pid !== undefined && !isNum(o.pid)) return bad();
  if (o.hosted !== undefined && typeof o.hosted !== 'boolean') return bad();
  const locks: LockClaim[] = [];
  const rawLocks = (o.locks as unknown[] | undefined) ?? [];
  let badLocks = 0;
  for (let i = 0; i < rawLocks.length; i++) {
    if (locks.length >= MAX_LOCKS_PER_SESSION) {
      badLocks += rawLocks.length - i;
      break;
    }
    const c = validClaim(rawLocks[i]);
    if (c) locks.push(c);
    else badLocks++;
  }
  if (badLocks > 0) countInvalid('lock', badLocks);
  const editing: EditingEntry[] = [];
  const rawEditing = (o.editing as unknown[] | undefined) ?? [];
  let badEditing = 0;
  for (const e of rawEditing.slice(-MAX_EDITING_READ)) {
    const x = validEditing(e);
    if (x) editing.push(x);
    else badEditing++;
  }
  if (badEditing > 0) countInvalid('editing', badEditing);
  return {
    v: 1,
    kind,
    id: o.id,
    name: o.name,
    role: o.role,
    agent: (o.agent as string | undefined) ?? 'script',
    host: (o.host as string | undefined) ?? '',
    pid: (o.pid as number | undefined) ?? 0,
    cwd: (o.cwd as string | undefined) ?? '',
    branch,
    task: taskV,
    intent,
    startedAt: o.startedAt,
    lastActive: o.lastActive,
    hosted: (o.hosted as boolean | undefined) ?? false,
    locks,
    editing,
  };
}

function bad(): null {
  countInvalid('presence');
  return null;
}

const sessions = new WeakMap<object, SessionState | typeof INVALID>();

/**
 * The huddle session in an awareness state, checked and normalized, or null
 * (not ours, or wrongly typed: then counted once per state object).
 */
export function validSession(raw: unknown): SessionState | null {
  if (raw === null || typeof raw !== 'object') return null;
  const hit = sessions.get(raw);
  if (hit !== undefined) return hit === INVALID ? null : hit;
  const s = parseSession(raw);
  sessions.set(raw, s ?? INVALID);
  return s;
}

/** The well-formed values among a map's entries (absent values are not counted). */
export function validEntries<K extends keyof DocKinds>(kind: K, entries: Iterable<[string, unknown]>): Array<DocKinds[K]> {
  const out: Array<DocKinds[K]> = [];
  for (const [key, v] of entries) {
    const r = validDoc(kind, v, key);
    if (r) out.push(r);
  }
  return out;
}

/** The well-formed items of an array (timeline, versions). */
export function validItems<K extends keyof DocKinds>(kind: K, items: unknown[]): Array<DocKinds[K]> {
  const out: Array<DocKinds[K]> = [];
  for (let i = 0; i < items.length; i++) {
    const r = validDoc(kind, items[i], i);
    if (r) out.push(r);
  }
  return out;
}

/** One value of a map, or undefined when absent or wrongly typed. */
export function validGet<K extends keyof DocKinds>(kind: K, value: unknown, key: string): DocKinds[K] | undefined {
  return value === undefined ? undefined : (validDoc(kind, value, key) ?? undefined);
}
