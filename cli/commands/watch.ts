/** `huddle watch`: events as they happen, one line each (NDJSON with --json), until interrupted. */
import type { Command } from 'commander';
import { contextOf } from '../common.js';
import { ExitError, EXIT_UNREACHABLE } from '../errors.js';
import { UnreachableError } from '../client.js';
import { c, clock, jsonLine, shortIds } from '../format.js';
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

Runs until interrupted (Ctrl-C exits 0). Exits 2 when the server cannot be reached at the start;
if it goes away later, watch reconnects (with backoff) and says so on stderr.`)
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
      const print = (e: WatchEvent) => {
        if (opts.json) jsonLine(e);
        else process.stdout.write(`${c.dim(clock(e.at))}  ${(COLOR[e.type] ?? ((s: string) => s))(e.type.padEnd(14))}  ${shortIds(e.summary)}\n`);
      };
      // Unreachable at the start: exit 2. Gone later: reconnect with backoff and jitter, saying so on stderr.
      let connected = false;
      let attempt = 0;
      while (!interrupted) {
        try {
          await ctx.api.events(print, ac.signal);
          connected = true;
          attempt = 0;
        } catch (err) {
          if (!(err instanceof UnreachableError)) throw err;
          if (!connected) throw new ExitError(EXIT_UNREACHABLE, err.message);
        }
        if (interrupted) break;
        if (attempt === 0) process.stderr.write(`huddle: the server at ${ctx.cfg.url} went away; reconnecting (events meanwhile are not shown)\n`);
        const delay = Math.min(5000, 200 * 2 ** attempt++) * (0.5 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, delay));
      }
      process.exit(0);
    });
}
