/** `huddle peek` (the live state at a glance) and `huddle sessions`. */
import type { Command } from 'commander';
import { contextOf, readState } from '../common.js';
import { ago, c, clip, clock, heading, json, out, short, statusColor, table } from '../format.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import type { SessionView, LockView } from '../../src/model/view.js';

export function sourceLine(s: Snapshot, url: string): string {
  const where = `${c.bold(s.project)} ${c.dim('at')} ${url}`;
  if (s.source === 'offline') {
    const seen = s.presenceAsOf
      ? c.yellow(`- sessions and locks as last seen ${clock(s.presenceAsOf)} (${ago(s.presenceAsOf, s.at)})`)
      : c.dim('- presence and locks unknown');
    return `${where}  ${c.red(`OFFLINE, as of ${clock(s.asOf ?? s.at)} (${ago(s.asOf ?? s.at, s.at)})`)} ${seen}\n`;
  }
  const up = s.upstream;
  const away = up ? (up.reason === 'unreachable' && up.downSince ? `unreachable since ${clock(up.downSince)} (${ago(up.downSince, s.at)})` : up.reason ?? `${up.status} since ${clock(up.since)} (${ago(up.since, s.at)})`) : '';
  const link = !up ? '' : up.status === 'connected' && up.authoritative
    ? `  ${c.dim(`team relay ${up.url}: connected since ${clock(up.since)}`)}`
    : `  ${c.yellow(`team relay ${up.url}: ${away}; writes stay on this machine and locks unconfirmed until it is back`)}`;
  return `${where}  ${c.green('live')}${link}\n`;
}

export function sessionRows(sessions: SessionView[], now: number, me?: string): string[][] {
  return sessions.map((s) => [
    (s.id === me ? c.cyan('*') : ' ') + ' ' + c.bold(s.name),
    s.role,
    s.agent,
    statusColor(s.status),
    ago(s.lastActive, now),
    [s.task ? `task: ${clip(s.task, 32)}` : '', s.intent ? `doing: ${clip(s.intent, 40)}` : ''].filter(Boolean).join('; ') || c.dim('-'),
    s.locks.length ? s.locks.join(', ') : c.dim('-'),
  ]);
}

export const SESSION_HEADER = ['  NAME', 'ROLE', 'AGENT', 'STATUS', 'SEEN', 'DOING', 'LOCKS'];
export const LOCK_HEADER = ['PATH', 'MODE', 'STATE', 'HOLDER', 'SINCE', 'EXPIRES', 'REASON'];

export function lockRows(locks: LockView[], now: number): string[][] {
  return locks.map((l) => [
    l.path,
    l.mode,
    statusColor(l.state) + (l.blockedBy ? c.dim(` behind ${l.blockedBy}`) : ''),
    `${l.sessionName} (${l.role})`,
    ago(l.claimedAt, now),
    ago(l.expiresAt, now),
    l.reason ? `"${clip(l.reason, 40)}"` : c.dim('-'),
  ]);
}

