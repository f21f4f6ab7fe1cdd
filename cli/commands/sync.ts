/** `huddle sync create|done|drop|list|show|wait`: sync points where parallel work meets. */
import type { Command } from 'commander';
import { contextOf, parseDuration, readOp, repoPath, storedNote, writeOp } from '../common.js';
import { ExitError, usageError } from '../errors.js';
import { ago, c, clip, json, out, short, table } from '../format.js';
import type { SyncView } from '../../src/model/syncs.js';

/** "a,b" and repeated flags as one list. */
const commaList = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)];

const STATE_COLOR: Record<string, (s: string) => string> = { done: c.green, dropped: c.dim, waiting: c.yellow, missing: c.red, unknown: c.dim };

function syncText(s: SyncView): string {
  const head = `${c.bold(s.name)} ${s.status === 'complete' ? c.green('complete') : c.yellow('open')}  ${s.counts.done} of ${s.participants.length} arrived${s.counts.missing ? c.red(`, ${s.counts.missing} missing`) : ''}${s.followUp ? `  follow-up ${short(s.followUp)}` : ''}  ${c.dim(`by ${s.byName}, ${ago(s.createdAt)}`)}`;
  const rows = s.participants.map((p) => [
    (STATE_COLOR[p.state] ?? ((x: string) => x))(p.state),
    `${p.name}${p.kind === 'task' ? c.dim(` (task ${short(p.id)})`) : ''}`,
    p.summary ? clip(p.summary, 70) : p.reason ? c.dim(clip(p.reason, 70)) : '',
    p.files?.length ? c.dim(clip(p.files.join(', '), 50)) : '',
  ]);
  return `${head}\n${table(rows, '  ', ['STATE', 'PARTICIPANT', 'SUMMARY', 'FILES'])}`;
}

