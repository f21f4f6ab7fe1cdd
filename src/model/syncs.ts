/**
 * Sync points: parallel work that must meet before it goes on. A sync point
 * names its participants (sessions, or tasks); each participant arrives with
 * a summary and the files it touched; when every participant has arrived (or
 * was dropped), a follow-up task opens carrying every summary, and the
 * creator, the participants and `notify` get a message.
 *
 * Liveness is presence's: a session participant that is not here (or stale)
 * and has not arrived is *missing*. Missing participants are never counted as
 * done: they block the sync point until they come back and arrive, or until
 * someone drops them (`huddle sync drop`). A task participant arrives when its
 * task is done (its last note is the summary) or when its assignee arrives.
 *
 * Writes go through the SharedContext's document; the completion check runs
 * at every arrival, drop and task completion, inside the same transaction.
 */
import * as Y from 'yjs';
import { ContextError, SharedContext, type Actor, type Task } from './context.js';
import { readSync, readSyncs, type SyncParticipant, type SyncRecord } from './kinds/syncs.js';
import type { SessionView } from './view.js';
import { shortId } from './ids.js';

export type { SyncParticipant, SyncRecord };

export type ParticipantState = 'done' | 'dropped' | 'waiting' | 'missing' | 'unknown';

export interface SyncView extends Omit<SyncRecord, 'done' | 'dropped'> {
  status: 'open' | 'complete';
  participants: Array<SyncParticipant & { state: ParticipantState; summary?: string; files?: string[]; at?: number; reason?: string }>;
  /** Counts by state. */
  counts: Record<ParticipantState, number>;
}

const MAX_SYNCS = 200;
const NAME = /^[\w.@:+-]{1,80}$/;

const syncMap = (ctx: SharedContext) => ctx.doc.getMap<Y.Map<unknown>>('syncs');

function get(ctx: SharedContext, name: string): { m: Y.Map<unknown>; s: SyncRecord } {
  const m = syncMap(ctx).get(name);
  const s = m ? readSync(name, m) : null;
  if (!m || !s) throw new ContextError(`no sync point ${name}`, 'not-found');
  return { m, s };
}

/** Whether a session counts as here: present in the view and not stale. */
const alive = (sessions: SessionView[], idOrName: string) => sessions.some((x) => (x.id === idOrName || x.name === idOrName) && x.status !== 'stale');

/** The task behind a task participant, if it still exists. */
function taskOf(ctx: SharedContext, id: string): Task | null {
  const m = ctx.tasksMap.get(id);
  return m ? ctx.task(id) : null;
}

/** Whether `actor` is participant `p` (by session id or name, or as the assignee of its task). */
function isParticipant(ctx: SharedContext, p: SyncParticipant, actor: Actor): boolean {
  if (p.kind === 'session') return p.id === actor.id || p.id === actor.name || p.name === actor.name;
  return taskOf(ctx, p.id)?.assignee?.id === actor.id;
}

export interface CreateSync {
  name: string;
  sessions?: string[];
  tasks?: string[];
  /** Every live session of this role (needs presence). */
  ofRole?: string;
  then?: string;
  role?: string;
  notify?: string;
}

export function createSync(ctx: SharedContext, actor: Actor, input: CreateSync, sessions: SessionView[] | null): SyncView {
  const name = input.name?.trim();
  if (!name || !NAME.test(name)) throw new ContextError('a sync point needs a name of letters, digits and . _ - @ : + (at most 80)');
  if (syncMap(ctx).has(name)) throw new ContextError(`sync point ${name} exists already`, 'conflict');
  const participants: SyncParticipant[] = [];
  const add = (p: SyncParticipant) => {
    if (!participants.some((q) => q.kind === p.kind && q.id === p.id)) participants.push(p);
  };
  for (const raw of input.sessions ?? []) {
    const id = raw.trim();
    if (!id) continue;
    const s = sessions?.find((x) => x.id === id) ?? sessions?.find((x) => x.name === id);
    add({ id: s?.id ?? id, name: s?.name ?? id, kind: 'session' });
  }
  for (const ref of input.tasks ?? []) {
    const t = ctx.task(ref);
    add({ id: t.id, name: t.title, kind: 'task' });
  }
  if (input.ofRole) {
    if (!sessions) throw new ContextError('--role needs the server (who is here)', 'invalid');
    for (const s of sessions) if (s.role === input.ofRole && s.status !== 'stale') add({ id: s.id, name: s.name, kind: 'session' });
    if (!participants.length) throw new ContextError(`no live session has role ${input.ofRole}`, 'not-found');
  }
  if (participants.length === 0) throw new ContextError('a sync point needs participants: sessions, tasks or a role');
  if (participants.length > 100) throw new ContextError('a sync point has at most 100 participants');
  ctx.doc.transact(() => {
    const m = new Y.Map<unknown>();
    const fields: Record<string, unknown> = { by: actor.id, byName: actor.name, createdAt: Date.now(), participants, then: input.then?.trim() || undefined, role: input.role?.trim() || undefined, notify: input.notify?.trim() || undefined };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) m.set(k, v);
    syncMap(ctx).set(name, m);
    ctx.record(actor, 'sync.created', `${name}: ${participants.map((p) => p.name).join(', ')}`, name);
    prune(ctx);
  });
  return viewSync(ctx, get(ctx, name).s, sessions);
}

