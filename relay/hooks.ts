/**
 * Claude Code hooks answered by the server: `POST /hooks/claude-code` takes
 * the hook input JSON that Claude Code sends (an HTTP hook's body, or what
 * `huddle hook` forwards from a command hook's stdin) and answers with the
 * JSON output Claude Code documents.
 *
 *   SessionStart      host the session; inject a compact summary (additionalContext)
 *   UserPromptSubmit  inject only what changed since the last injection; `{}` when nothing did
 *   PreToolUse        Edit/Write/MultiEdit/NotebookEdit, Bash: deny writes to files another
 *                     live session holds an exclusive lock on; `{}` (no output) otherwise
 *   PostToolUse       record the file (and changed lines when known) as being edited
 *   SessionEnd        release everything the session holds and end it
 *
 * Every call is a sign of life of the session. The project and policy
 * (enforce, autoLock, role, name) come from `.huddle/config.json` found from
 * the hook's `cwd`, as the CLI resolves them; `X-Huddle-Role`, `X-Huddle-Name`
 * and `X-Huddle-Project` headers (or a `huddle` object in the body, which
 * `huddle hook` adds from its environment) override role, name and project.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig, type ResolvedConfig } from '../src/node/config.js';
import { repoRelative } from '../src/node/repo.js';
import { blockingLock, buildPresence, type LockView, type PresenceView } from '../src/model/view.js';
import { SharedContext } from '../src/model/context.js';
import { bashWrites } from '../src/model/bash-writes.js';
import { deltaText, describeLock, sessionSummary, shortId, type Me } from '../src/model/inject.js';
import { normalizePattern } from '../src/model/paths.js';
import { BodyError, readJsonBody } from './body.js';
import type { ServerServices as HuddleServer } from './http.js';
import type { Room } from './room.js';
import type { HostedSession } from './hosted.js';
import { acceptsNotices, withNotices } from './lock-notices.js';

import { HOOK_PATH } from '../src/protocol/constants.js';

export { HOOK_PATH };
const MAX_BODY = 1024 * 1024;
const EDIT_TOOLS = new Set(['Edit', 'Write', 'MultiEdit', 'NotebookEdit']);
/** How long a resolved project config is reused for a cwd. */
const CONFIG_TTL_MS = 2000;
/** A presence view is reused until awareness or the document changes, or for this long at most (expiry, staleness). */
const VIEW_TTL_MS = 250;
/** PreToolUse renews the published sign of life at most this often (the server notes every call). */
const TOUCH_PUBLISH_MS = 5000;

export type HookReply = Record<string, unknown>;

class HookError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** What the server remembers of one session between hook calls (memory only). */
interface SessionMemory {
  /** Messages and decisions already injected. */
  messages: Set<string>;
  decisions: Set<string>;
  /** Files the session touched, with the lock state last reported for each (holder key or ''). */
  touched: Map<string, string>;
  lastSeen: number;
}

export interface HookOverrides {
  role?: string;
  name?: string;
  project?: string;
}

export class ClaudeHooks {
  private readonly configs = new Map<string, { at: number; cfg: ResolvedConfig }>();
  private readonly memory = new Map<string, SessionMemory>();
  private readonly views = new WeakMap<Room, { at: number; view: PresenceView | null; ctx: SharedContext }>();
  private readonly published = new Map<string, number>();

  constructor(private readonly server: HuddleServer) {}

  /** Everyone's presence in a room, computed once per change (a hook call is then a lookup). */
  view(room: Room): PresenceView {
    let c = this.views.get(room);
    if (!c) {
      const entry = { at: 0, view: null as PresenceView | null, ctx: new SharedContext(room.doc) };
      const drop = () => (entry.view = null);
      room.awareness.on('change', drop);
      room.doc.on('update', drop);
      room.onDestroy(() => {
        room.awareness.off('change', drop);
        room.doc.off('update', drop);
      });
      this.views.set(room, entry);
      c = entry;
    }
    const now = Date.now();
    if (!c.view || now - c.at > VIEW_TTL_MS || now < c.at) {
      const ctx = c.ctx;
      c.view = buildPresence(room.awareness.getStates(), { now, isForced: (id) => ctx.isForced(id) });
      c.at = now;
    }
    return c.view;
  }

