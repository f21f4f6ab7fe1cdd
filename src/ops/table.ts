/**
 * Every operation on a project, once: its access (read or write), what it
 * needs (the shared context alone, the acting session's live presence, or the
 * server's session registry), a zod schema of its arguments and what it does.
 * The HTTP API (relay/api.ts), the offline runner (cli/offline.ts), the MCP
 * tool schemas and the client's types (cli/client.ts) all derive from it.
 *
 * Pure: takes a SharedContext and, where it needs one, the acting session.
 */
import { z } from 'zod';
import type { Actor, SharedContext } from '../model/context.js';
import { INTERFACE_STATUSES, MESSAGE_KINDS, TASK_STATUSES, forcedReleaseNotice } from '../model/enums.js';
import { normalizePattern } from '../model/paths.js';
import { noteLockWait } from '../model/activity.js';
import { buildReport } from '../model/report.js';
import type { Presence } from '../peer/presence.js';
import { recipientWarning } from '../model/recipients.js';
import type { PresenceView } from '../model/view.js';
import { suggestionsFor } from '../model/suggest.js';
import { arriveSync, createSync, dropFromSync, listSyncs, settleTaskSyncs, showSync } from '../model/syncs.js';
import { OpError } from './errors.js';

/** What an operation may ask of the acting session (a hosted session on the server). */
export type ActingPresence = Pick<Presence, 'current' | 'touch' | 'editing' | 'acquire' | 'release' | 'renew' | 'view' | 'blockers'>;

export interface OpEnv {
  ctx: SharedContext;
  actor: Actor;
  /** The acting session's live presence: always there for `presence` operations, absent offline. */
  presence?: ActingPresence;
  /** Ends the acting session (`session` operations: the server's registry). */
  end?: () => boolean;
  /** Everyone's live presence (the server); absent offline. */
  view?: () => PresenceView;
  /** Aborted when the asker is gone (the server: its HTTP request's connection closed): waits stop. */
  signal?: AbortSignal;
}

/** Everyone's presence as the operation can know it: none offline. */
function viewOf(env: OpEnv): Pick<PresenceView, 'sessions' | 'locks'> & { known: boolean } {
  const v = env.view?.() ?? env.presence?.view();
  return v ? { sessions: v.sessions, locks: v.locks, known: true } : { sessions: [], locks: [], known: false };
}

/** context: the shared document alone (also offline); presence: the acting session's live presence; session: its lifetime. */
export type OpNeeds = 'context' | 'presence' | 'session';

export interface OpDef<S extends z.ZodObject = z.ZodObject, R = unknown> {
  access: 'read' | 'write';
  needs: OpNeeds;
  input: S;
  run: (args: z.output<S>, env: OpEnv) => R | Promise<R>;
}

const op = <S extends z.ZodObject, R>(d: OpDef<S, R>): OpDef<S, R> => d;

/** The acting session no longer shows a task it has finished, handed off or given back (the sessions' DOING column). */
function leaveTask(env: OpEnv, title: string): void {
  if (env.presence?.current.task === title) env.presence.touch({ task: null });
}

function live(env: OpEnv): ActingPresence {
  if (!env.presence) throw new OpError('this operation needs the server (live presence)', 'needs-server');
  return env.presence;
}

const TTL_MAX = 24 * 3600_000;
const str = z.string();
const nonNeg = z.number().nonnegative();
const strs = z.array(z.string());
const id = z.string().describe('id, or a unique prefix of it (as shown)');
const none = z.object({});

/** Acquire, and note in the timeline when another session's lock was met (what each session did). */
async function lockNoting(p: ActingPresence, a: { paths: string[]; mode?: 'exclusive' | 'shared'; reason?: string; ttlMs?: number; waitMs?: number }, env: OpEnv) {
  const mode = a.mode ?? 'exclusive';
  const t0 = Date.now();
  const wanted = a.paths.map(normalizePattern);
  // The lock in the way now, if any (what blockers() finds first, as a scan of the view would).
  const first = p.blockers(wanted, mode)[0];
  const r = await p.acquire(a.paths, { mode, reason: a.reason, ttlMs: a.ttlMs, waitMs: Math.min(a.waitMs ?? 0, 10 * 60_000), signal: env.signal });
  const by = r.status === 'held' && r.holder ? r.holder : first;
  if (by) noteLockWait(env.ctx, env.actor, { path: by.path, holder: by.session, holderName: by.sessionName, ms: Date.now() - t0, got: r.status !== 'held' });
  return r;
}

