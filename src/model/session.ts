/**
 * What a session publishes in awareness, and how everyone reads it.
 * Presence never touches the document: heartbeats, status and locks live
 * here and vanish with their owner.
 */
import type { LockClaim } from './locks.js';
import { validSession } from './schemas.js';

export type AgentKind = 'claude-code' | 'cursor' | 'codex' | 'human' | 'script' | (string & {});
export type SessionStatus = 'active' | 'idle' | 'stale';

export interface EditingEntry {
  path: string;
  /** 1-based inclusive line ranges touched, when known. */
  ranges?: Array<[number, number]>;
  at: number;
}

/** The awareness state of one session (field `huddle` of the awareness state). */
export interface SessionState {
  v: 1;
  /** 'session' for agents and people; 'watcher' for dashboards (shown apart, hold nothing). */
  kind: 'session' | 'watcher';
  /** Stable identity across reconnects and processes (e.g. Claude Code's session_id). */
  id: string;
  name: string;
  role: string;
  agent: AgentKind;
  host: string;
  pid: number;
  cwd: string;
  branch: string | null;
  task: string | null;
  intent: string | null;
  startedAt: number;
  /** Last sign of life: any action of the session (heartbeats do not count). */
  lastActive: number;
  /** Hosted by a server on behalf of a thin client (hooks, CLI, MCP). */
  hosted: boolean;
  locks: LockClaim[];
  editing: EditingEntry[];
}

export interface SessionInfo {
  id: string;
  name?: string;
  role?: string;
  agent?: AgentKind;
  host?: string;
  pid?: number;
  cwd?: string;
  branch?: string | null;
  task?: string | null;
  intent?: string | null;
  kind?: 'session' | 'watcher';
}

/** Status thresholds, by time since the last sign of life. */
export const STATUS_THRESHOLDS = {
  /** active below this. */
  idleAfterMs: 2 * 60_000,
  /** idle below this, stale from here on. A stale session's locks are not enforced. */
  staleAfterMs: 10 * 60_000,
};

export function statusOf(s: Pick<SessionState, 'lastActive'>, now: number, t = STATUS_THRESHOLDS): SessionStatus {
  const age = now - s.lastActive;
  if (age < t.idleAfterMs) return 'active';
  if (age < t.staleAfterMs) return 'idle';
  return 'stale';
}

/** Most files a session lists as being edited (oldest dropped first). */
export const MAX_EDITING = 50;

export function newSessionState(info: SessionInfo, defaults: { host: string; pid: number; cwd: string }, now: number, hosted: boolean): SessionState {
  return {
    v: 1,
    kind: info.kind ?? 'session',
    id: info.id,
    name: info.name ?? info.id,
    role: info.role ?? 'agent',
    agent: info.agent ?? 'script',
    host: info.host ?? defaults.host,
    pid: info.pid ?? defaults.pid,
    cwd: info.cwd ?? defaults.cwd,
    branch: info.branch ?? null,
    task: info.task ?? null,
    intent: info.intent ?? null,
    startedAt: now,
    lastActive: now,
    hosted,
    locks: [],
    editing: [],
  };
}

/** Read a session out of an arbitrary awareness state, or null if it is not one of ours. */
export function sessionOf(state: unknown): SessionState | null {
  // Checked field by field (schemas.ts): anyone, even a read-only client, can publish any JSON.
  return validSession(state);
}

/** Merge a new editing entry in, newest last, bounded. */
export function withEditing(list: EditingEntry[], entry: EditingEntry): EditingEntry[] {
  const prev = list.find((e) => e.path === entry.path);
  const ranges = mergeRanges([...(prev?.ranges ?? []), ...(entry.ranges ?? [])]);
  const next = list.filter((e) => e.path !== entry.path);
  next.push({ path: entry.path, at: entry.at, ...(ranges.length ? { ranges } : {}) });
  return next.slice(-MAX_EDITING);
}

export function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = ranges.map(([a, b]): [number, number] => [Math.min(a, b), Math.max(a, b)]).sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out.slice(-20);
}
