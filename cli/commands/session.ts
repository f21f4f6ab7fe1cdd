/** Acting as a session: `huddle update` (a sign of life with facts), `huddle editing`, `huddle leave`. */
import type { Command } from 'commander';
import { contextOf, readState, repoPath, storedNote, writeOp } from '../common.js';
import { patternsOverlap } from '../../src/model/paths.js';
import { usageError } from '../errors.js';
import { json, out } from '../format.js';

function parseLines(v: string): Array<[number, number]> {
  return v.split(',').map((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m || Number(m[1]) < 1) throw usageError(`--lines: "${part}" is not a line or a range like 10-20`);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    return [Math.min(a, b), Math.max(a, b)];
  });
}

export function registerSession(program: Command): void {
  program
    .command('update')
    .description('Join or refresh your session: a sign of life, with what you are working on.')
    .option('--task <text>', 'the task you are on')
    .option('--intent <text>', 'what you are about to do')
    .option('--name <name>', 'a display name')
    .option('--json', 'print your session as JSON')
    .addHelpText('after', `
Examples:
  $ huddle update --task "login form" --intent "wiring the submit button"
  $ HUDDLE_SESSION=backend-1 huddle --role backend update --task "users API"`)
    .action(async (opts: { task?: string; intent?: string; name?: string; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result } = await writeOp(ctx, 'update', { task: opts.task, intent: opts.intent, name: opts.name, role: ctx.api.cfg.session.role });
      if (opts.json) return json(result);
      out(`session ${ctx.cfg.session.id} (${String(result.role)}) is here${result.task ? `, on ${String(result.task)}` : ''}; ${storedNote(false)}`);
    });

  program
    .command('editing')
    .description('Say that you are editing a file (and which lines), so overlapping edits show in huddle conflicts.')
    .argument('<path>', 'the file, relative to the working directory')
    .option('--lines <ranges>', 'line ranges, e.g. 10-20,42')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle editing src/api/users.ts --lines 10-40`)
    .action(async (p: string, opts: { lines?: string; json?: boolean }, cmd: Command) => {
      const ranges = opts.lines ? parseLines(opts.lines) : undefined;
      const ctx = contextOf(cmd);
      const file = repoPath(ctx.cfg, p);
      const { result } = await writeOp(ctx, 'editing', { path: file, ranges });
      // Advisory locks are not enforced here: say when another session holds the file exclusively.
      const held = (await readState(ctx)).locks.filter((l) => l.mode === 'exclusive' && l.state === 'held' && l.session !== ctx.cfg.session.id && patternsOverlap(l.path, file));
      for (const l of held) process.stderr.write(`huddle: warning: ${l.path} is locked exclusively by ${l.sessionName}${l.reason ? ` ("${l.reason}")` : ''}; tell them (huddle send ${l.session} ...) before you edit it\n`);
      if (opts.json) return json(result);
      out(`editing ${file}; stored`);
    });

  program
    .command('leave')
    .description('End your session now: your presence and locks vanish for everyone.')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle leave --session backend-1`)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result } = await writeOp(ctx, 'end');
      if (opts.json) return json(result);
      out(result.ended ? `session ${ctx.cfg.session.id} ended` : `session ${ctx.cfg.session.id} was not here`);
    });
}