  /** Resolve the project, root and policy for a hook's cwd, as the CLI does (cached briefly). */
  config(cwd: string, sessionId: string, o: HookOverrides): ResolvedConfig {
    const key = `${cwd}\u0000${sessionId}\u0000${o.role ?? ''}\u0000${o.name ?? ''}\u0000${o.project ?? ''}`;
    const hit = this.configs.get(key);
    const now = Date.now();
    if (hit && now - hit.at < CONFIG_TTL_MS) return hit.cfg;
    // Only the hook's own facts count, never the server process's environment.
    const env: NodeJS.ProcessEnv = { CLAUDE_CODE_SESSION_ID: sessionId, HUDDLE_ROLE: o.role, HUDDLE_PROJECT: o.project, HUDDLE_NAME: o.name };
    let cfg: ResolvedConfig;
    try {
      cfg = resolveConfig({}, cwd, env);
    } catch (err) {
      throw new HookError(400, (err as Error).message);
    }
    if (this.configs.size > 2000) this.configs.clear();
    this.configs.set(key, { at: now, cfg });
    return cfg;
  }

  private mem(room: Room, id: string): SessionMemory | undefined {
    return this.memory.get(`${room.name}\u0000${id}`);
  }

  private freshMem(room: Room, id: string): SessionMemory {
    const m: SessionMemory = { messages: new Set(), decisions: new Set(), touched: new Map(), lastSeen: Date.now() };
    this.memory.set(`${room.name}\u0000${id}`, m);
    this.prune();
    return m;
  }

  private prune(): void {
    if (this.memory.size < 5000) return;
    const cutoff = Date.now() - 24 * 3600_000;
    for (const [k, m] of this.memory) if (m.lastSeen < cutoff) this.memory.delete(k);
  }

  /** pid of a process above a command hook → the Claude Code session it served. */
  /** A process reported by the hooks of two sessions (a shared terminal shell) is ambiguous: `session_id` null. */
  private readonly pidIndex = new Map<number, { session_id: string | null; cwd: string | undefined; at: number }>();

  notePids(pids: unknown[], sessionId: string, cwd: unknown): void {
    if (this.pidIndex.size > 10_000) this.pidIndex.clear();
    for (const p of pids.slice(0, 4)) {
      if (typeof p !== 'number' || !Number.isInteger(p) || p <= 1) continue;
      const prev = this.pidIndex.get(p);
      const id = prev && prev.session_id !== sessionId ? null : sessionId;
      this.pidIndex.set(p, { session_id: id, cwd: typeof cwd === 'string' ? cwd : undefined, at: Date.now() });
    }
  }

  /** The session of the nearest of these processes that hooks of exactly one session reported, or null. */
  sessionOfPids(pids: number[]): { session_id: string; cwd: string | undefined } | null {
    for (const p of pids) {
      const hit = this.pidIndex.get(p);
      if (hit?.session_id) return { session_id: hit.session_id, cwd: hit.cwd };
    }
    return null;
  }

