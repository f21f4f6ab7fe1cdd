/**
 * The state at a glance, as one stable JSON object (what `huddle peek --json`
 * prints and the HTTP API returns), and the events that tell how it changed.
 * Pure: built from a SharedContext and a PresenceView.
 */
import type { SharedContext, Decision, InterfaceDecl, Message, Task, Note, TimelineEvent } from './context.js';
import { KINDS, ownsTimeline } from './kinds/index.js';
import { ACTIVITY_TYPES } from './activity.js';
import { editOverlaps, type EditOverlap, type LockView, type PresenceView, type SessionView } from './view.js';

export interface Snapshot {
  project: string;
  /** ms since epoch when the snapshot was taken. */
  at: number;
  /** live: from a connected server; offline: from a local replica, as of `asOf`. */
  source: 'live' | 'offline';
  asOf: number | null;
  /** The link of the server to a team relay, when it has one (filled in by the server). */
  upstream?: { url: string; status: string; authoritative: boolean; since: number; reason?: string | null; downSince?: number | null } | null;
  /** Set when sessions and locks are the last ones seen live (server away), as of this time. */
  presenceAsOf?: number | null;
  sessions: SessionView[];
  watchers: number;
  locks: LockView[];
  tasks: { open: Task[]; claimed: Task[]; blocked: Task[]; doneRecently: Task[] };
  decisions: Decision[];
  interfaces: InterfaceDecl[];
  requests: Message[];
  inbox: Message[] | null;
  conflicts: EditOverlap[];
  notes: Note[];
  timeline: TimelineEvent[];
}

export interface SnapshotOptions {
  project: string;
  now?: number;
  /** Reader whose unread messages go in `inbox`. */
  reader?: { id: string; role?: string; name?: string } | null;
  decisions?: number;
  timeline?: number;
  source?: 'live' | 'offline';
  asOf?: number | null;
}

export function buildSnapshot(ctx: SharedContext, presence: PresenceView, opts: SnapshotOptions): Snapshot {
  const now = opts.now ?? Date.now();
  const tasks = ctx.tasks();
  const dayAgo = now - 24 * 3600_000;
  return {
    project: opts.project,
    at: now,
    source: opts.source ?? 'live',
    asOf: opts.asOf ?? null,
    sessions: presence.sessions,
    watchers: presence.watchers.length,
    locks: presence.locks,
    tasks: {
      open: tasks.filter((t) => t.status === 'open'),
      claimed: tasks.filter((t) => t.status === 'claimed'),
      blocked: tasks.filter((t) => t.status === 'blocked'),
      doneRecently: tasks.filter((t) => t.status === 'done' && (t.doneAt ?? 0) >= dayAgo),
    },
    decisions: ctx.decisions({ includeSuperseded: false }).slice(-(opts.decisions ?? 10)),
    interfaces: ctx.interfaces(),
    requests: ctx.openRequests(),
    inbox: opts.reader ? ctx.inbox(opts.reader) : null,
    conflicts: editOverlaps(presence),
    notes: ctx.notes(),
    timeline: ctx.timeline({ limit: opts.timeline ?? 20 }),
  };
}

/** One line of `huddle watch`. */
export interface WatchEvent {
  at: number;
  type:
    | 'session.joined'
    | 'session.left'
    | 'session.stale'
    | 'session.active'
    | 'lock.taken'
    | 'lock.released'
    | 'lock.forced'
    | 'decision'
    | 'message'
    | `task.${string}`
    | 'interface'
    | 'note'
    | 'note.deleted'
    | 'version'
    | 'rollback'
    | 'sync'
    | `sync.${string}`
    | 'lock.held'
    | 'lock.waited'
    | 'edit.denied'
    | 'other';
  session?: string;
  sessionName?: string;
  path?: string;
  summary: string;
  ref?: string;
}

/** Presence changes between two views, as watch events. */
export function presenceEvents(prev: PresenceView, next: PresenceView, now = Date.now()): WatchEvent[] {
  const out: WatchEvent[] = [];
  const before = new Map(prev.sessions.map((s) => [s.id, s]));
  const after = new Map(next.sessions.map((s) => [s.id, s]));
  for (const [id, s] of after) {
    const p = before.get(id);
    if (!p) out.push({ at: now, type: 'session.joined', session: id, sessionName: s.name, summary: `${s.name} joined as ${s.role}${s.task ? ` (task: ${s.task})` : ''}` });
    else if (p.status !== 'stale' && s.status === 'stale') out.push({ at: now, type: 'session.stale', session: id, sessionName: s.name, summary: `${s.name} went stale` });
    else if (p.status === 'stale' && s.status !== 'stale') out.push({ at: now, type: 'session.active', session: id, sessionName: s.name, summary: `${s.name} is back` });
  }
  for (const [id, s] of before) if (!after.has(id)) out.push({ at: now, type: 'session.left', session: id, sessionName: s.name, summary: `${s.name} left` });
  const key = (l: LockView) => l.id;
  const held = (v: PresenceView) => new Map(v.locks.filter((l) => l.state === 'held').map((l) => [key(l), l]));
  const hb = held(prev);
  const ha = held(next);
  for (const [k, l] of ha) if (!hb.has(k)) out.push({ at: now, type: 'lock.taken', session: l.session, sessionName: l.sessionName, path: l.path, summary: `${l.sessionName} locked ${l.path} (${l.mode}${l.reason ? `: ${l.reason}` : ''})` });
  for (const [k, l] of hb) if (!ha.has(k)) out.push({ at: now, type: 'lock.released', session: l.session, sessionName: l.sessionName, path: l.path, summary: `${l.path} released by ${l.sessionName}` });
  return out;
}

/** A timeline entry of the document as a watch event. */
export function timelineEvent(e: TimelineEvent): WatchEvent {
  const t = e.type;
  const kind = KINDS.find((k) => ownsTimeline(k, t));
  // The timeline's own type names (task.added, note.deleted...): watch and timeline say the same.
  // Activity the server records (lock.held, lock.waited, edit.denied...) keeps its name too.
  const type = (kind || ACTIVITY_TYPES.has(t) || t === 'lock.forced' || t === 'version' || t === 'rollback' ? t : 'other') as WatchEvent['type'];
  const what = type === 'other' ? `${t}: ` : '';
  return { at: e.at, type, session: e.actor, sessionName: e.actorName, summary: `${e.actorName}: ${what}${e.summary}`, ref: e.ref };
}