function render(s: Snapshot, url: string, me: string): string {
  const now = s.at;
  let o = sourceLine(s, url);
  o += '\n' + heading('Sessions', s.sessions.length);
  o += s.sessions.length ? table(sessionRows(s.sessions, now, me), '  ', SESSION_HEADER) : c.dim('  nobody here\n');
  if (s.watchers) o += c.dim(`  + ${s.watchers} watching\n`);
  if (s.locks.length) o += '\n' + heading('Locks', s.locks.length) + table(lockRows(s.locks, now), '  ', LOCK_HEADER);
  if (s.conflicts.length) {
    o += '\n' + heading('Edited by several sessions', s.conflicts.length);
    // "overlap" only where line ranges intersect; otherwise the sessions merely edit the same file.
    o += table(s.conflicts.map((x) => [x.path, x.conflict ? c.red('CONFLICT') : c.yellow('same file'), x.sessions.map((e) => e.name).join(', ')]), '  ', ['PATH', 'KIND', 'SESSIONS']);
  }
  const t = s.tasks;
  const nTasks = t.open.length + t.claimed.length + t.blocked.length;
  o += '\n' + heading('Tasks') + `  ${t.open.length} open · ${t.claimed.length} claimed · ${t.blocked.length} blocked · ${t.doneRecently.length} done today\n`;
  if (nTasks) {
    const rows = [...t.claimed, ...t.blocked, ...t.open].slice(0, 10).map((x) => [
      short(x.id),
      statusColor(x.status),
      x.role ? x.role : c.dim('-'),
      clip(x.title, 50),
      x.assignee ? x.assignee.name : x.status === 'blocked' ? clip(x.blockedReason, 30) : '',
    ]);
    o += table(rows, '  ', ['ID', 'STATUS', 'ROLE', 'TITLE', 'ASSIGNEE / WHY']);
    if (nTasks > 10) o += c.dim(`  … ${nTasks - 10} more (huddle task list)\n`);
  }
  if (s.decisions.length) {
    // Oldest first, as in `huddle decisions`: the latest is the last line.
    o += '\n' + heading('Latest decisions', s.decisions.length);
    o += table(s.decisions.slice(-5).map((d) => [short(d.id), ago(d.at, now), d.byName, clip(d.text, 60) + (d.rationale ? c.dim(` - ${clip(d.rationale, 40)}`) : '')]), '  ', ['ID', 'WHEN', 'BY', 'DECISION']);
  }
  if (s.interfaces.length) {
    o += '\n' + heading('Interfaces', s.interfaces.length);
    o += table(s.interfaces.map((i) => [i.name, i.file, statusColor(i.status), i.ownerName, clip(i.description, 40)]), '  ', ['NAME', 'FILE', 'STATUS', 'OWNER', 'DESCRIPTION']);
  }
  if (s.requests.length) {
    o += '\n' + heading('Open requests', s.requests.length);
    o += table(s.requests.slice(-5).map((m) => [short(m.id), `${m.byName} -> ${m.to}`, ago(m.at, now), clip(m.text, 60)]), '  ', ['ID', 'FROM -> TO', 'WHEN', 'TEXT']);
  }
  if (s.inbox) {
    o += '\n' + heading('Inbox', s.inbox.length);
    o += s.inbox.length
      ? table(s.inbox.slice(-5).map((m) => [short(m.id), m.kind + (s.requests.some((r) => r.id === m.id) ? c.yellow(' (needs reply)') : ''), m.byName, ago(m.at, now), clip(m.text, 60)]), '  ', ['ID', 'KIND', 'FROM', 'WHEN', 'TEXT']) + c.dim('  (huddle inbox to read and mark them read)\n')
      : c.dim('  nothing unread\n');
  }
  return o;
}

export function registerPeek(program: Command): void {
  program
    .command('peek')
    .description('The live state at a glance: sessions, locks, tasks, decisions, interfaces, your unread messages.')
    .option('--json', 'print the state as one JSON object (stable, for scripts)')
    .addHelpText('after', `
Examples:
  $ huddle peek
  $ huddle peek --json | jq '.sessions[].name'
  $ huddle peek --session backend-1     # with backend-1's inbox

Without a server, the last stored state (the local replica) is shown, marked "offline, as of TIME", with the
sessions and locks last seen live, marked as of when they were seen.`)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const s = await readState(ctx);
      if (opts.json) json(s);
      else out(render(s, ctx.cfg.url, ctx.cfg.session.id));
    });

  program
    .command('sessions')
    .description('Who is here: every session with its role, agent (claude-code, codex, gemini, cursor, opencode, script), status, task and last sign of life.')
    .option('--json', 'print the sessions as a JSON array')
    .addHelpText('after', `
Examples:
  $ huddle sessions
  $ huddle sessions --json | jq -r '.[] | select(.status=="active") | .name'
  $ huddle sessions --json | jq -r '.[] | select(.agent=="codex") | .name'`)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const s = await readState(ctx);
      if (opts.json) return json(s.sessions);
      let o = s.source === 'offline' ? sourceLine(s, ctx.cfg.url) : '';
      o += s.sessions.length ? table(sessionRows(s.sessions, s.at, ctx.cfg.session.id), '', SESSION_HEADER) : 'nobody here\n';
      out(o);
    });
}