  async handle(input: Record<string, unknown>, o: HookOverrides = {}): Promise<HookReply> {
    const event = s(input.hook_event_name);
    const sessionId = s(input.session_id);
    if (!event) throw new HookError(400, 'missing "hook_event_name"');
    if (!sessionId) throw new HookError(400, 'missing "session_id"');
    if (sessionId.length > 200) throw new HookError(400, 'session_id is longer than 200 characters');
    const cwd = s(input.cwd) ?? process.cwd();
    if (!path.isAbsolute(cwd)) throw new HookError(400, '"cwd" must be an absolute path');
    const cfg = this.config(cwd, sessionId, o);
    let room: Room;
    try {
      room = await this.server.room(cfg.project);
    } catch (err) {
      throw new HookError(400, (err as Error).message);
    }

    if (event === 'SessionEnd') {
      this.memory.delete(`${room.name}\u0000${sessionId}`);
      this.published.delete(`${room.name}\u0000${sessionId}`);
      this.server.hosted.end(room, sessionId);
      return {};
    }

    // Every hook call is a sign of life.
    const info = { ...cfg.session, id: sessionId, agent: 'claude-code', cwd, host: os.hostname(), pid: undefined };
    if (this.server.hosted.get(room, sessionId)) {
      // A known session keeps the role and name it has unless this call names them (header, env, config).
      if (cfg.sources.role === 'default') info.role = undefined;
      if (!o.name && !cfg.file.name) info.name = undefined;
    }
    const key = `${room.name}\u0000${sessionId}`;
    const existing = this.server.hosted.get(room, sessionId);
    let session: HostedSession;
    if (existing && event === 'PreToolUse' && Date.now() - (this.published.get(key) ?? 0) < TOUCH_PUBLISH_MS) {
      // A sign of life noted, not republished: PreToolUse stays a lookup.
      existing.lastSeen = Date.now();
      session = existing;
    } else {
      session = this.server.hosted.touch(room, info);
      if (this.published.size > 10_000) this.published.clear();
      this.published.set(key, Date.now());
    }
    const mem = this.mem(room, sessionId);
    if (mem) mem.lastSeen = Date.now();
    // Locks this session lost since its last hook call: one line each, once.
    const lost = acceptsNotices(event) ? session.notices.take('hook') : [];
    return withNotices(await this.dispatch(event, room, session, cfg, mem, input, cwd), event, lost);
  }

  private async dispatch(event: string, room: Room, session: HostedSession, cfg: ResolvedConfig, mem: SessionMemory | undefined, input: Record<string, unknown>, cwd: string): Promise<HookReply> {
    switch (event) {
      case 'SessionStart':
        return this.sessionStart(room, session, cfg);
      case 'UserPromptSubmit':
        return this.promptSubmit(room, session, cfg, mem);
      case 'PreToolUse':
        return this.preToolUse(room, session, cfg, input, cwd);
      case 'PostToolUse':
        return this.postToolUse(room, session, cfg, input, cwd);
      default:
        return {};
    }
  }

  private me(session: HostedSession): Me {
    const st = session.presence.current;
    return { id: st.id, name: st.name, role: st.role };
  }

  private summary(room: Room, session: HostedSession, cfg: ResolvedConfig, mem: SessionMemory): string {
    const me = this.me(session);
    const view = session.presence.view();
    const ctx = session.ctx;
    const inbox = ctx.inbox({ id: me.id, role: me.role, name: me.name });
    const notes = [
      cfg.enforce === 'block'
        ? 'Edits of files that another live session holds an exclusive lock on are refused by a huddle hook.'
        : cfg.enforce === 'warn'
          ? 'Edits of files locked by others are allowed with a warning (enforce: warn).'
          : 'Locks are advisory here (enforce: off).',
      ...(cfg.autoLock ? ['A file is locked for this session at its first edit (autoLock).'] : []),
    ];
    const out = sessionSummary({ project: room.name, me, sessions: view.sessions, locks: view.locks, inbox, decisions: ctx.decisions({ includeSuperseded: false }), tasks: ctx.tasks({ status: 'open' }), notes });
    for (const id of out.messageIds) mem.messages.add(id);
    for (const id of out.decisionIds) mem.decisions.add(id);
    // Delivered into the agent's context: mark read so other channels do not repeat them.
    ctx.markRead(me.id, out.messageIds);
    for (const [p] of mem.touched) mem.touched.set(p, lockKey(blockingLock(view, me.id, p)));
    return out.text;
  }

