/**
 * The HTTP API for thin clients (CLI, MCP server, hooks): one JSON operation
 * per request, executed by a session the server hosts, answered once the
 * change is durably stored.
 *
 *   GET  /api/p/:project/state[?session=ID&role=R]   the snapshot (peek)
 *   GET  /api/p/:project/events                      server-sent events (watch)
 *   POST /api/p/:project/op/:op  {session, ...args}  an operation (see OPS)
 */
import os from 'node:os';
import { ContextError, SharedContext, wellFormed, type Actor } from '../src/model/context.js';
import { PatternError, normalizePattern } from '../src/model/paths.js';
import { buildPresence } from '../src/model/view.js';
import { buildSnapshot, presenceEvents, timelineEvent, type WatchEvent } from '../src/model/snapshot.js';
import type { SessionInfo } from '../src/model/session.js';
import { BodyError, readJsonBody } from './body.js';
import type { HuddleServer, HttpContext } from './server.js';
import type { Room } from './room.js';
import { HostedSessions, type HostedSession } from './hosted.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code = 'error') {
    super(message);
  }
}

const MAX_BODY = 1024 * 1024;

const str = (v: unknown, name: string, required = false): string | undefined => {
  if (v === undefined || v === null || v === '') {
    if (required) throw new ApiError(400, `missing "${name}"`);
    return undefined;
  }
  if (typeof v !== 'string') throw new ApiError(400, `"${name}" must be a string`);
  return wellFormed(v);
};
const num = (v: unknown, name: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ApiError(400, `"${name}" must be a non-negative number`);
  return v;
};
const strs = (v: unknown, name: string): string[] | undefined => {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ApiError(400, `"${name}" must be an array of strings`);
  return v as string[];
};

/** Who acts: the session named in the request, or the person at the server's keyboard. */
export function sessionInfoOf(body: Record<string, unknown>): SessionInfo {
  const s = (body.session ?? {}) as Record<string, unknown>;
  if (typeof s !== 'object' || Array.isArray(s)) throw new ApiError(400, '"session" must be an object');
  const id = str(s.id, 'session.id') ?? `human@${os.hostname()}`;
  if (id.length > 200) throw new ApiError(400, 'session id is longer than 200 characters');
  return {
    id,
    // Left undefined when not given, so that a call does not rename a known session.
    name: str(s.name, 'session.name'),
    role: str(s.role, 'session.role'),
    agent: str(s.agent, 'session.agent') ?? (id.startsWith('human@') ? 'human' : undefined),
    host: str(s.host, 'session.host'),
    pid: num(s.pid, 'session.pid'),
    cwd: str(s.cwd, 'session.cwd'),
    branch: str(s.branch, 'session.branch'),
    task: str(s.task, 'session.task'),
    intent: str(s.intent, 'session.intent'),
  };
}

interface OpContext {
  room: Room;
  ctx: SharedContext;
  session: HostedSession;
  actor: Actor;
  body: Record<string, unknown>;
}

type Op = { write: boolean; run: (c: OpContext) => unknown | Promise<unknown> };

const TTL_MAX = 24 * 3600_000;