/** Mark the acting session arrived at a sync point, with what it did. */
export function arriveSync(ctx: SharedContext, actor: Actor, name: string, input: { summary: string; files?: string[] }, sessions: SessionView[] | null): SyncView {
  const summary = input.summary?.trim();
  if (!summary) throw new ContextError('arriving at a sync point needs a summary');
  const { m, s } = get(ctx, name);
  if (s.completedAt) throw new ContextError(`sync point ${name} is complete already (follow-up ${s.followUp ? shortId(s.followUp) : 'none'})`, 'conflict');
  const mine = s.participants.filter((p) => isParticipant(ctx, p, actor));
  if (!mine.length) throw new ContextError(`${actor.name} is not a participant of ${name} (${s.participants.map((p) => p.name).join(', ')})`, 'invalid');
  ctx.doc.transact(() => {
    for (const p of mine) m.set(`done:${p.id}`, { summary: summary.slice(0, 2000), files: (input.files ?? []).slice(0, 200), at: Date.now(), by: actor.id, byName: actor.name });
    ctx.record(actor, 'sync.done', `${name}: ${summary}`, name);
    settleSync(ctx, actor, name);
  });
  return viewSync(ctx, get(ctx, name).s, sessions);
}

/** Stop waiting for a participant (it is shown as dropped, never as done). */
export function dropFromSync(ctx: SharedContext, actor: Actor, name: string, who: string, reason: string | undefined, sessions: SessionView[] | null): SyncView {
  const { m, s } = get(ctx, name);
  if (s.completedAt) throw new ContextError(`sync point ${name} is complete already`, 'conflict');
  const p = s.participants.find((x) => x.id === who || x.name === who) ?? s.participants.find((x) => x.id.startsWith(who));
  if (!p) throw new ContextError(`${who} is not a participant of ${name}`, 'not-found');
  if (s.done[p.id]) throw new ContextError(`${p.name} has arrived at ${name} already`, 'conflict');
  ctx.doc.transact(() => {
    m.set(`drop:${p.id}`, { at: Date.now(), by: actor.id, byName: actor.name, ...(reason?.trim() ? { reason: reason.trim().slice(0, 300) } : {}) });
    ctx.record(actor, 'sync.dropped', `${name}: ${p.name}${reason ? ` (${reason})` : ''}`, name);
    settleSync(ctx, actor, name);
  });
  return viewSync(ctx, get(ctx, name).s, sessions);
}

/** Arrivals of task participants whose task is done (its note is the summary). */
function taskArrival(ctx: SharedContext, p: SyncParticipant): { summary: string; files: string[]; at: number; byName: string } | null {
  if (p.kind !== 'task') return null;
  const t = taskOf(ctx, p.id);
  if (!t || t.status !== 'done') return null;
  return { summary: t.lastNote ?? `task done: ${t.title}`, files: t.handoff?.files ?? [], at: t.doneAt ?? t.updatedAt, byName: t.assignee?.name ?? t.byName };
}

/**
 * Open the follow-up once every participant has arrived or been dropped (and at least one
 * arrived). Idempotent: a sync point with a follow-up is left as it is.
 */
