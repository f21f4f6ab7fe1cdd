/** `huddle report`: what each session did, from the timeline and presence. */
import type { Command } from 'commander';
import { contextOf, parseDuration, readOp } from '../common.js';
import { ago, c, clock, json, out, wrap } from '../format.js';
import { reportLines } from '../../src/model/report.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('What each session did: joined and left, tasks claimed and done, files edited, locks held and who waited on them, edits refused (conflicts avoided), messages.')
    .option('--since <duration>', 'how far back, e.g. 30m, 2h, 1d', '24h')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', `
Examples:
  $ huddle report --since 2h
  $ huddle report --session alice --json | jq '.sessions[0].locksHeld'

--session S (the global option) reports on S only: a report is a read, so asking as S changes nothing.
It covers what the timeline still holds (it keeps the latest 1000 events) and who is here now.`)
    .action(async (o: { since: string; json?: boolean }, cmd: Command) => {
      const sinceMs = parseDuration(o.since, '--since');
      const ctx = contextOf(cmd);
      // Only a --session given on the command line narrows the report (not HUDDLE_SESSION).
      const only = (cmd.optsWithGlobals() as { session?: string }).session;
      const { result, offline } = await readOp(ctx, 'report', { who: only, sinceMs });
      if (o.json) return json(result);
      const head = offline ? c.red(`OFFLINE, as of ${clock(offline)} (${ago(offline)}): who is here now is unknown\n`) : '';
      const body = result.sessions.map((r) => reportLines(r, result.until).map((l, i) => (i === 0 ? c.bold(l) : `  ${l}`)).join('\n')).join('\n');
      out(wrap(head + (body || `no session activity in the last ${o.since}`)));
    });
}