/** Every operation of the API. `write` ones need a read-write token and wait for durability. */
export const OPS: Record<string, Op> = {
  touch: { write: true, run: ({ session }) => session.presence.current },
  end: { write: true, run: () => ({ ended: true }) }, // handled by the route (needs the registry)
  update: {
    write: true,
    run: ({ session, body }) => {
      session.presence.touch({ task: str(body.task, 'task'), intent: str(body.intent, 'intent'), role: str(body.role, 'role'), name: str(body.name, 'name') });
      return session.presence.current;
    },
  },
  editing: {
    write: true,
    run: ({ session, body }) => {
      const ranges = body.ranges as Array<[number, number]> | undefined;
      if (ranges !== undefined && (!Array.isArray(ranges) || ranges.some((r) => !Array.isArray(r) || r.length !== 2 || !r.every((n) => Number.isInteger(n) && n > 0)))) {
        throw new ApiError(400, '"ranges" must be an array of [from, to] line numbers');
      }
      session.presence.editing(str(body.path, 'path', true)!, ranges);
      return { ok: true };
    },
  },
  lock: {
    write: true,
    run: async ({ session, body }) => {
      const paths = strs(body.paths, 'paths');
      if (!paths?.length) throw new ApiError(400, 'no path to lock');
      const mode = str(body.mode, 'mode') ?? 'exclusive';
      if (mode !== 'exclusive' && mode !== 'shared') throw new ApiError(400, 'mode must be exclusive or shared');
      const ttlMs = num(body.ttlMs, 'ttlMs');
      if (ttlMs !== undefined && (ttlMs < 1000 || ttlMs > TTL_MAX)) throw new ApiError(400, 'ttl must be between 1 s and 24 h');
      const waitMs = Math.min(num(body.waitMs, 'waitMs') ?? 0, 10 * 60_000);
      return session.presence.acquire(paths, { mode, reason: str(body.reason, 'reason'), ttlMs, waitMs });
    },
  },
  unlock: {
    write: true,
    run: ({ session, ctx, actor, body }) => {
      const paths = strs(body.paths, 'paths');
      const force = body.force === true;
      if (!force) return { released: session.presence.release(paths && paths.length ? paths : undefined) };
      if (!paths?.length) throw new ApiError(400, 'a forced release needs the paths');
      const wanted = paths.map(normalizePattern);
      const view = session.presence.view();
      const own = session.presence.release(wanted);
      const forced: string[] = [];
      for (const l of view.locks) {
        if (l.session === actor.id || !wanted.includes(l.path)) continue;
        ctx.forceRelease(actor, l, str(body.reason, 'reason'));
        ctx.send(actor, { to: l.session, kind: 'fyi', text: `Your lock on ${l.path} was released by ${actor.name}${body.reason ? `: ${String(body.reason)}` : ''}.` });
        forced.push(`${l.path} (${l.sessionName})`);
      }
      if (own.length === 0 && forced.length === 0) throw new ApiError(404, `no lock on ${wanted.join(', ')}`, 'not-found');
      return { released: own, forced };
    },
  },
  renew: { write: true, run: ({ session, body }) => ({ renewed: session.presence.renew(strs(body.paths, 'paths'), num(body.ttlMs, 'ttlMs')) }) },
  decide: {
    write: true,
    run: ({ ctx, actor, body }) => ctx.decide(actor, { text: str(body.text, 'text', true)!, rationale: str(body.rationale, 'rationale'), supersedes: str(body.supersedes, 'supersedes') }),
  },
  decisions: { write: false, run: ({ ctx, body }) => ctx.decisions({ includeSuperseded: body.all === true }) },
  declare: {
    write: true,
    run: ({ ctx, actor, body }) => ctx.declare(actor, { name: str(body.name, 'name', true)!, file: str(body.file, 'file', true)!, description: str(body.description, 'description'), status: str(body.status, 'status') as never }),
  },
  interfaces: { write: false, run: ({ ctx }) => ctx.interfaces() },
  send: {
    write: true,
    run: ({ ctx, actor, body }) => ctx.send(actor, { to: str(body.to, 'to', true)!, text: str(body.text, 'text', true)!, kind: str(body.kind, 'kind') as never, replyTo: str(body.replyTo, 'replyTo'), needsReply: typeof body.needsReply === 'boolean' ? body.needsReply : undefined }),
  },
  inbox: {
    write: true,
    run: ({ ctx, session, body }) => {
      const me = session.presence.current;
      const msgs = ctx.inbox({ id: me.id, role: me.role, name: me.name }, { all: body.all === true });
      if (body.markRead !== false) ctx.markRead(me.id, msgs.filter((m) => !m.read).map((m) => m.id));
      return msgs;
    },
  },
  'task.add': {
    write: true,
    run: ({ ctx, actor, body }) => ctx.addTask(actor, { title: str(body.title, 'title', true)!, detail: str(body.detail, 'detail'), role: str(body.role, 'role'), deps: strs(body.deps, 'deps') }),
  },
  'task.claim': {
    write: true,
    run: ({ ctx, actor, session, body }) => {
      const t = ctx.claimTask(actor, str(body.id, 'id', true)!);
      session.presence.touch({ task: t.title });
      return t;
    },
  },
  'task.done': { write: true, run: ({ ctx, actor, body }) => ctx.completeTask(actor, str(body.id, 'id', true)!, str(body.note, 'note')) },
  'task.block': { write: true, run: ({ ctx, actor, body }) => ctx.blockTask(actor, str(body.id, 'id', true)!, str(body.reason, 'reason', true)!) },
  'task.reopen': { write: true, run: ({ ctx, actor, body }) => ctx.reopenTask(actor, str(body.id, 'id', true)!) },
  'task.note': { write: true, run: ({ ctx, actor, body }) => ctx.noteTask(actor, str(body.id, 'id', true)!, str(body.note, 'note', true)!) },
  'task.list': {
    write: false,
    run: ({ ctx, body }) => ctx.tasks({ status: str(body.status, 'status') as never, role: str(body.role, 'role'), assignee: str(body.assignee, 'assignee') }),
  },
  handoff: {
    write: true,
    run: ({ ctx, actor, body }) => ctx.handoff(actor, str(body.id, 'id', true)!, { to: str(body.to, 'to', true)!, summary: str(body.summary, 'summary', true)!, files: strs(body.files, 'files') }),
  },
  'note.set': { write: true, run: ({ ctx, actor, body }) => ctx.setNote(actor, str(body.key, 'key', true)!, str(body.value, 'value') ?? '') },
  'note.get': {
    write: false,
    run: ({ ctx, body }) => {
      const key = str(body.key, 'key', true)!;
      const n = ctx.getNote(key);
      if (!n) throw new ApiError(404, `no note ${key}`, 'not-found');
      return n;
    },
  },
  'note.list': { write: false, run: ({ ctx }) => ctx.notes() },
  'note.delete': {
    write: true,
    run: ({ ctx, actor, body }) => {
      const key = str(body.key, 'key', true)!;
      if (!ctx.deleteNote(actor, key)) throw new ApiError(404, `no note ${key}`, 'not-found');
      return { deleted: key };
    },
  },
  snapshot: { write: true, run: ({ ctx, actor, body }) => { const { content: _c, ...v } = ctx.snapshot(actor, { name: str(body.name, 'name'), summary: str(body.summary, 'summary') }); return v; } },
  history: { write: false, run: ({ ctx }) => ctx.versions() },
  diff: { write: false, run: ({ ctx, body }) => ctx.diff(str(body.from, 'from', true)!, str(body.to, 'to') ?? 'current') },
  rollback: { write: true, run: ({ ctx, actor, body }) => ctx.rollback(actor, str(body.version, 'version', true)!) },
  timeline: { write: false, run: ({ ctx, body }) => ctx.timeline({ since: num(body.since, 'since'), limit: num(body.limit, 'limit') }) },
};

