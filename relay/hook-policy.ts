/**
 * The agent-neutral hook policy: a HookEvent in (from any agent's adapter),
 * a HookDecision out (inject, deny naming the holder, warn), with the
 * session's presence and edits recorded on the way.
 *
 *   session-start  host the session; inject a compact summary
 *   prompt         inject only what changed since the last injection (nothing when nothing did)
 *   pre-tool       deny writes to files another live session holds an exclusive lock on
 *   post-tool      record the files (and the lines the agent's payload names) as being edited;
 *                  deliver what is new for the session (deliver.ts: compact, rate-limited, urgent at once)
 *   stop           keep a stopping turn going once per unanswered request addressed to the session
 *   session-end    release everything the session holds and end it
 *
 * Every call is a sign of life. The project and policy (enforce, autoLock,
 * role, name) come from `.huddle/config.json` found from the event's cwd, as
 * the CLI resolves them, and only where the server may look (hook-config.ts);
 * the event's role/name/project override them.
 *
 * The policy never reads a file a request names: paths are only compared
 * with lock patterns, and line ranges come from the agent's own payload.
 */
import os from 'node:os';
import path from 'node:path';
import type { ResolvedConfig } from '../src/node/config.js';
import { HookConfigError, HookConfigs } from './hook-config.js';
import { KnownRepos, knownReposFile } from '../src/node/known-repos.js';
import { repoRelative } from '../src/node/repo.js';
import { blockingLock, buildPresence, mayBlockWrite, type LockView, type PresenceView } from '../src/model/view.js';
import { SharedContext } from '../src/model/context.js';
import { bashWrites } from '../src/model/bash-writes.js';
import { deltaText, describeLock, sessionSummary, shortId, type Me } from '../src/model/inject.js';
import { suggestionLines } from '../src/model/suggest.js';
import { noteDenied } from '../src/model/activity.js';
import { DELIVER_MAX, selectDelivery, stopRequest, type LockChange } from '../src/model/deliver.js';
import type { InterfaceDecl, Message } from '../src/model/context.js';
import { normalizePattern } from '../src/model/paths.js';
import { forcedReleaseNotice } from '../src/model/enums.js';
import type { HookDecision, HookEvent } from '../src/agents/event.js';
import { SessionMemory, type SessionNotes } from './session-memory.js';
import type { LockNotice } from './lock-notices.js';
import type { ServerServices as HuddleServer } from './http.js';
import type { Room } from './room.js';
import type { HostedSession } from './hosted.js';

/** A presence view is reused until awareness or the document changes, or for this long at most (expiry, staleness). */
const VIEW_TTL_MS = 250;
/** PreToolUse renews the published sign of life at most this often (the server notes every call). */
const TOUCH_PUBLISH_MS = 5000;
/** The same tool call checked again this soon (through a second hook file) gets the same answer. */
const SAME_CALL_MS = 2000;

export class HookError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

interface Target {
  path: string;
  via: string;
  lines?: Array<[number, number]>;
}

export class HookPolicy {
  readonly memory = new SessionMemory();
  private readonly configs: HookConfigs;
  /** Repositories wired with `huddle init` by the user running the server. */
  private readonly knownRepos = new KnownRepos(knownReposFile());
  private readonly views = new WeakMap<Room, { at: number; view: PresenceView | null; ctx: SharedContext }>();

  constructor(private readonly server: HuddleServer) {
    this.configs = new HookConfigs({
      roots: () => server.config.hookRoots,
      hostedFolders: () => hostedFolders(server),
      knownRepos: () => this.knownRepos.current(),
    });
  }

