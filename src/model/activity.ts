/**
 * Activity events for "what each session did" (issue 17), written into the
 * bounded timeline where they happen, compact and deduplicated, never per
 * heartbeat:
 *
 *   session.joined   a session id appeared in presence
 *   session.left     it has been gone `leftAfterMs` (data: ms present, files it was editing)
 *   lock.held        a held lock went away (data: path, ms, mode)
 *   lock.waited      a lock request waited on, or was refused by, another's lock (data: path, holder, ms, got)
 *   edit.denied      an edit refused because another session holds the file (data: path, holder); once per
 *                    session, path and holder in `DENY_DEDUPE_MS`
 *
 * The tracker is pure: it is fed presence views with their time and answers
 * the events to record; the server's activity extension feeds it (only the
 * server that arbitrates, so that a team's events are recorded once).
 */
import type { Actor, SharedContext, TimelineEvent } from './context.js';
import type { PresenceView } from './view.js';

export const DENY_DEDUPE_MS = 10 * 60_000;

/** Timeline types the server records from presence and hooks, not from an operation. */
export const ACTIVITY_TYPES: ReadonlySet<string> = new Set(['session.joined', 'session.left', 'lock.held', 'lock.waited', 'edit.denied']);

export interface ActivityEvent {
  actor: Actor;
  type: 'session.joined' | 'session.left' | 'lock.held';
  summary: string;
  ref?: string;
  at: number;
  data?: Record<string, string | number | boolean | string[]>;
}

interface Seen {
  name: string;
  role: string;
  since: number;
  lastSeen: number;
  editing: string[];
}

const mins = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

export class ActivityTracker {
  private readonly present = new Map<string, Seen>();
  private readonly held = new Map<string, { session: string; name: string; role: string; path: string; mode: string; since: number }>();

  /**
   * `timeline`: the document's, so that a restarted server does not record joins again for
   * sessions whose last event is a join (they are taken as present since then).
   */
  constructor(timeline: TimelineEvent[], private readonly leftAfterMs = 10_000, now = Date.now()) {
    const last = new Map<string, TimelineEvent>();
    for (const e of timeline) if (e.type === 'session.joined' || e.type === 'session.left') last.set(e.actor, e);
    for (const [id, e] of last) if (e.type === 'session.joined') this.present.set(id, { name: e.actorName, role: typeof e.data?.role === 'string' ? e.data.role : 'agent', since: e.at, lastSeen: now, editing: [] });
  }

  /** The events a new view brings. */
  feed(view: PresenceView, now = Date.now()): ActivityEvent[] {
    const out: ActivityEvent[] = [];
    const here = new Set<string>();
    for (const s of view.sessions) {
      here.add(s.id);
      const p = this.present.get(s.id);
      const editing = (s.editing ?? []).map((e) => e.path).slice(-30);
      if (p) {
        p.lastSeen = now;
        p.name = s.name;
        p.role = s.role;
        if (editing.length) p.editing = Array.from(new Set([...p.editing, ...editing])).slice(-30);
        continue;
      }
      this.present.set(s.id, { name: s.name, role: s.role, since: now, lastSeen: now, editing });
      out.push({ actor: { id: s.id, name: s.name, role: s.role }, type: 'session.joined', summary: `${s.name} joined as ${s.role}`, at: now, data: { role: s.role } });
    }
    for (const [id, p] of this.present) {
      if (here.has(id) || now - p.lastSeen < this.leftAfterMs) continue;
      this.present.delete(id);
      const ms = Math.max(0, p.lastSeen - p.since);
      out.push({ actor: { id, name: p.name, role: p.role }, type: 'session.left', summary: `${p.name} left after ${mins(ms)}`, at: p.lastSeen, data: { ms, role: p.role, files: p.editing } });
    }
    const nowHeld = new Set<string>();
    for (const l of view.locks) {
      if (l.state !== 'held') continue;
      nowHeld.add(l.id);
      if (!this.held.has(l.id)) this.held.set(l.id, { session: l.session, name: l.sessionName, role: l.role, path: l.path, mode: l.mode, since: l.claimedAt });
    }
    for (const [id, h] of this.held) {
      if (nowHeld.has(id)) continue;
      this.held.delete(id);
      const ms = Math.max(0, now - h.since);
      out.push({ actor: { id: h.session, name: h.name, role: h.role }, type: 'lock.held', summary: `${h.path} held ${mins(ms)} (${h.mode})`, ref: h.path, at: now, data: { path: h.path, ms, mode: h.mode } });
    }
    return out;
  }
}

/** Record the tracker's events. */
export function recordActivity(ctx: SharedContext, events: ActivityEvent[]): void {
  if (!events.length) return;
  ctx.doc.transact(() => {
    for (const e of events) ctx.record(e.actor, e.type, e.summary, e.ref, e.at, e.data);
  });
}

/** An edit refused because `holder` holds `path`: recorded once per session, path and holder in DENY_DEDUPE_MS. */
export function noteDenied(ctx: SharedContext, actor: Actor, path: string, holder: { session: string; sessionName: string }, now = Date.now()): boolean {
  const recent = ctx.timeline({ since: now - DENY_DEDUPE_MS, types: ['edit.denied'] });
  if (recent.some((e) => e.actor === actor.id && e.ref === path && e.data?.holder === holder.session)) return false;
  ctx.record(actor, 'edit.denied', `${path} (held by ${holder.sessionName})`, path, now, { path, holder: holder.session, holderName: holder.sessionName });
  return true;
}

/** A lock request that met another session's lock: how long it waited and whether it got the lock. */
export function noteLockWait(ctx: SharedContext, actor: Actor, w: { path: string; holder: string; holderName: string; ms: number; got: boolean }, now = Date.now()): void {
  ctx.record(actor, 'lock.waited', `${w.path} behind ${w.holderName} for ${mins(w.ms)}${w.got ? '' : ', not granted'}`, w.path, now, { path: w.path, holder: w.holder, holderName: w.holderName, ms: Math.round(w.ms), got: w.got });
}
