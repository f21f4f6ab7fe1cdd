/** `huddle conflicts`: files that two or more live sessions are editing, before they become merge conflicts. */
import type { Command } from 'commander';
import { contextOf, readState } from '../common.js';
import { ago, c, heading, json, out, plural, table } from '../format.js';
import type { EditOverlap } from '../../src/model/view.js';

const ranges = (r?: Array<[number, number]>) => (r?.length ? r.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',') : 'lines unknown');

export function registerConflicts(program: Command): void {
  program
    .command('conflicts')
    .description('Files two or more live sessions are editing: overlapping line ranges are conflicts; the rest only share the file.')
    .option('--json', 'print them as a JSON array')
    .addHelpText('after', `
Examples:
  $ huddle conflicts
  $ huddle conflicts --json | jq '.[] | select(.conflict)'

Settle them (huddle send, huddle lock) before merge time.`)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const s = await readState(ctx);
      const list: EditOverlap[] = s.conflicts;
      if (opts.json) return json(list);
      if (s.source === 'offline') return out(c.red('offline: who edits what is unknown without a server'));
      if (!list.length) return out('no file is being edited by more than one session');
      const nConf = list.filter((x) => x.conflict).length;
      // "Overlap" is kept for line ranges that intersect (a conflict); the others only share the file.
      let o = heading('Edited by several sessions', list.length) + c.dim(`  ${plural(nConf, 'conflict')} (overlapping lines), ${plural(list.length - nConf, 'file')} shared without overlapping lines\n`);
      for (const x of list) {
        o += `  ${x.conflict ? c.red('CONFLICT ') : c.yellow('same file')}  ${c.bold(x.path)}${x.conflict ? c.red(`  lines ${ranges(x.overlapping)}`) : ''}\n`;
        o += table(x.sessions.map((e) => [e.name, e.role, ranges(e.ranges), ago(e.at, s.at)]), '      ', ['SESSION', 'ROLE', 'LINES', 'SINCE']);
      }
      out(o);
    });
}
