/**
 * The `huddle` command: the program (cli/program.ts, which registers only the
 * group of the command being run, or hands it to the full bundle) and the
 * exit codes of its errors.
 *
 * Exit codes: 0 ok, 1 usage (bad arguments, bad configuration, an operation
 * the server refused), 2 no server reachable, 3 a lock held by another session.
 */
import { CommanderError } from 'commander';
import { ExitError, EXIT_UNREACHABLE, EXIT_USAGE } from './errors.js';
import { ApiFailure, UnreachableError } from './client.js';
import { holds, programFor } from './program.js';
import { shortIds } from './format.js';

/**
 * Set by the loader (scripts/cli-loader.cjs) in the thin bundle only: runs the
 * command line in the full bundle instead. undefined when run from source.
 */
declare const huddleRunFull: (() => void) | undefined;

/** Run the command line `argv` (node, script, args...); exits the process on an error. */
export async function main(argv: string[]): Promise<void> {
  try {
    if (!holds(argv.slice(2))) {
      if (typeof huddleRunFull !== 'function') throw new Error('this bundle lacks the command and no full bundle was given');
      return huddleRunFull();
    }
    const program = await programFor(argv.slice(2));
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'huddle.usage') process.stderr.write(`huddle: ${err.message}\n(run with --help for usage)\n`);
      // Help and version exit 0; usage errors exit 1 (commander already printed the message).
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    if (err instanceof ExitError) {
      process.stderr.write(`huddle: ${shortIds(err.message)}\n`);
      process.exit(err.exitCode);
    }
    if (err instanceof UnreachableError) {
      process.stderr.write(`huddle: ${shortIds(err.message)}\n`);
      process.exit(EXIT_UNREACHABLE);
    }
    if (err instanceof ApiFailure) {
      process.stderr.write(`huddle: ${shortIds(err.message)}${err.status === 401 || err.status === 403 ? ' (check --token or HUDDLE_TOKEN)' : ''}\n`);
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
}