export function registerSync(program: Command): void {
  const sync = program
    .command('sync')
    .description('Sync points: parallel work that must meet. When every participant has arrived, a follow-up task opens with every summary.')
    .addHelpText('after', `
Examples:
  $ huddle sync create auth-payments --sessions alice,bob --then "integrate auth and payments" --for backend
  $ huddle sync done auth-payments --summary "login endpoints done" --files src/auth/api.ts,src/auth/jwt.ts
  $ huddle sync show auth-payments
  $ huddle sync drop auth-payments bob --reason "bob's session died; carol takes over"

A participant whose session is not here (presence) and has not arrived is shown as missing: it
is never counted as done, and the sync point waits until it comes back and arrives, or is dropped.`)
    .action(() => sync.help()); // bare `huddle sync` lists its subcommands and exits 0, like task and note

  sync
    .command('create')
    .description('Create a sync point with its participants: sessions, tasks, or every live session of a role.')
    .argument('<name>', 'letters, digits and . _ - @ : +')
    .option('--sessions <list>', 'session names or ids, comma-separated (repeatable)', commaList)
    .option('--tasks <list>', 'task ids: each arrives when done (repeatable)', commaList)
    .option('--of-role <role>', 'every live session of this role (the global --role is the acting session\'s own)')
    .option('--then <title>', 'title of the follow-up task (default "integrate NAME")')
    .option('--for <role>', 'role of the follow-up task')
    .option('--notify <to>', 'also tell this session, role:NAME or all on completion')
    .option('--json', 'print the sync point as JSON')
    .addHelpText('after', `\nExamples:\n  $ huddle sync create api-v2 --sessions alice,bob,carol\n  $ huddle sync create release --tasks t-3f2a,t-9c1e --then "cut the release" --notify role:lead\n  $ huddle sync create frontend-done --of-role frontend`)
    .action(async (name: string, o: { sessions?: string[]; tasks?: string[]; ofRole?: string; then?: string; for?: string; notify?: string; json?: boolean }, cmd: Command) => {
      if (!o.sessions?.length && !o.tasks?.length && !o.ofRole) throw usageError('name the participants: --sessions, --tasks or --of-role');
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'sync.create', { name, sessions: o.sessions, tasks: o.tasks, ofRole: o.ofRole, then: o.then, role: o.for, notify: o.notify });
      if (o.json) return json(result);
      out(`sync point ${result.name} created with ${result.participants.map((p) => p.name).join(', ')}; ${storedNote(local)}`);
    });

  sync
    .command('done')
    .description('Arrive at a sync point: this session is done with its part.')
    .argument('<name>')
    .requiredOption('--summary <text>', 'what this session did (goes into the follow-up task)')
    .option('--files <list>', 'files it touched, comma-separated (repeatable)', commaList)
    .option('--json', 'print the sync point as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle sync done api-v2 --summary "users endpoints return 201" --files src/api/users.ts`)
    .action(async (name: string, o: { summary: string; files?: string[]; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const files = o.files?.map((f) => repoPath(ctx.cfg, f));
      const { result, local } = await writeOp(ctx, 'sync.done', { name, summary: o.summary, files });
      if (o.json) return json(result);
      const rest = result.status === 'complete' ? `complete: follow-up task ${short(result.followUp)} opened` : `${result.counts.done} of ${result.participants.length} arrived${result.counts.missing ? `, ${result.counts.missing} missing` : ''}`;
      out(`arrived at ${result.name} (${rest}); ${storedNote(local)}`);
    });

  sync
    .command('drop')
    .description('Stop waiting for a participant (e.g. a session that died); it shows as dropped, not done.')
    .argument('<name>')
    .argument('<participant>', 'session name or id, or task id')
    .option('--reason <text>', 'why')
    .option('--json', 'print the sync point as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle sync drop api-v2 carol --reason "session crashed; its work is in t-3f2a"`)
    .action(async (name: string, who: string, o: { reason?: string; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'sync.drop', { name, participant: who, reason: o.reason });
      if (o.json) return json(result);
      out(`${who} dropped from ${result.name}${result.status === 'complete' ? `; complete: follow-up task ${short(result.followUp)} opened` : ''}; ${storedNote(local)}`);
    });

  sync
    .command('list')
    .description('Open sync points (and those completed in the last day).')
    .option('--all', 'every sync point kept')
    .option('--json', 'print them as JSON')
    .addHelpText('after', `\nExamples:\n  $ huddle sync list\n  $ huddle sync list --json | jq '.syncs[] | select(.counts.missing > 0) | .name'`)
    .action(async (o: { all?: boolean; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result } = await readOp(ctx, 'sync.list', { all: o.all === true });
      if (o.json) return json(result);
      out(result.syncs.length ? result.syncs.map(syncText).join('\n') : 'no sync points');
    });

  sync
    .command('show')
    .description('One sync point: each participant arrived, waiting, missing (not here) or dropped.')
    .argument('<name>')
    .option('--json', 'print it as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle sync show api-v2 --json`)
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result } = await readOp(ctx, 'sync.show', { name });
      if (o.json) return json(result);
      out(syncText(result));
    });

  sync
    .command('wait')
    .description('Wait until a sync point is complete; prints the follow-up task. Exit 1 on timeout.')
    .argument('<name>')
    .option('--timeout <duration>', 'give up after this long', '30m')
    .option('--json', 'print the sync point as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle sync wait api-v2 --timeout 2h && huddle task claim "$(huddle sync show api-v2 --json | jq -r .followUp)"`)
    .action(async (name: string, o: { timeout: string; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const until = Date.now() + parseDuration(o.timeout, '--timeout');
      for (;;) {
        const { result } = await readOp(ctx, 'sync.show', { name });
        if (result.status === 'complete') {
          if (o.json) return json(result);
          return out(`${result.name} complete: follow-up task ${short(result.followUp)}`);
        }
        if (Date.now() >= until) throw new ExitError(1, `${name} not complete after ${o.timeout}: ${result.counts.done} of ${result.participants.length} arrived, ${result.counts.missing} missing`);
        await new Promise((r) => setTimeout(r, Math.min(2000, Math.max(50, until - Date.now()))));
      }
    });
}
