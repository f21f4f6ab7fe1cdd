/** Versions of the shared context: `huddle history`, `snapshot`, `diff`, `rollback`, and the `timeline`. */
import type { Command } from 'commander';
import { contextOf, readOp, storedNote, writeOp } from '../common.js';
import { usageError } from '../errors.js';
import { ago, c, clip, clock, json, out, plural, short, shortIds, table } from '../format.js';
import type { VersionDiff } from '../../src/model/context.js';

/** The text a record shows a person: a decision's text, a task's title, a note's value... */
function label(v: unknown): string {
  if (!v || typeof v !== 'object') return v === undefined ? '' : String(v);
  const o = v as Record<string, unknown>;
  const s = o.text ?? o.title ?? o.value ?? o.file ?? o.name;
  return typeof s === 'string' ? s : '';
}

/** What a change did, in words: the record's text, and for a change the fields that differ (before -> after). */
export function changeText(x: VersionDiff['changes'][number]): string {
  if (x.change === 'added') return `added: ${clip(label(x.after), 60)}`;
  if (x.change === 'removed') return `removed: ${clip(label(x.before), 60)}`;
  const b = (x.before ?? {}) as Record<string, unknown>;
  const a = (x.after ?? {}) as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .filter((k) => k !== 'updatedAt' && k !== 'at' && JSON.stringify(b[k]) !== JSON.stringify(a[k]))
    .map((k) => {
      const show = (v: unknown) => (v === undefined || v === null ? '-' : typeof v === 'object' ? label(v) || JSON.stringify(v) : String(v));
      return `${k}: ${clip(show(b[k]), 30)} -> ${clip(show(a[k]), 30)}`;
    });
  return `${clip(label(a) || label(b), 40)}${fields.length ? ` (${fields.join('; ')})` : ''}`;
}

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
      out(table(result.map((v) => [short(v.id), v.name ?? '', clock(v.at), ago(v.at), v.byName, (v.auto ? c.dim('auto ') : '') + clip(v.summary, 60)]), '', ['ID', 'NAME', 'SAVED', 'WHEN', 'BY', 'SUMMARY']));
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
      out(table(result.changes.map((x) => [mark[x.change], x.section, x.section === 'notes' || x.section === 'interfaces' ? x.key : short(x.key), changeText(x)]), '', ['', 'SECTION', 'KEY', 'WHAT CHANGED']));
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
      out(`rolled back to ${short(result.version.id)}${result.version.name ? ` (${result.version.name})` : ''}: ${plural(result.changes, 'change')}; ${storedNote(local)}`);
    });

  program
    .command('timeline')
    .description('What happened recently in the shared context, oldest first.')
    .option('--limit <n>', 'how many events', '30')
    .option('--json', 'print them as a JSON array')
    .addHelpText('after', `\nExample:\n  $ huddle timeline --limit 100`)
    .action(async (opts: { limit: string; json?: boolean }, cmd: Command) => {
      if (!/^\d+$/.test(opts.limit)) throw usageError('--limit must be a whole number');
      const ctx = contextOf(cmd);
      const { result } = await readOp(ctx, 'timeline', { limit: Number(opts.limit) });
      if (opts.json) return json(result);
      if (!result.length) return out('nothing yet');
      out(table(result.map((e) => [c.dim(clock(e.at)), e.type, e.actorName, clip(shortIds(e.summary), 80)]), '', ['TIME', 'EVENT', 'BY', 'WHAT']));
    });
}