export function settleSync(ctx: SharedContext, actor: Actor, name: string): string | null {
  const { m, s } = get(ctx, name);
  if (s.followUp) return null;
  const arrivals = s.participants.map((p) => {
    const a = s.done[p.id] ?? taskArrival(ctx, p);
    return { p, a };
  });
  if (arrivals.some(({ p, a }) => !a && !s.dropped[p.id])) return null;
  const came = arrivals.filter((x) => x.a);
  if (!came.length) return null;
  let id: string | null = null;
  ctx.doc.transact(() => {
    const detail = [
      `Sync point ${name} (${came.length} of ${s.participants.length} arrived${came.length < s.participants.length ? `; dropped: ${s.participants.filter((p) => s.dropped[p.id]).map((p) => p.name).join(', ')}` : ''}):`,
      ...came.map(({ p, a }) => `- ${p.name}: ${a!.summary}${a!.files.length ? ` (files: ${a!.files.slice(0, 30).join(', ')})` : ''}`),
    ].join('\n');
    const t = ctx.addTask(actor, { title: s.then ?? `integrate ${name}`, detail: detail.slice(0, 8000), role: s.role });
    id = t.id;
    m.set('followUp', t.id);
    m.set('completedAt', Date.now());
    ctx.record(actor, 'sync.complete', `${name}: follow-up ${t.title} (${shortId(t.id)})`, name);
    const text = `Sync point ${name} is complete: follow-up task "${t.title}" (${shortId(t.id)}) carries every summary.`;
    const to = new Set<string>([s.by, ...s.participants.filter((p) => p.kind === 'session').map((p) => p.id), ...(s.notify ? [s.notify] : [])]);
    for (const p of s.participants) if (p.kind === 'task') {
      const a = taskOf(ctx, p.id)?.assignee;
      if (a) to.add(a.id);
    }
    to.delete(actor.id);
    for (const r of to) ctx.send(actor, { to: r, kind: 'fyi', text, taskId: t.id });
  });
  return id;
}

/** Settle every open sync point with a task participant (after a task completes). */
export function settleTaskSyncs(ctx: SharedContext, actor: Actor, taskId: string): void {
  for (const s of readSyncs(ctx.doc).syncs) if (!s.followUp && s.participants.some((p) => p.kind === 'task' && p.id === taskId)) settleSync(ctx, actor, s.name);
}

/** A sync point with each participant's state; `sessions` null when presence is unknown (offline). */
export function viewSync(ctx: SharedContext, s: SyncRecord, sessions: SessionView[] | null): SyncView {
  const counts: Record<ParticipantState, number> = { done: 0, dropped: 0, waiting: 0, missing: 0, unknown: 0 };
  const participants = s.participants.map((p) => {
    const a = s.done[p.id] ?? taskArrival(ctx, p);
    let state: ParticipantState;
    if (a) state = 'done';
    else if (s.dropped[p.id]) state = 'dropped';
    else if (!sessions) state = 'unknown';
    else if (p.kind === 'session') state = alive(sessions, p.id) ? 'waiting' : 'missing';
    else {
      const who = taskOf(ctx, p.id)?.assignee;
      state = !who || alive(sessions, who.id) ? 'waiting' : 'missing';
    }
    counts[state]++;
    const d = s.dropped[p.id];
    return { ...p, state, ...(a ? { summary: a.summary, files: a.files, at: a.at } : d ? { at: d.at, ...(d.reason ? { reason: d.reason } : {}) } : {}) };
  });
  const { done: _d, dropped: _x, ...rest } = s;
  return { ...rest, status: s.followUp ? 'complete' : 'open', participants, counts };
}

export function listSyncs(ctx: SharedContext, sessions: SessionView[] | null, opts: { all?: boolean } = {}): { syncs: SyncView[]; ignored: number } {
  const { syncs, ignored } = readSyncs(ctx.doc);
  const views = syncs.map((s) => viewSync(ctx, s, sessions)).filter((v) => opts.all || v.status === 'open' || (v.completedAt ?? 0) > Date.now() - 24 * 3600_000);
  return { syncs: views, ignored };
}

export function showSync(ctx: SharedContext, name: string, sessions: SessionView[] | null): SyncView {
  return viewSync(ctx, get(ctx, name.trim()).s, sessions);
}

/** Keep the newest MAX_SYNCS: complete ones go first, oldest first. */
function prune(ctx: SharedContext): void {
  const map = syncMap(ctx);
  if (map.size <= MAX_SYNCS) return;
  const { syncs } = readSyncs(ctx.doc);
  const complete = syncs.filter((s) => s.completedAt).sort((a, b) => a.completedAt! - b.completedAt!);
  for (const s of complete.slice(0, map.size - MAX_SYNCS)) map.delete(s.name);
}
