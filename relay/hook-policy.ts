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
 *
 * The write check and its view cache are in hook-write-check.ts, what is
 * delivered between prompts in hook-delivery.ts, lost-lock rendering in lost-locks.ts.
 */
import os from 'node:os';
import type { ResolvedConfig } from '../src/node/config.js';
import { HookConfigError, HookConfigs } from './hook-config.js';
import { KnownRepos, knownReposFile } from '../src/node/known-repos.js';
import { blockingLock, type PresenceView } from '../src/model/view.js';
import { deltaText, sessionSummary, shortId } from '../src/model/inject.js';
import { suggestionLines } from '../src/model/suggest.js';
import type { HookDecision, HookEvent } from '../src/agents/event.js';
import { SessionMemory, type SessionNotes } from './session-memory.js';
import { collect, deliverAfterTool, interfaceKey, keepGoing, lockKey, sessionMe } from './hook-delivery.js';
import { checkWrites, PresenceViews, writeTargets } from './hook-write-check.js';
import { lostChanges, withLostLocks } from './lost-locks.js';
import type { ServerServices as HuddleServer } from './http.js';
import type { Room } from './room.js';
import type { HostedSession } from './hosted.js';

export { withLostLocks } from './lost-locks.js';

/** PreToolUse renews the published sign of life at most this often (the server notes every call). */
const TOUCH_PUBLISH_MS = 5000;
/** The same tool call checked again this soon (through a second hook file) gets the same answer. */
const SAME_CALL_MS = 2000;

export class HookError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class HookPolicy {
  readonly memory = new SessionMemory();
  private readonly configs: HookConfigs;
  /** Repositories wired with `huddle init` by the user running the server. */
  private readonly knownRepos = new KnownRepos(knownReposFile());
  private readonly views = new PresenceViews();

  constructor(private readonly server: HuddleServer) {
    this.configs = new HookConfigs({
      roots: () => server.config.hookRoots,
      hostedFolders: () => hostedFolders(server),
      knownRepos: () => this.knownRepos.current(),
    });
  }

  /** Everyone's presence in a room, computed once per change (a hook call is then a lookup). */
  view(room: Room): PresenceView {
    return this.views.view(room);
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
        return keepGoing(session, this.memory.ensure(room.name, session.id));
      default:
        return {};
    }
  }

  private summary(room: Room, session: HostedSession, cfg: ResolvedConfig, mem: SessionNotes): string {
    const me = sessionMe(session);
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
    const out = sessionSummary({ project: room.name, me, sessions: view.sessions, locks: view.locks, inbox, decisions: ctx.decisions({ includeSuperseded: false }), tasks: ctx.tasks({ status: 'open' }), notes, suggestions: suggestionLines(ctx, view, me), lostLocks: lostChanges(session.notices.takeNotices('hook')) });
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
      return { inject: this.summary(room, session, cfg, mem) };
    }
    const d = collect(session, mem);
    const text = deltaText({ messages: d.messages, decisions: d.decisions, lockChanges: d.lockChanges, interfaces: d.interfaces, editing: d.editing });
    if (!text) {
      d.commit([]);
      return {};
    }
    d.commit(d.messages.filter((m) => text.includes(`id ${shortId(m.id)})`)));
    return { inject: text };
  }

  private async preTool(room: Room, session: HostedSession, cfg: ResolvedConfig, ev: HookEvent): Promise<HookDecision> {
    if (cfg.enforce === 'off') return {};
    const mem = this.memory.ensure(room.name, session.id);
    // The same call checked again through another hook file (Cursor running its own and the Claude Code hooks): same answer, counted once.
    const callKey = ev.toolUseId ? `${ev.toolUseId}\u0000${ev.shell ?? ''}\u0000${ev.writes.map((w) => w.path).join('\u0000')}` : undefined;
    const now = Date.now();
    const seen = callKey ? mem.calls.get(callKey) : undefined;
    if (seen && seen.channel !== ev.channel && now - seen.at < SAME_CALL_MS && now >= seen.at) return seen.decision;
    const d = await checkWrites(this.views, room, session, cfg, ev, mem);
    if (callKey) {
      mem.calls.set(callKey, { at: now, channel: ev.channel, decision: d });
      SessionMemory.trim(mem);
    }
    return d;
  }

  private postTool(room: Room, session: HostedSession, cfg: ResolvedConfig, ev: HookEvent): HookDecision {
    const mem = this.memory.ensure(room.name, session.id);
    const quiet = ev.quiet === true;
    for (const t of writeTargets(cfg, ev, true).slice(0, 20)) {
      if (t.path === '**') continue;
      session.presence.editing(t.path, t.lines && t.lines.length ? t.lines : undefined);
      if (!mem.touched.has(t.path)) mem.touched.set(t.path, lockKey(blockingLock(session.presence.view(), session.id, t.path)));
    }
    SessionMemory.trim(mem);
    // An event whose answer the agent never shows (Cursor afterFileEdit) records only; nothing is used up on it.
    const inject = quiet ? undefined : deliverAfterTool(session, mem);
    return inject ? { inject } : {};
  }
}

/** Working folders of the sessions the server hosts (their hooks may be resolved there). */
function* hostedFolders(server: HuddleServer): Iterable<string> {
  for (const s of server.hosted.all()) {
    const cwd = s.presence.published.cwd;
    if (cwd) yield cwd;
  }
}
