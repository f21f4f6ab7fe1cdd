/**
 * The HTTP API for thin clients (CLI, MCP server, hooks): one JSON operation
 * per request, executed by a session the server hosts, answered once the
 * change is durably stored.
 *
 *   GET  /api/p/:project/state[?session=ID&role=R]   the snapshot (peek)
 *   GET  /api/p/:project/events                      server-sent events (watch)
 *   POST /api/p/:project/op/:op  {session, ...args}  an operation (src/ops/table.ts)
 */
import os from 'node:os';
import { SharedContext, wellFormed, type Actor } from '../src/model/context.js';
import { OPS, findOp, type OpEnv } from '../src/ops/table.js';
import { OpError, toOpError } from '../src/ops/errors.js';
import { parseArgs } from '../src/ops/input.js';
import { buildPresence } from '../src/model/view.js';
import { buildSnapshot, presenceEvents, timelineEvent, type WatchEvent } from '../src/model/snapshot.js';
import type { SessionInfo } from '../src/model/session.js';
import { readJsonBody } from './body.js';
import { NotOwnerError } from './not-owner.js';
import type { HttpContext, ServerServices } from './http.js';
import type { Room } from './room.js';
import type { HostedSessions } from './hosted.js';
import { guarded } from './guard.js';
import { validDoc } from '../src/model/schemas.js';

const MAX_BODY = 1024 * 1024;
/** Bytes an event stream may have waiting for its reader before it is dropped. */
const MAX_EVENT_BUFFER = 4 * 1024 * 1024;
/** Timeline types `/events` takes from presence instead (session.joined, session.left). */
const PRESENCE_TYPES: ReadonlySet<string> = new Set(['session.joined', 'session.left']);

const str = (v: unknown, name: string): string | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new OpError(`"${name}" must be a string`);
  return wellFormed(v);
};
const num = (v: unknown, name: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new OpError(`"${name}" must be a non-negative number`);
  return v;
};