  private sessionStart(room: Room, session: HostedSession, cfg: ResolvedConfig): HookReply {
    const prev = this.mem(room, session.id);
    const mem = this.freshMem(room, session.id);
    // Files edited before a /clear or compaction stay of interest.
    for (const e of session.presence.current.editing) mem.touched.set(e.path, '');
    if (prev) for (const p of prev.touched.keys()) mem.touched.set(p, '');
    const text = this.summary(room, session, cfg, mem);
    return { hookSpecificOutput: { hookEventName: 'SessionStart', additionalContext: text } };
  }

  private promptSubmit(room: Room, session: HostedSession, cfg: ResolvedConfig, mem: SessionMemory | undefined): HookReply {
    if (!mem) {
      // No SessionStart seen (e.g. the server restarted): the summary, once.
      const fresh = this.freshMem(room, session.id);
      for (const e of session.presence.current.editing) fresh.touched.set(e.path, '');
      const text = this.summary(room, session, cfg, fresh);
      return { hookSpecificOutput: { hookEventName: 'UserPromptSubmit', additionalContext: text } };
    }
    const me = this.me(session);
    const ctx = session.ctx;
    const messages = ctx.inbox({ id: me.id, role: me.role, name: me.name }).filter((m) => !mem.messages.has(m.id));
    const decisions = ctx.decisions({ includeSuperseded: false }).filter((d) => !mem.decisions.has(d.id) && d.by !== me.id);
    const view = session.presence.view();
    for (const e of session.presence.current.editing) if (!mem.touched.has(e.path)) mem.touched.set(e.path, '');
    const lockChanges: Array<{ path: string; now: LockView | null; before: string | null }> = [];
    for (const [p, before] of mem.touched) {
      const l = blockingLock(view, me.id, p);
      const key = lockKey(l);
      if (key !== before) {
        lockChanges.push({ path: p, now: l, before: before ? before.split('|')[1] : null });
        mem.touched.set(p, key);
      }
    }
    // Our own decisions are known to us; remember every decision seen.
    for (const d of ctx.decisions({ includeSuperseded: false })) mem.decisions.add(d.id);
    const text = deltaText({ messages, decisions, lockChanges: dedupeLockChanges(lockChanges) });
    if (!text) return {};
    const shownMsgs = messages.filter((m) => text.includes(`id ${shortId(m.id)})`));
    for (const m of shownMsgs) mem.messages.add(m.id);
    ctx.markRead(me.id, shownMsgs.map((m) => m.id));
    return { hookSpecificOutput: { hookEventName: 'UserPromptSubmit', additionalContext: text } };
  }

  /** Repository-relative path of a file named in a tool's input, or null when outside the repository. */
  private rel(cfg: ResolvedConfig, file: string, cwd: string): string | null {
    const r = repoRelative(cfg.root, file, cwd);
    if (r === null) return null;
    try {
      return normalizePattern(r);
    } catch {
      return null;
    }
  }

