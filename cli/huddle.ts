#!/usr/bin/env node
/**
 * The `huddle` command. Each subcommand's module is imported only when it
 * runs, so that quick commands do not pay for Yjs, LevelDB or the server.
 */
import { Command, CommanderError } from 'commander';
import { registerServe } from './commands/serve.js';

const program = new Command();
program
  .name('huddle')
  .description('Shared live context for teams of AI coding agents.')
  .version('0.1.0', '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.code === 'huddle.usage') process.stderr.write(`huddle: ${err.message}\n`);
    // Help and version exit 0; usage errors exit 1 (commander already printed the message).
    process.exit(err.exitCode === 0 ? 0 : 1);
  }
  throw err;
}