  /** Everyone's presence in a room, computed once per change (a hook call is then a lookup). */
  view(room: Room): PresenceView {
    let c = this.views.get(room);
    if (!c) {
      const entry = { at: 0, view: null as PresenceView | null, ctx: new SharedContext(room.doc), forcedChanged: false };
      const drop = () => (entry.view = null);
      room.awareness.on('change', drop);
      // The view reads the document only for forced releases: other writes (a denial noted in the
      // activity log, a message) leave it as it is. A forced release counts once durable (the
      // pipeline's bus), like everything else that listens.
      const onForced = () => (entry.forcedChanged = true);
      entry.ctx.forcedMap.observe(onForced);
      const offDurable = room.onDurable(() => {
        if (!entry.forcedChanged) return;
        entry.forcedChanged = false;
        drop();
      });
      room.onDestroy(() => {
        room.awareness.off('change', drop);
        entry.ctx.forcedMap.unobserve(onForced);
        offDurable();
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

  /** Resolve the project, root and policy for an event's cwd, only where the server may look (hook-config.ts). */
  config(ev: HookEvent): ResolvedConfig {
    try {
      return this.configs.resolve(ev);
    } catch (err) {
      throw new HookError(err instanceof HookConfigError ? err.status : 400, (err as Error).message);
    }
  }

  async decide(ev: HookEvent): Promise<HookDecision> {
    const cfg = this.config(ev);
    let room: Room;
    try {
      room = await this.server.room(cfg.project);
    } catch (err) {
      throw new HookError(400, (err as Error).message);
    }
    // A session started by /clear (or after its predecessor ended) takes its agent process over.
    if (ev.pids) this.memory.notePids(ev.pids, ev.session, ev.cwd, ev.kind === 'session-start' && ev.source === 'clear');

    if (ev.kind === 'session-end') {
      this.memory.releasePids(ev.session, ev.pids);
      this.memory.forget(room.name, ev.session);
      this.server.hosted.end(room, ev.session);
      return {};
    }

    // Every hook call is a sign of life.
    const existing = this.server.hosted.get(room, ev.session);
    const notes = this.memory.get(room.name, ev.session);
    let session: HostedSession;
    if (existing && ev.kind === 'pre-tool' && notes && Date.now() - notes.publishedAt < TOUCH_PUBLISH_MS) {
      // A sign of life noted, not republished: PreToolUse stays a lookup.
      existing.lastSeen = Date.now();
      session = existing;
    } else {
      const info = { ...cfg.session, id: ev.session, agent: ev.agent, cwd: ev.cwd, host: os.hostname(), pid: undefined };
      if (existing) {
        // A known session keeps the role and name it has unless this call names them (header, env, config).
        if (cfg.sources.role === 'default') info.role = undefined;
        if (!ev.name && !cfg.file.name) info.name = undefined;
      }
      session = this.server.hosted.touch(room, info);
      this.memory.ensure(room.name, ev.session).publishedAt = Date.now();
    }

    const d = await this.dispatch(ev, room, session, cfg);
    // Locks this session lost since its last hook call: one line each, once (lock-notices.ts). The prompt
    // delta and post-tool delivery render them themselves (urgent, inside the team-context fence). An
    // allowed pre-tool leaves them for the post-tool answer: what it adds reaches the model with the tool
    // result anyway, and some agents cannot show it (Gemini BeforeTool). A denial names them in its reason.
    const later = ev.kind === 'activity' || ev.kind === 'stop' || ev.kind === 'prompt' || ev.kind === 'post-tool' || ev.quiet === true || (ev.kind === 'pre-tool' && !d.deny);
    return later ? d : withLostLocks(d, session.notices.take('hook'));
  }

  private async dispatch(ev: HookEvent, room: Room, session: HostedSession, cfg: ResolvedConfig): Promise<HookDecision> {
    switch (ev.kind) {
      case 'session-start':
        return { inject: this.start(room, session, cfg) };
      case 'prompt':
        return this.prompt(room, session, cfg);
      case 'pre-tool':
        return this.preTool(room, session, cfg, ev);
      case 'post-tool':
        return this.postTool(room, session, cfg, ev);
      case 'stop':
        return this.stop(session, this.memory.ensure(room.name, session.id));
      default:
        return {};
    }
  }

  private me(session: HostedSession): Me {
    const st = session.presence.published;
    return { id: st.id, name: st.name, role: st.role };
  }

  private summary(room: Room, session: HostedSession, cfg: ResolvedConfig, mem: SessionNotes): string {
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
    const out = sessionSummary({ project: room.name, me, sessions: view.sessions, locks: view.locks, inbox, decisions: ctx.decisions({ includeSuperseded: false }), tasks: ctx.tasks({ status: 'open' }), notes, suggestions: suggestionLines(ctx, view, me) });
    for (const id of out.messageIds) mem.messages.add(id);
    for (const id of out.decisionIds) mem.decisions.add(id);
    // Interfaces as they are now are known; only later changes are delivered.
    for (const i of ctx.interfaces()) mem.interfaces.add(interfaceKey(i));
    mem.introduced = true;
    // Delivered into the agent's context: mark read so other channels do not repeat them.
    ctx.markRead(me.id, out.messageIds);
    for (const [p] of mem.touched) mem.touched.set(p, lockKey(blockingLock(view, me.id, p)));
    SessionMemory.trim(mem);
    return out.text;
  }

  private start(room: Room, session: HostedSession, cfg: ResolvedConfig): string {
    const mem = this.memory.reset(room.name, session.id);
    mem.publishedAt = Date.now();
    // Files edited before a /clear or compaction stay of interest.
    for (const e of session.presence.current.editing) mem.touched.set(e.path, '');
    return this.summary(room, session, cfg, mem);
  }

  private prompt(room: Room, session: HostedSession, cfg: ResolvedConfig): HookDecision {
    const mem = this.memory.ensure(room.name, session.id);
    if (!mem.introduced) {
      // No session start seen (e.g. the server restarted): the summary, once.
      for (const e of session.presence.current.editing) mem.touched.set(e.path, '');
      return withLostLocks({ inject: this.summary(room, session, cfg, mem) }, session.notices.take('hook'));
    }
    const d = this.collect(session, mem);
    const text = deltaText({ messages: d.messages, decisions: d.decisions, lockChanges: d.lockChanges, interfaces: d.interfaces, editing: d.editing });
    if (!text) {
      d.commit([]);
      return {};
    }
    d.commit(d.messages.filter((m) => text.includes(`id ${shortId(m.id)})`)));
    return { inject: text };
  }

  /**
   * What is new for this session (messages, decisions by others, lock changes on files it touched),
   * shared by the prompt-time delta and post-tool delivery. Nothing is remembered until `commit`
   * (a rate-limited delivery leaves the items new for the next call), except the lost-lock notices,
   * which are taken: they are urgent, so a delivery that has them always goes out.
   */
  private collect(session: HostedSession, mem: SessionNotes) {
    const me = this.me(session);
    const ctx = session.ctx;
    const notices = session.notices.takeNotices('hook');
    // The forcer's message saying the same as a lost-lock line is not shown twice.
    const forcedTexts = new Set(notices.filter((n) => n.reason === 'forced').map((n) => forcedReleaseNotice(n.path, n.holder ?? '', n.why)));
    const unseen = ctx.inbox({ id: me.id, role: me.role, name: me.name }).filter((m) => !mem.messages.has(m.id));
    const same = unseen.filter((m) => m.kind === 'fyi' && forcedTexts.has(m.text));
    const messages = unseen.filter((m) => !same.includes(m));
    const decisions = ctx.decisions({ includeSuperseded: false }).filter((d) => !mem.decisions.has(d.id) && d.by !== me.id);
    const view = session.presence.view();
    for (const e of session.presence.current.editing) if (!mem.touched.has(e.path)) mem.touched.set(e.path, '');
    const lockChanges: LockChange[] = [];
    const keys: Array<[string, string]> = [];
    for (const [p, before] of mem.touched) {
      const l = blockingLock(view, me.id, p);
      const key = lockKey(l);
      if (key !== before) {
        lockChanges.push({ path: p, now: l, before: before ? before.split('|')[1] : null });
        keys.push([p, key]);
      }
    }
    // Interfaces others declared or changed on a file this session edits.
    const editing = Array.from(mem.touched.keys());
    const allIfaces = ctx.interfaces();
    const interfaces = allIfaces.filter((i) => i.by !== me.id && !mem.interfaces.has(interfaceKey(i)) && mem.touched.has(patternOf(i.file)));
    const commit = (shown: Message[]) => {
      for (const [p, k] of keys) mem.touched.set(p, k);
      // Our own decisions are known to us; remember every decision seen.
      for (const d of ctx.decisions({ includeSuperseded: false })) mem.decisions.add(d.id);
      for (const i of allIfaces) mem.interfaces.add(interfaceKey(i));
      for (const m of [...shown, ...same]) mem.messages.add(m.id);
      ctx.markRead(me.id, [...shown, ...same].map((m) => m.id));
      SessionMemory.trim(mem);
    };
    return { me, messages, decisions, lockChanges: [...lostChanges(notices), ...dedupeLockChanges(lockChanges)], interfaces, editing, commit };
  }

  /** After a tool call: what is new, compact and rate-limited (urgent items, such as a lock this session lost, bypass the limit). */
  private deliver(session: HostedSession, mem: SessionNotes): string | undefined {
    if (!mem.introduced) {
      // No summary seen yet (a server restart): only the lost locks, not the whole backlog.
      const lost = lostChanges(session.notices.takeNotices('hook'));
      return lost.length ? deltaText({ messages: [], decisions: [], lockChanges: lost }, DELIVER_MAX) : undefined;
    }
    const d = this.collect(session, mem);
    const now = Date.now();
    const out = selectDelivery({ me: d.me, messages: d.messages, decisions: d.decisions, lockChanges: d.lockChanges, interfaces: d.interfaces, editing: d.editing, now, lastAt: mem.deliveredAt });
    if (!out) return undefined;
    d.commit(out.messages);
    mem.deliveredAt = now;
    return out.text;
  }

  /** A turn about to stop with an unanswered request addressed to this session: keep it going, once per request. */
  private stop(session: HostedSession, mem: SessionNotes): HookDecision {
    const me = this.me(session);
    const req = stopRequest(session.ctx.openRequests(), me, mem.stopHeld);
    if (!req) return {};
    mem.stopHeld.add(req.id);
    mem.messages.add(req.id);
    SessionMemory.trim(mem);
    const text = deltaText({ messages: [req], decisions: [], lockChanges: [] }, DELIVER_MAX);
    return { keepGoing: `${text}\nThis request waits for this session's answer: reply with \`huddle send --reply-to ${shortId(req.id)} …\` (or the huddle MCP send tool) before stopping.` };
  }

  /** Repository-relative pattern of a path an event names, or null when outside the repository. */
  private rel(cfg: ResolvedConfig, file: string, cwd: string): string | null {
    const r = repoRelative(cfg.root, file, cwd);
    if (r === null) return null;
    try {
      return normalizePattern(r);
    } catch {
      return null;
    }
  }

  /** The repository paths an event writes: its named files, and what its shell command writes. */
  private targets(cfg: ResolvedConfig, ev: HookEvent, post: boolean): Target[] {
    const out: Target[] = [];
    for (const w of ev.writes.slice(0, 50)) {
      const rel = this.rel(cfg, w.path, ev.cwd);
      if (rel) out.push({ path: rel, via: ev.tool ?? w.via, lines: w.lines });
    }
    if (ev.shell) {
      for (const w of bashWrites(ev.shell).slice(0, 50)) {
        if (w.target === '**') {
          if (!post) out.push({ path: '**', via: w.via });
          continue;
        }
        if (w.target.startsWith('~') || w.cd.some((d) => d.startsWith('~'))) continue;
        if (post && /[*?[]/.test(w.target)) continue;
        const rel = this.rel(cfg, w.target, path.resolve(ev.cwd, ...w.cd));
        if (rel) out.push({ path: rel, via: w.via });
      }
    }
    return out.slice(0, 50);
  }

  private async preTool(room: Room, session: HostedSession, cfg: ResolvedConfig, ev: HookEvent): Promise<HookDecision> {
    if (cfg.enforce === 'off') return {};
    const mem = this.memory.ensure(room.name, session.id);
    // The same call checked again through another hook file (Cursor running its own and the Claude Code hooks): same answer, counted once.
    const callKey = ev.toolUseId ? `${ev.toolUseId}\u0000${ev.shell ?? ''}\u0000${ev.writes.map((w) => w.path).join('\u0000')}` : undefined;
    const now = Date.now();
    const seen = callKey ? mem.calls.get(callKey) : undefined;
    if (seen && seen.channel !== ev.channel && now - seen.at < SAME_CALL_MS && now >= seen.at) return seen.decision;
    const d = await this.checkWrites(room, session, cfg, ev, mem);
    if (callKey) {
      mem.calls.set(callKey, { at: now, channel: ev.channel, decision: d });
      SessionMemory.trim(mem);
    }
    return d;
  }

  private async checkWrites(room: Room, session: HostedSession, cfg: ResolvedConfig, ev: HookEvent, mem: SessionNotes): Promise<HookDecision> {
    const targets = this.targets(cfg, ev, false);
    if (targets.length === 0) return {};
    const me = session.id;
    const blocked: Array<Target & { lock: LockView }> = [];
    // Most writes are to files nobody else holds: a scan of the states says so exactly, and the
    // full view (rebuilt after every presence change) is needed only when it finds a candidate.
    if (mayBlockWrite(room.awareness.getStates(), me, targets.map((t) => t.path), Date.now())) {
      const view = this.view(room);
      for (const t of targets) {
        const l = blockingLock(view, me, t.path);
        if (l && l.mode === 'exclusive') blocked.push({ ...t, lock: l });
      }
    }
    if (blocked.length === 0) {
      const first = targets[0];
      if (cfg.autoLock && !ev.shell && first.path !== '**') {
        const mine = session.presence.claims().some((c) => c.path === first.path);
        if (!mine) {
          const r = await session.presence.acquire([first.path], { mode: 'exclusive', reason: 'auto-lock at first edit' });
          if (r.status === 'held') blocked.push({ ...first, lock: r.holder });
        }
      }
      if (blocked.length === 0) {
        for (const t of targets) if (t.path !== '**' && !mem.touched.has(t.path)) mem.touched.set(t.path, '');
        return {};
      }
    }
    // The agent learns of these locks now; the next prompt need not repeat them.
    for (const b of blocked) if (b.path !== '**') mem.touched.set(b.path, lockKey(b.lock));
    const now = Date.now();
    const lines = blocked.slice(0, 5).map((b) => `${b.path === '**' ? `${b.via} would change files including ${b.lock.path}, which is locked` : `${b.path} is locked`} by ${describeLock(b.lock, now).slice(b.lock.path.length + 4)}.`);
    if (blocked.length > 5) lines.push(`(${blocked.length - 5} more locked paths.)`);
    const holder = blocked[0].lock;
    if (cfg.enforce === 'warn') {
      return { warn: `huddle warning: ${lines.join(' ')} The edit goes ahead (enforce: warn); ${holder.sessionName} may be changing the same file.` };
    }
    for (const b of blocked.slice(0, 5)) noteDenied(session.ctx, this.me(session), b.path === '**' ? b.lock.path : b.path, b.lock);
    return { deny: `huddle: ${lines.join(' ')} Edits by other sessions are refused while the lock is held. The holder can be asked through huddle (send to ${holder.sessionName}); the lock ends when it is released or its holder goes away.` };
  }

  private postTool(room: Room, session: HostedSession, cfg: ResolvedConfig, ev: HookEvent): HookDecision {
    const mem = this.memory.ensure(room.name, session.id);
    const quiet = ev.quiet === true;
    for (const t of this.targets(cfg, ev, true).slice(0, 20)) {
      if (t.path === '**') continue;
      session.presence.editing(t.path, t.lines && t.lines.length ? t.lines : undefined);
      if (!mem.touched.has(t.path)) mem.touched.set(t.path, lockKey(blockingLock(session.presence.view(), session.id, t.path)));
    }
    SessionMemory.trim(mem);
    // An event whose answer the agent never shows (Cursor afterFileEdit) records only; nothing is used up on it.
    const inject = quiet ? undefined : this.deliver(session, mem);
    return inject ? { inject } : {};
  }
}

/** Lost-lock notices as lock changes the delta renders (inside the fence: the forcer's reason is another session's text). */
function lostChanges(notices: LockNotice[]): LockChange[] {
  return notices.map((n) => ({ path: n.path, now: null, before: null, lost: { forced: n.reason === 'forced', by: n.holder, why: n.why } }));
}

/** An interface version: it is new again when re-declared. */
function interfaceKey(i: InterfaceDecl): string {
  return `${i.name}\u0000${i.at}\u0000${i.status}`;
}

/** An interface's file as a lock pattern (what `touched` is keyed by), or '' when it is not a valid one. */
function patternOf(file: string): string {
  try {
    return normalizePattern(file);
  } catch {
    return '';
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

/** A decision with the lines about lost locks added to what the agent reads (and to a denial's reason). */
export function withLostLocks(d: HookDecision, lines: string[]): HookDecision {
  if (lines.length === 0) return d;
  const text = lines.join('\n');
  return { ...d, inject: d.inject ? `${text}\n${d.inject}` : text, ...(d.deny ? { deny: `${d.deny} (${text})` } : {}) };
}

/** Working folders of the sessions the server hosts (their hooks may be resolved there). */
function* hostedFolders(server: HuddleServer): Iterable<string> {
  for (const s of server.hosted.all()) {
    const cwd = s.presence.published.cwd;
    if (cwd) yield cwd;
  }
}