  private async preToolUse(room: Room, session: HostedSession, cfg: ResolvedConfig, input: Record<string, unknown>, cwd: string): Promise<HookReply> {
    if (cfg.enforce === 'off') return {};
    const tool = s(input.tool_name) ?? '';
    const ti = (input.tool_input ?? {}) as Record<string, unknown>;
    const me = session.id;
    let targets: Array<{ path: string; via: string }> = [];
    if (EDIT_TOOLS.has(tool)) {
      const file = s(ti.file_path) ?? s(ti.notebook_path);
      const rel = file ? this.rel(cfg, file, cwd) : null;
      if (rel) targets.push({ path: rel, via: tool });
    } else if (tool === 'Bash') {
      const command = s(ti.command);
      if (!command) return {};
      for (const w of bashWrites(command)) {
        if (w.target === '**') {
          targets.push({ path: '**', via: w.via });
          continue;
        }
        if (w.target.startsWith('~') || w.cd.some((d) => d.startsWith('~'))) continue;
        const base = path.resolve(cwd, ...w.cd);
        const rel = this.rel(cfg, w.target, base);
        if (rel) targets.push({ path: rel, via: w.via });
      }
    } else return {};
    if (targets.length === 0) return {};
    targets = targets.slice(0, 50);

    const view = this.view(room);
    const blocked: Array<{ path: string; via: string; lock: LockView }> = [];
    for (const t of targets) {
      const l = blockingLock(view, me, t.path);
      if (l && l.mode === 'exclusive') blocked.push({ ...t, lock: l });
    }
    const mem = this.mem(room, me);
    if (blocked.length === 0) {
      if (cfg.autoLock && EDIT_TOOLS.has(tool) && targets[0].path !== '**') {
        const p = targets[0].path;
        const mine = session.presence.claims().some((c) => c.path === p);
        if (!mine) {
          const r = await session.presence.acquire([p], { mode: 'exclusive', reason: 'auto-lock at first edit' });
          if (r.status === 'held') blocked.push({ path: p, via: tool, lock: r.holder });
        }
      }
      if (blocked.length === 0) {
        if (mem) for (const t of targets) if (t.path !== '**' && !mem.touched.has(t.path)) mem.touched.set(t.path, '');
        return {};
      }
    }
    // The agent learns of these locks now; the next prompt need not repeat them.
    if (mem) for (const b of blocked) if (b.path !== '**') mem.touched.set(b.path, lockKey(b.lock));
    const now = Date.now();
    const lines = blocked.slice(0, 5).map((b) => `${b.path === '**' ? `${b.via} would change files including ${b.lock.path}, which is locked` : `${b.path} is locked`} by ${describeLock(b.lock, now).slice(b.lock.path.length + 4)}.`);
    if (blocked.length > 5) lines.push(`(${blocked.length - 5} more locked paths.)`);
    const holder = blocked[0].lock;
    if (cfg.enforce === 'warn') {
      return {
        hookSpecificOutput: {
          hookEventName: 'PreToolUse',
          additionalContext: `huddle warning: ${lines.join(' ')} The edit goes ahead (enforce: warn); ${holder.sessionName} may be changing the same file.`,
        },
      };
    }
    const reason = `huddle: ${lines.join(' ')} Edits by other sessions are refused while the lock is held. The holder can be asked through huddle (send to ${holder.sessionName}); the lock ends when it is released or its holder goes away.`;
    return { hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason } };
  }

  private postToolUse(room: Room, session: HostedSession, cfg: ResolvedConfig, input: Record<string, unknown>, cwd: string): HookReply {
    const tool = s(input.tool_name) ?? '';
    const ti = (input.tool_input ?? {}) as Record<string, unknown>;
    const mem = this.mem(room, session.id);
    const record = (rel: string, ranges?: Array<[number, number]>) => {
      session.presence.editing(rel, ranges && ranges.length ? ranges : undefined);
      if (mem && !mem.touched.has(rel)) mem.touched.set(rel, lockKey(blockingLock(session.presence.view(), session.id, rel)));
    };
    if (EDIT_TOOLS.has(tool)) {
      const file = s(ti.file_path) ?? s(ti.notebook_path);
      const rel = file ? this.rel(cfg, file, cwd) : null;
      if (!rel) return {};
      record(rel, changedRanges(tool, ti, input.tool_response, file ? path.resolve(cwd, file) : null));
    } else if (tool === 'Bash') {
      const command = s(ti.command);
      if (!command) return {};
      for (const w of bashWrites(command).slice(0, 20)) {
        if (w.target === '**' || /[*?[]/.test(w.target) || w.target.startsWith('~')) continue;
        const rel = this.rel(cfg, w.target, path.resolve(cwd, ...w.cd));
        if (rel) record(rel);
      }
    }
    return {};
  }
}

function lockKey(l: LockView | null): string {
  return l ? `${l.id}|${l.sessionName}` : '';
}

