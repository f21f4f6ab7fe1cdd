/** `huddle next`: where this session could be useful (free tasks for its role, free areas, what the others are on). */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { contextOf, readOp } from '../common.js';
import { ago, c, clock, json, out, wrap } from '../format.js';
import { AREA_CONTAINERS, AREA_IGNORED, suggestText } from '../../src/model/suggest.js';

/** The repository's folders as areas (read here, on the caller's machine: the server never lists files). */
export function localAreas(root: string, max = 200): string[] {
  const dirs = (p: string) => {
    try {
      return fs.readdirSync(p, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.') && !AREA_IGNORED.has(d.name)).map((d) => d.name).sort();
    } catch {
      return [];
    }
  };
  const out: string[] = [];
  for (const top of dirs(root)) {
    const subs = AREA_CONTAINERS.has(top) ? dirs(path.join(root, top)) : [];
    if (subs.length) for (const s of subs) out.push(`${top}/${s}`);
    else out.push(top);
    if (out.length >= max) break;
  }
  return out.slice(0, max);
}

export function registerNext(program: Command): void {
  program
    .command('next')
    .description('Where this session could help: open tasks for its role whose dependencies are done and nobody holds, areas nobody edits or holds, what the others are on. Facts, not a choice.')
    .option('--for <role>', 'for this role instead of the session\'s')
    .option('--no-local', 'do not add the repository\'s own folders as areas (only those huddle has seen)')
    .option('--json', 'print the suggestions as JSON')
    .addHelpText('after', `
Examples:
  $ huddle next
  $ huddle --session backend-1 --role backend next --json | jq '.tasks[0].id'
  $ huddle next --for frontend

Areas are folders (src/payments/, web/): the repository's own (listed here), and those seen in
locks, edits, interfaces, handoffs and tasks. The same lines start every agent session.`)
    .action(async (opts: { for?: string; local?: boolean; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const areas = opts.local === false ? undefined : localAreas(ctx.cfg.root);
      const { result, offline } = await readOp(ctx, 'next', { areas, role: opts.for });
      if (opts.json) return json(result);
      const head = offline ? c.red(`OFFLINE, as of ${clock(offline)} (${ago(offline)}): who is here is unknown\n`) : '';
      const busy = result.busyAreas.length ? `\nBusy: ${result.busyAreas.slice(0, 8).map((b) => `${b.area} (${b.by.join(', ')})`).join(', ')}${result.busyAreas.length > 8 ? `, +${result.busyAreas.length - 8} more` : ''}.` : '';
      out(wrap(`${head}${c.bold(`For ${result.me.name} (${result.me.role}):`)}\n${suggestText(result, 4000)}${busy}`));
    });
}
