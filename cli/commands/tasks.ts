/** `huddle task add|claim|done|block|reopen|note|list` and `huddle handoff`. */
import type { Command } from 'commander';
import { collect, contextOf, readOp, storedNote, writeOp, type Ctx } from '../common.js';
import { usageError } from '../errors.js';
import { ago, c, clip, clock, json, out, short, statusColor, table } from '../format.js';
import type { Task } from '../../src/model/context.js';
import { TASK_STATUSES, type TaskStatus } from '../../src/model/enums.js';
import { matchesRef } from '../../src/model/ids.js';

const STATUSES: readonly string[] = TASK_STATUSES;

/** A task as a row; `done` holds the ids of finished tasks, which no longer block anything. */
function taskLine(t: Task, done: Set<string>): string[] {
  const pending = t.deps.filter((d) => !done.has(d));
  const handed = t.handoff && t.status === 'open' && !t.assignee ? `handed to ${t.handoff.to} by ${t.handoff.fromName}` : '';
  return [
    short(t.id),
    statusColor(t.status),
    t.role ? t.role : c.dim('-'),
    t.title,
    t.assignee ? t.assignee.name : handed ? c.cyan(handed) : c.dim('-'),
    t.status === 'blocked' && t.blockedReason ? c.red(clip(t.blockedReason, 40)) : pending.length ? c.dim(`after ${pending.map(short).join(', ')}`) : c.dim('-'),
    c.dim(ago(t.updatedAt)),
  ];
}

/** Who else holds task `id`'s claim, read before a change that clears it (claim --take, reopen). */
async function holderOf(ctx: Ctx, id: string, me: string): Promise<{ id: string; name: string } | null> {
  const { result } = await readOp(ctx, 'task.list', { status: 'claimed' }).catch(() => ({ result: [] as Task[] }));
  const matches = result.filter((t) => t.id === id || matchesRef(t.id, id));
  const t = matches.length === 1 ? matches[0] : null;
  return t?.assignee && t.assignee.id !== me ? t.assignee : null;
}

const TASK_HEADER = ['ID', 'STATUS', 'ROLE', 'TITLE', 'ASSIGNEE', 'WAITS FOR', 'UPDATED'];

