/** Versions of the shared context: `huddle history`, `snapshot`, `diff`, `rollback`, and the `timeline`. */
import type { Command } from 'commander';
import { contextOf, readOp, storedNote, writeOp } from '../common.js';
import { usageError } from '../errors.js';
import { ago, c, clip, clock, json, out, short, table } from '../format.js';
import type { TimelineEvent, Version, VersionDiff } from '../../src/model/context.js';

type VersionInfo = Omit<Version, 'content'>;

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('Saved versions of the shared context (decisions, interfaces, tasks, notes), oldest first.')
    .option('--json', 'print them as a JSON array')
    .addHelpText('after', `
Examples:
  $ huddle history
  $ huddle snapshot --name before-refactor && huddle history --json`)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result } = await readOp(ctx, 'history');
      if (opts.json) return json(result);
      if (!result.length) return out('no versions yet (huddle snapshot saves one)');
      out(table(result.map((v) => [short(v.id), v.name ?? '', clock(v.at), ago(v.at), v.byName, (v.auto ? c.dim('auto ') : '') + clip(v.summary, 60)]), ''));
    });

  program
    .command('snapshot')
    .description('Save the current shared context as a version (to diff or roll back to later).')
    .option('--name <name>', 'a name to refer to it by')
    .option('--summary <text>', 'what it is')
    .option('--json', 'print the version as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle snapshot --name before-refactor`)
    .action(async (opts: { name?: string; summary?: string; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'snapshot', { name: opts.name, summary: opts.summary });
      if (opts.json) return json(result);
      out(`version ${short(result.id)}${result.name ? ` (${result.name})` : ''} ${storedNote(local)}`);
    });

  program
    .command('diff')
    .description('What changed between two versions (V2 defaults to the current content).')
    .argument('<v1>', 'version id, prefix or name')
    .argument('[v2]', 'version id, prefix or name, or "current"', 'current')
    .option('--json', 'print the changes as JSON')
    .addHelpText('after', `\nExamples:\n  $ huddle diff before-refactor\n  $ huddle diff v-1a2b3c v-4d5e6f --json`)
    .action(async (from: string, to: string, opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { result } = await readOp(ctx, 'diff', { from, to });
      if (opts.json) return json(result);
      if (!result.changes.length) return out(`no changes from ${from} to ${to}`);
      const mark = { added: c.green('+'), removed: c.red('-'), changed: c.yellow('~') };
      out(table(result.changes.map((x) => [mark[x.change], x.section, x.key, x.change]), ''));
    });

  program
    .command('rollback')
    .description('Restore a version\'s content as a new change (the current content is saved first).')
    .argument('<version>', 'version id, prefix or name')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `\nExample:\n  $ huddle rollback before-refactor`)
    .action(async (version: string, opts: { json?: boolean }, cmd: Command) => {
      if (!version.trim()) throw usageError('which version?');
      const ctx = contextOf(cmd);
      const { result, local } = await writeOp(ctx, 'rollback', { version });
      if (opts.json) return json(result);
      out(`rolled back to ${short(result.version.id)}${result.version.name ? ` (${result.version.name})` : ''}: ${result.changes} changes; ${storedNote(local)}`);
    });

  program
    .command('timeline')
    .description('What happened recently in the shared context, oldest first.')
    .option('--limit <n>', 'how many events (default 30)', '30')
    .option('--json', 'print them as a JSON array')
    .addHelpText('after', `\nExample:\n  $ huddle timeline --limit 100`)
    .action(async (opts: { limit: string; json?: boolean }, cmd: Command) => {
      if (!/^\d+$/.test(opts.limit)) throw usageError('--limit must be a whole number');
      const ctx = contextOf(cmd);
      const { result } = await readOp(ctx, 'timeline', { limit: Number(opts.limit) });
      if (opts.json) return json(result);
      if (!result.length) return out('nothing yet');
      out(table(result.map((e) => [c.dim(clock(e.at)), e.type, e.actorName, clip(e.summary, 80)]), ''));
    });
}
