/** `huddle watch`: events as they happen, one line each (NDJSON with --json), until interrupted. */
import type { Command } from 'commander';
import { contextOf } from '../common.js';
import { ExitError, EXIT_UNREACHABLE } from '../errors.js';
import { UnreachableError } from '../client.js';
import { c, clock } from '../format.js';
import type { WatchEvent } from '../../src/model/snapshot.js';

const COLOR: Partial<Record<WatchEvent['type'], (s: string) => string>> = {
  'session.joined': c.green,
  'session.left': c.dim,
  'session.stale': c.red,
  'lock.taken': c.yellow,
  'lock.forced': c.red,
  decision: c.cyan,
  message: c.bold,
};

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('Follow the live state: sessions joining, leaving, going stale; locks; decisions; messages; tasks; interfaces.')
    .option('--json', 'print each event as one JSON line (NDJSON)')
    .addHelpText('after', `
Examples:
  $ huddle watch
  $ huddle watch --json | jq -c 'select(.type=="lock.taken")'

Runs until interrupted (Ctrl-C exits 0). Exits 2 when the server cannot be reached or goes away.`)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const ac = new AbortController();
      let interrupted = false;
      const stop = () => {
        interrupted = true;
        ac.abort();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (!opts.json && process.stdout.isTTY) process.stderr.write(c.dim(`watching ${ctx.cfg.project} at ${ctx.cfg.url} (Ctrl-C to stop)\n`));
      try {
        await ctx.api.events((e) => {
          if (opts.json) process.stdout.write(JSON.stringify(e) + '\n');
          else process.stdout.write(`${c.dim(clock(e.at))}  ${(COLOR[e.type] ?? ((s: string) => s))(e.type.padEnd(14))}  ${e.summary}\n`);
        }, ac.signal);
      } catch (err) {
        if (err instanceof UnreachableError) throw new ExitError(EXIT_UNREACHABLE, err.message);
        throw err;
      }
      if (!interrupted) throw new ExitError(EXIT_UNREACHABLE, `the server at ${ctx.cfg.url} went away`);
      process.exit(0);
    });
}
