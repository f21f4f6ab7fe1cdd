/**
 * `huddle mcp`: a stdio MCP server giving an agent a small set of huddle
 * tools (status, lock, unlock, decide, declare, send, inbox, task). It talks
 * to the local huddle server through the HTTP API as its session, and keeps
 * that session alive while it runs.
 */
import type { Command } from 'commander';
import os from 'node:os';
import { HOOK_PATH } from '../../src/protocol/constants.js';

export interface McpFlags {
  url?: string;
  project?: string;
  token?: string;
  session?: string;
  role?: string;
}

/** Sign-of-life interval while the MCP server runs. */
const TOUCH_MS = 60_000;

export async function runMcp(flags: McpFlags): Promise<void> {
  const [{ McpServer }, { StdioServerTransport }, { z }, { OPS }, { resolveConfig }, { ApiClient, ApiFailure, UnreachableError }, inject] = await Promise.all([
    import('@modelcontextprotocol/sdk/server/mcp.js'),
    import('@modelcontextprotocol/sdk/server/stdio.js'),
    import('zod'),
    import('../../src/ops/table.js'),
    import('../config.js'),
    import('../client.js'),
    import('../../src/model/inject.js'),
  ]);
  const cfg = resolveConfig(flags);
  const env = process.env;
  if (!flags.session && !env.HUDDLE_SESSION && !env.CLAUDE_CODE_SESSION_ID) {
    // No session id from Claude Code: one per MCP server process (its parent is the agent).
    const id = `mcp-${process.ppid}@${os.hostname()}`;
    cfg.session = { ...cfg.session, id, agent: env.HUDDLE_AGENT ?? 'claude-code', name: env.HUDDLE_NAME ?? cfg.file.name ?? `${cfg.session.role === 'human' ? 'agent' : cfg.session.role}-mcp-${process.ppid}`, role: cfg.session.role === 'human' ? 'agent' : cfg.session.role };
  }
  const api = new ApiClient(cfg);
  // Claude Code does not tell MCP servers its session id; its command hooks report their process
  // ancestors to the server, and ours share the Claude Code process: ask which session that is.
  let linked = Boolean(flags.session || env.HUDDLE_SESSION || env.CLAUDE_CODE_SESSION_ID);
  const provisional = cfg.session.id;
  const { ancestors } = await import('../../src/node/proc.js');
  const family = ancestors(process.ppid);
  // At start-up only our parent counts (the Claude Code process, when it started us directly);
  // from the first tool call on (its SessionStart hook has run by then) the grandparent too, for
  // wrappers such as npx. Processes further up (a terminal shell) may be shared by sessions.
  const link = async (depth: number): Promise<void> => {
    if (linked) return;
    const hit = await api.getJson<{ session_id: string }>(`${HOOK_PATH}/session?pids=${family.slice(0, depth).join(',')}`).catch(() => null);
    if (!hit) return;
    linked = true;
    cfg.session = { ...cfg.session, id: hit.session_id, name: undefined, role: cfg.sources.role === 'default' ? undefined : cfg.session.role };
    // The provisional session leaves unless it holds locks (those stay until it is removed).
    const held = await api.state(false).then((s) => s.locks.some((l) => l.session === provisional)).catch(() => true);
    if (!held) await new ApiClient({ ...cfg, session: { ...cfg.session, id: provisional } }).op('end', {}, { timeoutMs: 2000 }).catch(() => {});
  };
  await link(1);
  // After /clear, Claude Code starts a new session id but keeps this process (and its stale
  // CLAUDE_CODE_SESSION_ID): the new SessionStart hook reports our shared parent, so follow it
  // instead of reviving the old session. Only an explicit --session / HUDDLE_SESSION pins the id.
  const pinned = Boolean(flags.session || env.HUDDLE_SESSION);
  const follow = async (): Promise<void> => {
    if (pinned || !linked) return;
    const hit = await api.getJson<{ session_id: string }>(`/hooks/session?pids=${family.slice(0, 2).join(',')}`).catch(() => null);
    if (hit && hit.session_id !== cfg.session.id) cfg.session = { ...cfg.session, id: hit.session_id, name: undefined, role: cfg.sources.role === 'default' ? undefined : cfg.session.role };
  };
  const me = () => ({ id: cfg.session.id, name: cfg.session.name ?? cfg.session.id, role: cfg.session.role ?? 'agent' });

  type Result = { content: Array<{ type: 'text'; text: string }>; isError?: boolean };
  const ok = (text: string): Result => ({ content: [{ type: 'text', text }] });
  const run = async (fn: () => Promise<string>): Promise<Result> => {
    try {
      await link(2);
      await follow();
      return ok(await fn());
    } catch (err) {
      const e = err as Error;
      const text = e instanceof UnreachableError ? e.message : e instanceof ApiFailure ? `huddle: ${e.message}` : `huddle: ${e.message}`;
      return { content: [{ type: 'text', text }], isError: true };
    }
  };
  const sid = (id: string) => inject.shortId(id);
  // Tool arguments are the operations' own fields (src/ops/table.ts); only MCP-specific ones are declared here.
  const field = <N extends keyof typeof OPS>(name: N) => OPS[name].input.shape as (typeof OPS)[N]['input']['shape'];

  const server = new McpServer({ name: 'huddle', version: '0.1.0' }, { instructions: 'huddle: shared live context of the agents working on this project (who is here, locks, decisions, tasks, messages).' });

  server.registerTool('status', {
    description: 'Who else is working on this project, the locks they hold, unread messages, latest decisions and open tasks for this role.',
    inputSchema: {},
  }, () => run(async () => {
    const snap = await api.state(true);
    return inject.sessionSummary({ project: snap.project, me: me(), sessions: snap.sessions, locks: snap.locks, inbox: snap.inbox ?? [], decisions: snap.decisions, tasks: snap.tasks.open }).text;
  }));

  server.registerTool('next', {
    description: 'Where this session could help: open tasks for its role with dependencies done and nobody on them, folders nobody edits or holds, what the others are on (facts; the choice stays yours).',
    inputSchema: { role: field('next').role },
  }, (a) => run(async () => {
    const { localAreas } = await import('./next.js');
    const { suggestText } = await import('../../src/model/suggest.js');
    return suggestText(await api.op('next', { role: a.role, areas: localAreas(cfg.root) }), 4000);
  }));

  server.registerTool('lock', {
    description: 'Take an advisory lock on files or globs (repository-relative) so other sessions do not edit them; exclusive by default. Released by unlock or when this session ends.',
    inputSchema: {
      paths: field('lock').paths,
      mode: field('lock').mode,
      reason: field('lock').reason,
      wait_seconds: z.number().min(0).max(600).optional().describe('wait this long for a holder to release'),
    },
  }, (a) => run(async () => {
    const r = await api.op('lock', { paths: a.paths, mode: a.mode, reason: a.reason, waitMs: a.wait_seconds ? a.wait_seconds * 1000 : undefined });
    if (r.status === 'held' && r.holder) return `Not locked: ${r.holder.path} is held by ${r.holder.sessionName} (role ${r.holder.role}, since ${inject.since(r.holder.claimedAt)}${r.holder.reason ? `: ${r.holder.reason}` : ''}).`;
    return `Locked ${r.paths.join(', ')} (${a.mode ?? 'exclusive'}${r.status === 'unconfirmed' ? ', not yet confirmed by the relay' : ''}).`;
  }));

  server.registerTool('unlock', {
    description: 'Release this session\'s locks on the given paths, or all of them when no path is given.',
    inputSchema: { paths: field('unlock').paths },
  }, (a) => run(async () => {
    const r = await api.op('unlock', { paths: a.paths });
    return r.released.length ? `Released ${r.released.join(', ')}.` : 'No lock of this session matched.';
  }));

  server.registerTool('decide', {
    description: 'Record a decision (with its rationale) in the shared context so other agents do not re-decide it.',
    inputSchema: field('decide'),
  }, (a) => run(async () => {
    const d = await api.op('decide', a);
    return `Decision recorded (${sid(d.id)}).`;
  }));

  server.registerTool('declare', {
    description: 'Declare an interface other agents depend on (name, file, description, status draft|ready|changed).',
    inputSchema: field('declare'),
  }, (a) => run(async () => {
    const d = await api.op('declare', a);
    return `Interface ${d.name} declared (${d.status}).`;
  }));

  server.registerTool('send', {
    description: 'Send a message to a session (name or id), a role (role:NAME) or everyone (all).',
    inputSchema: {
      to: field('send').to,
      text: field('send').text,
      kind: field('send').kind,
      reply_to: field('send').replyTo,
    },
  }, (a) => run(async () => {
    const m = await api.op('send', { to: a.to, text: a.text, kind: a.kind, replyTo: a.reply_to });
    return `Sent to ${m.to} (${sid(m.id)}).`;
  }));

  server.registerTool('inbox', {
    description: 'Messages addressed to this session or its role that it has not read yet (all: include read ones).',
    inputSchema: { all: field('inbox').all },
  }, (a) => run(async () => {
    const msgs = await api.op('inbox', { all: a.all === true });
    if (msgs.length === 0) return 'No unread messages.';
    return msgs.slice(-20).map((m) => `- ${sid(m.id)} from ${m.byName}${m.to.startsWith('role:') || m.to === 'all' ? ` to ${m.to}` : ''} (${m.kind}${m.needsReply ? ', needs reply' : ''}): ${m.text}`).join('\n');
  }));

  server.registerTool('task', {
    description: 'Shared tasks: list, add (title, role), claim (id; take: true to take over one another session claimed, which tells it), done (id, note), or handoff (id, to, summary).',
    inputSchema: {
      action: z.enum(['list', 'add', 'claim', 'done', 'handoff']),
      id: field('task.claim').id.optional(),
      take: field('task.claim').take,
      title: field('task.add').title.optional(),
      detail: field('task.add').detail,
      role: field('task.add').role,
      note: field('task.done').note,
      to: field('handoff').to.optional().describe('handoff: a session or role:NAME'),
      summary: field('handoff').summary.optional(),
    },
  }, (a) => run(async () => {
    type T = { id: string; title: string; status: string; role?: string; assignee: { name: string } | null };
    const line = (t: T) => `${sid(t.id)} ${t.title} [${t.status}${t.role ? `, role ${t.role}` : ''}${t.assignee ? `, ${t.assignee.name}` : ''}]`;
    switch (a.action) {
      case 'list': {
        const ts = await api.op('task.list', { role: a.role });
        const live = ts.filter((t) => t.status !== 'done');
        return live.length ? live.slice(0, 30).map(line).join('\n') : 'No open tasks.';
      }
      case 'add':
        return `Added ${line(await api.op('task.add', { title: a.title, detail: a.detail, role: a.role }))}.`;
      case 'claim':
        return `Claimed ${line(await api.op('task.claim', { id: a.id, take: a.take }))}.`;
      case 'done':
        return `Done: ${line(await api.op('task.done', { id: a.id, note: a.note }))}.`;
      case 'handoff': {
        const r = await api.op('handoff', { id: a.id, to: a.to, summary: a.summary });
        return `Handed off ${line(r.task)} to ${a.to}.`;
      }
    }
  }));

  server.registerTool('sync', {
    description: 'Sync points where parallel work meets: create (name, sessions or tasks), done (name, summary, files), drop, list, show. Complete opens a follow-up task.',
    inputSchema: {
      action: z.enum(['create', 'done', 'drop', 'list', 'show']),
      name: field('sync.create').name.optional(),
      sessions: field('sync.create').sessions,
      tasks: field('sync.create').tasks,
      then: field('sync.create').then,
      summary: field('sync.done').summary.optional(),
      files: field('sync.done').files,
      participant: field('sync.drop').participant.optional().describe('drop: the participant not to wait for'),
    },
  }, (a) => run(async () => {
    type V = { name: string; status: string; followUp?: string; participants: Array<{ name: string; state: string; summary?: string }> };
    const show = (v: V) => `${v.name} (${v.status}${v.followUp ? `, follow-up ${sid(v.followUp)}` : ''}): ${v.participants.map((p) => `${p.name} ${p.state}`).join(', ')}`;
    switch (a.action) {
      case 'create':
        return `Created ${show(await api.op('sync.create', { name: a.name, sessions: a.sessions, tasks: a.tasks, then: a.then }))}.`;
      case 'done':
        return `Arrived: ${show(await api.op('sync.done', { name: a.name, summary: a.summary, files: a.files }))}.`;
      case 'drop':
        return `Dropped ${a.participant}: ${show(await api.op('sync.drop', { name: a.name, participant: a.participant }))}.`;
      case 'list': {
        const r = await api.op('sync.list', {});
        return r.syncs.length ? r.syncs.map(show).join('\n') : 'No sync points.';
      }
      case 'show':
        return show(await api.op('sync.show', { name: a.name }));
    }
  }));

  server.registerTool('report', {
    description: 'What each session did recently: joined/left, tasks claimed and done, files edited, locks held and waits on them, edits refused, messages.',
    inputSchema: { who: field('report').who, since_minutes: z.number().min(1).max(43200).optional().describe('how far back (default 1440)') },
  }, (a) => run(async () => {
    const { reportLines } = await import('../../src/model/report.js');
    const r = await api.op('report', { who: a.who, sinceMs: (a.since_minutes ?? 1440) * 60_000 });
    return r.sessions.length ? r.sessions.map((x) => reportLines(x, r.until).join('\n  ')).join('\n').slice(0, 4000) : 'No session activity in that window.';
  }));

  // Alive while running: one sign of life now and then.
  const touch = () => link(1).then(follow).then(() => api.op('touch', {}, { timeoutMs: 5000 })).catch(() => {});
  // An agent may start its MCP servers before its SessionStart hook runs (Gemini CLI 0.61 and Codex
  // do; on a loaded machine the hook can take seconds): keep asking for about 10 s before showing up
  // under the provisional id, or one agent session would count as two. Each later touch asks again.
  void (async () => {
    for (const ms of [200, 300, 500, 1000, 1500, 2500, 4000]) {
      if (linked) break;
      await new Promise((r) => setTimeout(r, ms));
      await link(1);
    }
    await touch();
  })();
  const timer = setInterval(touch, TOUCH_MS);
  timer.unref();

  const transport = new StdioServerTransport();
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    clearInterval(timer);
    // The session is the agent's, not this process's: an MCP server that exits or is restarted
    // mid-session must not end it (its locks would vanish while the agent keeps working). The
    // agent's SessionEnd hook ends it; without hooks, the server drops it after no sign of life.
    // Only a session of our own (never linked to an agent's) is ended here.
    if (!linked) await api.op('end', {}, { timeoutMs: 1000 }).catch(() => {});
    process.exit(0);
  };
  transport.onclose = () => void close();
  process.stdin.on('end', () => void close());
  process.on('SIGTERM', () => void close());
  process.on('SIGINT', () => void close());
  await server.connect(transport);
}

export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description('Run a stdio MCP server with huddle tools (status, next, lock, unlock, decide, declare, send, inbox, task, sync, report).')
    .addHelpText('after', `
Examples:
  $ huddle mcp                                      # as Claude Code starts it from .mcp.json
  $ huddle --session backend-1 --role backend mcp   # a fixed identity

Global options (--url, --project, --token, --session, --role) apply. Without --session,
HUDDLE_SESSION or CLAUDE_CODE_SESSION_ID, the server links this MCP server to the Claude Code
session whose command hooks share its parent process; until a hook has run, it acts as
mcp-<parent pid>@<host>.
Configure in .mcp.json (huddle init does it):
  { "mcpServers": { "huddle": { "command": "huddle", "args": ["mcp"] } } }`)
    .action(async (_opts: unknown, cmd: Command) => {
      await runMcp(cmd.optsWithGlobals() as McpFlags);
    });
}