function dedupeLockChanges<T extends { now: LockView | null }>(xs: T[]): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    if (!x.now) return true;
    if (seen.has(x.now.id)) return false;
    seen.add(x.now.id);
    return true;
  });
}

const lineCount = (t: string) => (t === '' ? 0 : t.split('\n').length - (t.endsWith('\n') ? 1 : 0));

/** Lines changed by an edit tool, from its response's patch, else from where the new text sits in the file. */
export function changedRanges(tool: string, ti: Record<string, unknown>, response: unknown, abs: string | null): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const patch = (response as { structuredPatch?: Array<{ newStart?: number; newLines?: number }> } | null)?.structuredPatch;
  if (Array.isArray(patch) && patch.length) {
    for (const h of patch) {
      if (typeof h.newStart === 'number' && typeof h.newLines === 'number') out.push([Math.max(1, h.newStart), Math.max(1, h.newStart + Math.max(1, h.newLines) - 1)]);
    }
    if (out.length) return out.slice(0, 20);
  }
  if (tool === 'Write') {
    const n = typeof ti.content === 'string' ? lineCount(ti.content) : 0;
    return n > 0 ? [[1, n]] : [];
  }
  const news: string[] = [];
  if (tool === 'Edit' && typeof ti.new_string === 'string') news.push(ti.new_string);
  if (tool === 'MultiEdit' && Array.isArray(ti.edits)) for (const e of ti.edits as Array<{ new_string?: unknown }>) if (typeof e?.new_string === 'string') news.push(e.new_string);
  if (news.length === 0 || !abs) return [];
  let text: string;
  try {
    const st = fs.statSync(abs);
    if (st.size > 4 * 1024 * 1024) return [];
    text = fs.readFileSync(abs, 'utf8');
  } catch {
    return [];
  }
  for (const n of news) {
    if (n === '') continue;
    const at = text.indexOf(n);
    if (at < 0) continue;
    const start = lineCount(text.slice(0, at)) + (at === 0 || text[at - 1] === '\n' ? 1 : 0);
    const first = Math.max(1, start);
    out.push([first, first + Math.max(1, lineCount(n)) - 1]);
  }
  return out.slice(0, 20);
}

/** Add `POST /hooks/claude-code` to the server. */
export function registerHooks(server: HuddleServer): ClaudeHooks {
  const hooks = new ClaudeHooks(server);
  server.route('POST', HOOK_PATH, async (c) => {
    try {
      const body = await readJsonBody(c.req, MAX_BODY, 'hook input');
      const h = (name: string) => {
        const v = c.req.headers[name];
        return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
      };
      const extra = (body.huddle ?? {}) as Record<string, unknown>;
      const o: HookOverrides = {
        role: h('x-huddle-role') ?? s(extra.role),
        name: h('x-huddle-name') ?? s(extra.name),
        project: h('x-huddle-project') ?? s(extra.project),
      };
      if (Array.isArray(extra.ancestors) && typeof body.session_id === 'string') hooks.notePids(extra.ancestors, body.session_id, body.cwd);
      const reply = await hooks.handle(body, o);
      server.json(c.res, 200, reply);
    } catch (err) {
      // Claude Code treats a non-2xx answer as a non-blocking error: the tool call goes ahead.
      const e = err as Error & { status?: number };
      const status = e instanceof HookError || e instanceof BodyError ? e.status : 500;
      if (status >= 500) server.log.error('hook failed', { error: e.message });
      else server.log.debug('hook refused', { error: e.message });
      server.json(c.res, status, { error: e.message });
    }
  }, 'write');
  // An MCP server started by Claude Code asks which session its ancestors belong to.
  server.route('GET', `${HOOK_PATH}/session`, (c) => {
    const pids = (c.url.searchParams.get('pids') ?? '').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 1);
    const hit = hooks.sessionOfPids(pids);
    if (!hit) server.json(c.res, 404, { error: 'no Claude Code session known for these processes' });
    else server.json(c.res, 200, hit);
  }, 'read');
  return hooks;
}