export function registerTasks(program: Command): void {
  const task = program
    .command('task')
    .description('Tasks by role, with claims and dependencies: add, claim, done, block, reopen, note, list.')
    .addHelpText('after', `
Examples:
  $ huddle task add "Login form" --for frontend --dep t-3f2a
  $ huddle task claim t-9c1e
  $ huddle task done t-9c1e --note "merged in #42"
  $ huddle task list --for frontend --json`)
    .action(() => task.help()); // bare `huddle task` lists its subcommands and exits 0

  const simple = (name: string, desc: string, op: 'task.claim' | 'task.done' | 'task.block' | 'task.reopen', extra: (c: Command) => Command, args: (o: Record<string, string | undefined>) => Record<string, unknown>, verb: string, example: string) =>
    extra(task.command(name).description(desc).argument('<id>', 'task id or a unique prefix').option('--json', 'print the task as JSON'))
      .addHelpText('after', `\nExample:\n  $ ${example}`)
      .action(async (id: string, opts: Record<string, string | undefined> & { json?: boolean }, cmd: Command) => {
        const ctx = contextOf(cmd);
        const me = ctx.cfg.session.id;
        // Another session's claim: the server tells it (src/model/context.ts); say so here too.
        const other = op !== 'task.claim' || opts.take ? await holderOf(ctx, id, me) : null;
        const { result, local } = await writeOp(ctx, op, { id, ...args(opts) });
        if (other) process.stderr.write(`huddle: note: ${short(result.id)} was claimed by ${other.name}; they were told\n`);
        if (opts.json) return json(result);
        const how = op === 'task.claim' ? `, taken over from ${other?.name} (told)` : `, claimed by ${other?.name} (told)`;
        out(`task ${short(result.id)} ${verb} (${result.title})${other ? how : ''}; ${storedNote(local)}`);
      });

  task
    .command('add')
    .description('Add a task.')
    .argument('<title>')
    .option('--detail <text>', 'more about it')
    .option('--for <role>', 'the role that should do it')
    .option('--dep <id>', 'a task that must be done first (repeatable)', collect)
    .option('--json', 'print the task as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle task add "Write the users migration" --for backend`)
    .action(async (title: string, opts: { detail?: string; for?: string; dep?: string[]; json?: boolean }, cmd: Command) => {
      if (!title.trim()) throw usageError('a task needs a title');
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'task.add', { title, detail: opts.detail, role: opts.for, deps: opts.dep });
      if (opts.json) return json(result);
      out(`task ${short(result.id)} added; ${storedNote(local)}`);
    });

  simple('claim', 'Claim a task (it becomes your current task). A task another session has claimed needs --take; that session is told.', 'task.claim', (x) => x.option('--take', 'take over a task another session has claimed (it gets a message)'), (o) => ({ take: o.take ? true : undefined }), 'claimed', 'huddle task claim t-9c1e');
  simple('done', 'Mark a task done.', 'task.done', (x) => x.option('--note <text>', 'what was done'), (o) => ({ note: o.note }), 'done', 'huddle task done t-9c1e --note "merged"');
  simple('block', 'Mark a task blocked, with the reason.', 'task.block', (x) => x.requiredOption('--reason <text>', 'what it waits for'), (o) => ({ reason: o.reason }), 'blocked', 'huddle task block t-9c1e --reason "needs the UserApi"');
  simple('reopen', 'Open a task again.', 'task.reopen', (x) => x, () => ({}), 'reopened', 'huddle task reopen t-9c1e');

  task
    .command('note')
    .description('Add a progress note to a task.')
    .argument('<id>', 'task id or a unique prefix')
    .argument('<text>')
    .option('--json', 'print the task as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle task note t-9c1e "half of the endpoints done"`)
    .action(async (id: string, text: string, opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'task.note', { id, note: text });
      if (opts.json) return json(result);
      out(`task ${short(result.id)} noted; ${storedNote(local)}`);
    });

  task
    .command('list')
    .description('Tasks not done yet (or filtered).')
    .option('--status <status>', `only ${STATUSES.join(', ')}`)
    .option('--for <role>', 'only tasks for this role')
    .option('--mine', 'only tasks assigned to you')
    .option('--all', 'include done tasks')
    .option('--json', 'print them as a JSON array')
    .addHelpText('after', `\nExamples:\n  $ huddle task list\n  $ huddle task list --status blocked --json`)
    .action(async (opts: { status?: string; for?: string; mine?: boolean; all?: boolean; json?: boolean }, cmd: Command) => {
      if (opts.status && !STATUSES.includes(opts.status)) throw usageError(`--status must be one of ${STATUSES.join(', ')}`);
      const ctx = contextOf(cmd);
      const { result, offline } = await readOp(ctx, 'task.list', { status: opts.status as TaskStatus | undefined, role: opts.for, assignee: opts.mine ? ctx.cfg.session.id : undefined });
      const list = opts.all || opts.status ? result : result.filter((t) => t.status !== 'done');
      if (opts.json) return json(list);
      const head = offline ? c.red(`OFFLINE, as of ${clock(offline)} (${ago(offline)})\n`) : '';
      // Which dependencies are done: the listed tasks, plus a look at the done ones when they were filtered out.
      const doneTasks = opts.status || opts.for || opts.mine ? (await readOp(ctx, 'task.list', { status: 'done' })).result : result.filter((t) => t.status === 'done');
      const done = new Set(doneTasks.map((t) => t.id));
      out(head + (list.length ? table(list.map((t) => taskLine(t, done)), '', TASK_HEADER) : 'no tasks'));
    });

  program
    .command('handoff')
    .description('Hand a task over to a session or role, with a summary of where it stands.')
    .argument('<task>', 'task id or a unique prefix')
    .argument('<to>', 'a session id or role:NAME')
    .requiredOption('--summary <text>', 'where it stands and what is next')
    .option('--file <path>', 'a file the next one should look at (repeatable)', collect)
    .option('--json', 'print the task and the message as JSON')
    .addHelpText('after', `
Example:
  $ huddle handoff t-9c1e role:tests --summary "endpoints done; needs integration tests" --file src/api/users.ts`)
    .action(async (id: string, to: string, opts: { summary: string; file?: string[]; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'handoff', { id, to, summary: opts.summary, files: opts.file });
      if (opts.json) return json(result);
      out(`task ${short(result.task.id)} handed to ${to}; ${storedNote(local)}`);
    });
}