function statusOfError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof BodyError) return new ApiError(err.status, err.message, 'invalid');
  if (err instanceof ContextError) {
    const status = err.code === 'not-found' ? 404 : err.code === 'conflict' ? 409 : 400;
    return new ApiError(status, err.message, err.code);
  }
  if (err instanceof PatternError) return new ApiError(400, err.message, 'invalid');
  return new ApiError(500, (err as Error).message);
}

export function registerApi(server: HuddleServer, hosted: HostedSessions): void {
  const roomOf = async (c: HttpContext): Promise<Room> => {
    try {
      return await server.room(c.params.project);
    } catch (err) {
      throw new ApiError(400, (err as Error).message, 'invalid');
    }
  };

  server.route('GET', '/api/p/:project/state', async (c) => {
    const room = await roomOf(c);
    const release = room.hold();
    try {
      const ctx = new SharedContext(room.doc);
      const sid = c.url.searchParams.get('session');
      const reader = sid ? { id: sid, role: c.url.searchParams.get('role') ?? hosted.get(room, sid)?.presence.current.role } : null;
      const presence = buildPresence(room.awareness.getStates(), { isForced: (id) => ctx.isForced(id) });
      const snap = buildSnapshot(ctx, presence, { project: room.name, reader });
      const link = server.upstreams.get(room.name);
      snap.upstream = link && server.config.upstream ? { url: server.config.upstream.replace(/\/\/[^@/]*@/, '//'), ...link.status() } : null;
      server.json(c.res, 200, snap);
    } finally {
      release();
    }
  });

  server.route('GET', '/api/p/:project/events', async (c) => {
    const room = await roomOf(c);
    const release = room.hold();
    const ctx = new SharedContext(room.doc);
    const view = () => buildPresence(room.awareness.getStates(), { isForced: (id) => ctx.isForced(id) });
    c.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    c.res.write(': huddle events\n\n');
    const emit = (ev: WatchEvent) => c.res.write(`data: ${JSON.stringify(ev)}\n\n`);
    let prev = view();
    const onPresence = () => {
      const next = view();
      for (const ev of presenceEvents(prev, next)) emit(ev);
      prev = next;
    };
    // Shown once durable: a watcher never reports what a kill -9 right after could lose.
    const onTimeline = (e: { changes: { added: Set<{ content: { getContent(): unknown[] } }> } }) => {
      const evs: WatchEvent[] = [];
      for (const item of e.changes.added) for (const ev of item.content.getContent()) evs.push(timelineEvent(ev as never));
      if (evs.length) room.afterObservedDurable(() => {
        if (!stopped) for (const ev of evs) emit(ev);
      });
    };
    room.awareness.on('change', onPresence);
    ctx.timelineArr.observe(onTimeline as never);
    // Staleness comes with time, not with a change: look again now and then. Also keeps proxies open.
    const tick = setInterval(() => {
      onPresence();
      c.res.write(': tick\n\n');
    }, 5000);
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(tick);
      room.awareness.off('change', onPresence);
      ctx.timelineArr.unobserve(onTimeline as never);
      unregister();
      release();
    };
    c.req.on('close', stop);
    const unregister = server.onShutdown(() => {
      stop();
      c.res.end();
    });
  });

  server.route('POST', '/api/p/:project/op/:op', async (c) => {
    const op = OPS[c.params.op];
    if (!op) throw new ApiError(404, `unknown operation ${c.params.op}; known: ${Object.keys(OPS).join(', ')}`, 'not-found');
    if (op.write && c.access !== 'write') throw new ApiError(403, 'this token may only read');
    const body = await readJsonBody(c.req, MAX_BODY);
    const room = await roomOf(c);
    const info = sessionInfoOf(body);
    try {
      if (c.params.op === 'end') {
        const ended = hosted.end(room, info.id);
        await room.whenDurable();
        server.json(c.res, 200, { ok: true, result: { ended } });
        return;
      }
      // Writes are signs of life of the acting session (hosted from now on); reads host nobody.
      const session = op.write ? hosted.touch(room, info) : (null as unknown as HostedSession);
      const actor: Actor = session
        ? { id: session.id, name: session.presence.current.name, role: session.presence.current.role }
        : { id: info.id, name: info.name ?? info.id, role: info.role ?? 'agent' };
      const ctx = session ? session.ctx : new SharedContext(room.doc);
      const result = await op.run({ room, ctx, session, actor, body });
      if (op.write) await room.whenDurable();
      server.json(c.res, 200, { ok: true, result, stored: op.write });
    } catch (err) {
      const e = statusOfError(err);
      server.json(c.res, e.status, { ok: false, error: e.message, code: e.code });
    }
  }, 'read');
}