export const OPS = {
  touch: op({ access: 'write', needs: 'presence', input: none, run: (_a, env) => live(env).current }),
  end: op({
    access: 'write',
    needs: 'session',
    input: none,
    run: (_a, env) => {
      if (!env.end) throw new OpError('ending a session needs the server', 'needs-server');
      return { ended: env.end() };
    },
  }),
  update: op({
    access: 'write',
    needs: 'presence',
    input: z.object({ task: str.optional(), intent: str.optional(), role: str.optional(), name: str.optional() }),
    run: (a, env) => {
      const p = live(env);
      p.touch({ task: a.task, intent: a.intent, role: a.role, name: a.name });
      return p.current;
    },
  }),
  editing: op({
    access: 'write',
    needs: 'presence',
    input: z.object({
      path: str,
      ranges: z.array(z.tuple([z.number().int().positive(), z.number().int().positive()]), { error: '"ranges" must be an array of [from, to] line numbers' }).optional(),
    }),
    run: (a, env) => {
      live(env).editing(a.path, a.ranges);
      return { ok: true };
    },
  }),
  lock: op({
    access: 'write',
    needs: 'presence',
    input: z.object({
      paths: strs.min(1, 'no path to lock').describe('files or globs, e.g. src/api/*.ts'),
      mode: z.enum(['exclusive', 'shared']).optional(),
      reason: str.optional(),
      ttlMs: nonNeg.min(1000, 'ttl must be between 1 s and 24 h').max(TTL_MAX, 'ttl must be between 1 s and 24 h').optional(),
      waitMs: nonNeg.optional(),
    }),
    // live() first, synchronously: offline, the operation says at once that it needs the server.
    run: (a, env) => lockNoting(live(env), a, env),
  }),
  unlock: op({
    access: 'write',
    needs: 'presence',
    input: z.object({ paths: strs.optional(), force: z.boolean().optional(), reason: str.optional() }),
    run: (a, env) => {
      const p = live(env);
      if (a.force !== true) return { released: p.release(a.paths && a.paths.length ? a.paths : undefined) };
      if (!a.paths?.length) throw new OpError('a forced release needs the paths');
      const wanted = a.paths.map(normalizePattern);
      const view = p.view();
      const own = p.release(wanted);
      const forced: string[] = [];
      for (const l of view.locks) {
        if (l.session === env.actor.id || !wanted.includes(l.path)) continue;
        env.ctx.forceRelease(env.actor, l, a.reason);
        env.ctx.send(env.actor, { to: l.session, kind: 'fyi', text: forcedReleaseNotice(l.path, env.actor.name, a.reason) });
        forced.push(`${l.path} (${l.sessionName})`);
      }
      if (own.length === 0 && forced.length === 0) throw new OpError(`no lock on ${wanted.join(', ')}`, 'not-found');
      return { released: own, forced };
    },
  }),
  renew: op({
    access: 'write',
    needs: 'presence',
    input: z.object({ paths: strs.optional(), ttlMs: nonNeg.optional() }),
    run: (a, env) => ({ renewed: live(env).renew(a.paths, a.ttlMs) }),
  }),
  decide: op({
    access: 'write',
    needs: 'context',
    input: z.object({ text: str.min(1), rationale: str.optional(), supersedes: str.optional().describe('id of a decision this one replaces') }),
    run: (a, { ctx, actor }) => ctx.decide(actor, a),
  }),
  decisions: op({ access: 'read', needs: 'context', input: z.object({ all: z.boolean().optional() }), run: (a, { ctx }) => ctx.decisions({ includeSuperseded: a.all === true }) }),
  declare: op({
    access: 'write',
    needs: 'context',
    input: z.object({ name: str.min(1), file: str.min(1), description: str.optional(), status: z.enum(INTERFACE_STATUSES).optional() }),
    run: (a, { ctx, actor }) => ctx.declare(actor, a),
  }),
  interfaces: op({ access: 'read', needs: 'context', input: none, run: (_a, { ctx }) => ctx.interfaces() }),
  send: op({
    access: 'write',
    needs: 'context',
    input: z.object({ to: str.min(1), text: str.min(1), kind: z.enum(MESSAGE_KINDS).optional(), replyTo: str.optional(), needsReply: z.boolean().optional() }),
    run: (a, { ctx, actor, presence }) => {
      const m = ctx.send(actor, a);
      // A message to a session or role that does not exist would sit unread: say so (when live).
      const warning = presence ? recipientWarning(m.to, presence.view(), ctx) : null;
      return warning ? { ...m, warning } : m;
    },
  }),
  inbox: op({
    access: 'write',
    needs: 'context',
    input: z.object({ all: z.boolean().optional(), markRead: z.boolean().optional() }),
    run: (a, { ctx, actor }) => {
      const msgs = ctx.inbox({ id: actor.id, role: actor.role, name: actor.name }, { all: a.all === true });
      if (a.markRead !== false) ctx.markRead(actor.id, msgs.filter((m) => !m.read).map((m) => m.id));
      return msgs;
    },
  }),
  'task.add': op({
    access: 'write',
    needs: 'context',
    input: z.object({ title: str.min(1), detail: str.optional(), role: str.optional(), deps: strs.optional() }),
    run: (a, { ctx, actor }) => ctx.addTask(actor, a),
  }),
  'task.claim': op({
    access: 'write',
    needs: 'context',
    input: z.object({ id, take: z.boolean().optional().describe('take over a task another session has claimed (it is told)') }),
    run: (a, { ctx, actor, presence }) => {
      const t = ctx.claimTask(actor, a.id, { take: a.take === true });
      presence?.touch({ task: t.title });
      return t;
    },
  }),
  'task.done': op({
    access: 'write',
    needs: 'context',
    input: z.object({ id, note: str.optional() }),
    run: (a, env) => {
      const { ctx, actor } = env;
      let t!: ReturnType<SharedContext['completeTask']>;
      ctx.doc.transact(() => {
        t = ctx.completeTask(actor, a.id, a.note);
        settleTaskSyncs(ctx, actor, t.id);
      });
      leaveTask(env, t.title);
      return t;
    },
  }),
  'task.block': op({ access: 'write', needs: 'context', input: z.object({ id, reason: str }), run: (a, { ctx, actor }) => ctx.blockTask(actor, a.id, a.reason) }),
  'task.reopen': op({
    access: 'write',
    needs: 'context',
    input: z.object({ id }),
    run: (a, env) => {
      const t = env.ctx.reopenTask(env.actor, a.id);
      leaveTask(env, t.title);
      return t;
    },
  }),
  'task.note': op({ access: 'write', needs: 'context', input: z.object({ id, note: str }), run: (a, { ctx, actor }) => ctx.noteTask(actor, a.id, a.note) }),
  'task.list': op({
    access: 'read',
    needs: 'context',
    input: z.object({ status: z.enum(TASK_STATUSES).optional(), role: str.optional(), assignee: str.optional() }),
    run: (a, { ctx }) => ctx.tasks(a),
  }),
  handoff: op({
    access: 'write',
    needs: 'context',
    input: z.object({ id, to: str.describe('a session or role:NAME'), summary: str, files: strs.optional() }),
    run: (a, env) => {
      const r = env.ctx.handoff(env.actor, a.id, { to: a.to, summary: a.summary, files: a.files });
      leaveTask(env, r.task.title);
      return r;
    },
  }),
  'note.set': op({ access: 'write', needs: 'context', input: z.object({ key: str, value: str.optional() }), run: (a, { ctx, actor }) => ctx.setNote(actor, a.key, a.value ?? '') }),
  'note.get': op({
    access: 'read',
    needs: 'context',
    input: z.object({ key: str }),
    run: (a, { ctx }) => {
      const n = ctx.getNote(a.key);
      if (!n) throw new OpError(`no note ${a.key}`, 'not-found');
      return n;
    },
  }),
  'note.list': op({ access: 'read', needs: 'context', input: none, run: (_a, { ctx }) => ctx.notes() }),
  'note.delete': op({
    access: 'write',
    needs: 'context',
    input: z.object({ key: str }),
    run: (a, { ctx, actor }) => {
      if (!ctx.deleteNote(actor, a.key)) throw new OpError(`no note ${a.key}`, 'not-found');
      return { deleted: a.key };
    },
  }),
  snapshot: op({
    access: 'write',
    needs: 'context',
    input: z.object({ name: str.optional(), summary: str.optional() }),
    run: (a, { ctx, actor }) => {
      const { content: _c, ...v } = ctx.snapshot(actor, a);
      return v;
    },
  }),
  history: op({ access: 'read', needs: 'context', input: none, run: (_a, { ctx }) => ctx.versions() }),
  diff: op({ access: 'read', needs: 'context', input: z.object({ from: str, to: str.optional() }), run: (a, { ctx }) => ctx.diff(a.from, a.to ?? 'current') }),
  rollback: op({ access: 'write', needs: 'context', input: z.object({ version: str }), run: (a, { ctx, actor }) => ctx.rollback(actor, a.version) }),
  next: op({
    access: 'read',
    needs: 'context',
    input: z.object({
      areas: strs.max(500, 'at most 500 areas').optional().describe('folders of the repository (e.g. src/payments) to consider besides those huddle has seen'),
      role: str.optional().describe('suggest for this role instead of the session\'s'),
    }),
    run: (a, env) => {
      const v = viewOf(env);
      return { ...suggestionsFor(env.ctx, v, { ...env.actor, role: a.role ?? env.actor.role }, a.areas), presenceKnown: v.known };
    },
  }),
  'sync.create': op({
    access: 'write',
    needs: 'context',
    input: z.object({
      name: str.min(1),
      sessions: strs.optional().describe('session ids or names that must arrive'),
      tasks: strs.optional().describe('tasks that must be done (or their assignees arrive)'),
      ofRole: str.optional().describe('every live session of this role'),
      then: str.optional().describe('title of the follow-up task (default "integrate NAME")'),
      role: str.optional().describe('role of the follow-up task'),
      notify: str.optional().describe('also told on completion: a session, role:NAME or all'),
    }),
    run: (a, env) => {
      const v = viewOf(env);
      return createSync(env.ctx, env.actor, a, v.known ? v.sessions : null);
    },
  }),
  'sync.done': op({
    access: 'write',
    needs: 'context',
    input: z.object({ name: str.min(1), summary: str.min(1), files: strs.optional() }),
    run: (a, env) => {
      const v = viewOf(env);
      return arriveSync(env.ctx, env.actor, a.name, a, v.known ? v.sessions : null);
    },
  }),
  'sync.drop': op({
    access: 'write',
    needs: 'context',
    input: z.object({ name: str.min(1), participant: str.min(1).describe('the participant (session id or name, or task id) not to wait for'), reason: str.optional() }),
    run: (a, env) => {
      const v = viewOf(env);
      return dropFromSync(env.ctx, env.actor, a.name, a.participant, a.reason, v.known ? v.sessions : null);
    },
  }),
  'sync.list': op({
    access: 'read',
    needs: 'context',
    input: z.object({ all: z.boolean().optional() }),
    run: (a, env) => {
      const v = viewOf(env);
      return listSyncs(env.ctx, v.known ? v.sessions : null, { all: a.all === true });
    },
  }),
  'sync.show': op({
    access: 'read',
    needs: 'context',
    input: z.object({ name: str.min(1) }),
    run: (a, env) => {
      const v = viewOf(env);
      return showSync(env.ctx, a.name, v.known ? v.sessions : null);
    },
  }),
  report: op({
    access: 'read',
    needs: 'context',
    input: z.object({
      who: str.optional().describe('only this session (id or name)'),
      sinceMs: nonNeg.max(30 * 24 * 3600_000, 'at most 30 days back').optional().describe('how far back, in ms (default 24 h)'),
    }),
    run: (a, env) => {
      const now = Date.now();
      const v = viewOf(env);
      return { ...buildReport({ events: env.ctx.timeline(), messages: env.ctx.messages(), sessions: v.sessions, since: now - (a.sinceMs ?? 24 * 3600_000), now, session: a.who }), presenceKnown: v.known };
    },
  }),
  timeline: op({ access: 'read', needs: 'context', input: z.object({ since: nonNeg.optional(), limit: nonNeg.optional() }), run: (a, { ctx }) => ctx.timeline(a) }),
};

export type Ops = typeof OPS;
export type OpName = keyof Ops;
/**
 * What a caller sends for an operation: the schema's fields, each optional (absent, null or ''
 * means not given, and the server names a missing required one).
 */
export type OpArgs<N extends OpName> = { [K in keyof z.input<Ops[N]['input']>]?: z.input<Ops[N]['input']>[K] | null };
/** What an operation answers. */
export type OpResult<N extends OpName> = Awaited<ReturnType<Ops[N]['run']>>;

export function findOp(name: string): OpDef | undefined {
  return Object.hasOwn(OPS, name) ? (OPS[name as OpName] as unknown as OpDef) : undefined;
}