/** Who acts: the session named in the request, or the person at the server's keyboard. */
export function sessionInfoOf(body: Record<string, unknown>): SessionInfo {
  const s = (body.session ?? {}) as Record<string, unknown>;
  if (typeof s !== 'object' || Array.isArray(s)) throw new OpError('"session" must be an object');
  const id = str(s.id, 'session.id') ?? `human@${os.hostname()}`;
  if (id.length > 200) throw new OpError('session id is longer than 200 characters');
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

/**
 * How often an /events stream looks at presence again and sends a keep-alive: every 5 s, sooner on a
 * server told to drop presence within seconds (a quarter of its timeout), whose watchers are meant to
 * see presence change at that pace.
 */
export function eventsTickMs(awarenessTimeoutMs: number): number {
  return Math.max(250, Math.min(5000, Math.floor(awarenessTimeoutMs / 4)));
}

export function registerApi(server: ServerServices, hosted: HostedSessions): void {
  const roomOf = async (c: HttpContext): Promise<Room> => {
    try {
      return await server.room(c.params.project);
    } catch (err) {
      // Another node owns the project: the router forwards the request there.
      if (err instanceof NotOwnerError) throw err;
      throw new OpError((err as Error).message, 'invalid');
    }
  };

  server.route('GET', '/api/p/:project/state', async (c) => {
    const room = await roomOf(c);
    const release = room.hold();
    try {
      const ctx = new SharedContext(room.doc);
      const sid = c.url.searchParams.get('session');
      const reader = sid ? { id: sid, role: c.url.searchParams.get('role') ?? hosted.get(room, sid)?.presence.published.role } : null;
      const presence = buildPresence(room.awareness.getStates(), { isForced: (id) => ctx.isForced(id) });
      const snap = buildSnapshot(ctx, presence, { project: room.name, reader });
      const link = server.upstreams.get(room.name);
      snap.upstream = link && server.config.upstream ? { url: server.config.upstream.replace(/\/\/[^@/]*@/, '//'), ...link.status() } : null;
      // Taking notices consumes them: only a credential that may act for the session does (a read-only one only looks).
      const notices = sid && c.access === 'write' ? hosted.get(room, sid)?.notices.take('cli') ?? [] : [];
      server.json(c.res, 200, notices.length ? { ...snap, notices } : snap);
    } finally {
      release();
    }
  });

  server.route('GET', '/api/p/:project/events', async (c) => {
    const room = await roomOf(c);
    const release = room.hold();
    const ctx = new SharedContext(room.doc);
    let stopped = false;
    const view = () => buildPresence(room.awareness.getStates(), { isForced: (id) => ctx.isForced(id) });
    c.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    c.res.write(': huddle events\n\n');
    // A reader that does not read would grow the server without bound: past the bound, it is dropped.
    const write = (text: string) => {
      if (stopped) return;
      if (c.res.writableLength > MAX_EVENT_BUFFER) {
        server.metrics.slowEventReadersDropped++;
        server.log.warn('dropping an event stream that does not read', { project: room.name, buffered: c.res.writableLength });
        stop();
        c.res.destroy();
        return;
      }
      c.res.write(text);
    };
    const emit = (ev: WatchEvent) => write(`data: ${JSON.stringify(ev)}\n\n`);
    let prev = view();
    // Presence changes of one moment are looked at together (a burst of frames costs one view).
    let queued = false;
    const onPresence = guarded(server.log, server.metrics, 'events', () => {
      queued = false;
      if (stopped) return;
      const next = view();
      for (const ev of presenceEvents(prev, next)) emit(ev);
      prev = next;
    });
    const onChange = () => {
      if (queued) return;
      queued = true;
      setImmediate(onPresence);
    };
    // Shown once durable: a watcher never reports what a kill -9 right after could lose.
    const onTimeline = guarded(server.log, server.metrics, 'events', (e: { changes: { added: Set<{ content: { getContent(): unknown[] } }> } }) => {
      const evs: WatchEvent[] = [];
      for (const item of e.changes.added) {
        for (const raw of item.content.getContent()) {
          const ev = validDoc('timeline', raw);
          // Joins and departures come from presence (above), at once: the timeline's record of them would repeat them.
          if (ev && !PRESENCE_TYPES.has(ev.type)) evs.push(timelineEvent(ev));
        }
      }
      if (evs.length) room.afterObservedDurable(() => {
        if (!stopped) for (const ev of evs) emit(ev);
      });
    });
    room.awareness.on('change', onChange);
    ctx.timelineArr.observe(onTimeline as never);
    // Staleness comes with time, not with a change: look again now and then. Also keeps proxies open.
    const tick = setInterval(() => {
      onPresence();
      write(': tick\n\n');
    }, eventsTickMs(server.config.awarenessTimeoutMs));
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(tick);
      room.awareness.off('change', onChange);
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
    let writing = false;
    try {
      const op = findOp(c.params.op);
      if (!op) throw new OpError(`unknown operation ${c.params.op}; known: ${Object.keys(OPS).join(', ')}`, 'not-found');
      if (op.access === 'write' && c.access !== 'write') throw new OpError('this token may only read', 'forbidden');
      writing = op.access === 'write';
      const refused = writing ? server.writesRefused() : null;
      if (refused) {
        server.metrics.writesRefused++;
        c.res.setHeader('retry-after', '1');
        server.json(c.res, 503, { error: refused, code: 'unavailable' });
        return;
      }
      const body = await readJsonBody(c.req, MAX_BODY);
      const room = await roomOf(c);
      const info = sessionInfoOf(body);
      const args = parseArgs(op.input, body);
      const known = hosted.get(room, info.id)?.presence.published;
      const asGiven: Actor = { id: info.id, name: info.name ?? known?.name ?? info.id, role: info.role ?? known?.role ?? 'agent' };
      const readCtx = new SharedContext(room.doc);
      const view = () => buildPresence(room.awareness.getStates(), { isForced: (id) => readCtx.isForced(id) });
      let env: OpEnv;
      if (op.needs === 'session') {
        env = { ctx: new SharedContext(room.doc), actor: asGiven, end: () => hosted.end(room, info.id), view };
      } else if (op.access === 'write') {
        // Writes are signs of life of the acting session (hosted from now on); reads host nobody.
        const session = hosted.touch(room, info);
        const me = session.presence.published;
        env = { ctx: session.ctx, actor: { id: session.id, name: me.name, role: me.role }, presence: session.presence, view };
      } else {
        env = { ctx: new SharedContext(room.doc), actor: asGiven, view };
      }
      // A client that hangs up stops what it waits for (lock --wait): nothing is granted to nobody.
      const gone = new AbortController();
      const onClose = () => {
        if (!c.res.writableEnded) gone.abort();
      };
      c.res.once('close', onClose);
      env.signal = gone.signal;
      let result: unknown;
      try {
        result = await op.run(args, env);
      } finally {
        c.res.off('close', onClose);
      }
      if (op.access === 'write') await room.whenDurable();
      // Locks the acting session lost since its last command, told once (the CLI prints them on stderr).
      const notices = c.access === 'write' ? hosted.get(room, info.id)?.notices.take('cli') ?? [] : [];
      // A context write while the team relay is away is on this machine only, until the link returns.
      const link = server.upstreams.get(room.name);
      const away = op.access === 'write' && op.needs === 'context' && link && server.config.upstream && link.status().status !== 'connected' ? link.status() : null;
      const relay = away ? { url: server.config.upstream!.replace(/\/\/[^@/]*@/, '//'), reason: away.reason, downSince: away.downSince } : undefined;
      server.json(c.res, 200, { ok: true, result, stored: op.access === 'write', ...(notices.length ? { notices } : {}), ...(relay ? { relay } : {}) });
    } catch (err) {
      if (err instanceof NotOwnerError) throw err;
      // The database went away during the write: not stored, say so (a 503, not a 500).
      const refused = writing ? server.writesRefused() : null;
      if (refused) {
        server.json(c.res, 503, { error: refused, code: 'unavailable' });
        return;
      }
      const e = toOpError(err);
      if (e.code === 'error') server.log.error('operation failed', { op: c.params.op, error: e.message });
      server.json(c.res, e.status, e.body());
    }
  }, 'read');
}
