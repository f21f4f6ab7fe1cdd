/**
 * The `huddle` command. Every subcommand registers its options here; what is
 * heavy (Yjs, LevelDB, the server, the MCP SDK) each one imports only in its
 * action, so that quick commands such as `huddle hook` do not pay for it.
 *
 * Exit codes: 0 ok, 1 usage (bad arguments, bad configuration, an operation
 * the server refused), 2 no server reachable, 3 a lock held by another session.
 */
import { Command, CommanderError } from 'commander';
import { registerServe } from './commands/serve.js';
import { registerPeek } from './commands/peek.js';
import { registerWatch } from './commands/watch.js';
import { registerLocks } from './commands/locks.js';
import { registerContext } from './commands/context.js';
import { registerTasks } from './commands/tasks.js';
import { registerHistory } from './commands/history.js';
import { registerConflicts } from './commands/conflicts.js';
import { registerConfig } from './commands/config.js';
import { registerSession } from './commands/session.js';
import { registerHook } from './commands/hook.js';
import { registerMcp } from './commands/mcp.js';
import { registerInit } from './commands/init.js';
import { registerDoctor } from './commands/doctor.js';
import { registerGuard } from './commands/guard.js';
import { ExitError, EXIT_UNREACHABLE, EXIT_USAGE } from './errors.js';
import { ApiFailure, UnreachableError } from './client.js';
import { DEFAULT_URL } from '../src/protocol/constants.js';

const program = new Command();
program
  .name('huddle')
  .description('Shared live context for teams of AI coding agents.')
  .version('0.1.0', '-V, --version')
  .option('--url <url>', `server URL (env HUDDLE_URL; default ${DEFAULT_URL})`)
  .option('--project <name>', 'project (env HUDDLE_PROJECT; default: the git root folder name)')
  .option('--token <token>', 'token for the server (env HUDDLE_TOKEN)')
  .option('--session <id>', 'act as this session (env HUDDLE_SESSION or CLAUDE_CODE_SESSION_ID; default human@HOST)')
  .option('--role <role>', 'role of the acting session (env HUDDLE_ROLE)')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addHelpText('after', `
Examples:
  $ huddle peek                           # who is here, who holds what, what was decided
  $ huddle lock src/api.ts -- npm test    # hold a lock while a command runs
  $ huddle --session backend-1 --role backend decide "REST, not GraphQL" --why "simpler"

Exit codes: 0 ok, 1 usage, 2 no server reachable, 3 locked by another session.
Run huddle COMMAND --help for the options and examples of each command.`);

registerServe(program);
registerPeek(program);
registerWatch(program);
registerSession(program);
registerLocks(program);
registerContext(program);
registerTasks(program);
registerHistory(program);
registerConflicts(program);
registerConfig(program);
registerHook(program);
registerMcp(program);
registerInit(program);
registerDoctor(program);
registerGuard(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.code === 'huddle.usage') process.stderr.write(`huddle: ${err.message}\n(run with --help for usage)\n`);
    // Help and version exit 0; usage errors exit 1 (commander already printed the message).
    process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  if (err instanceof ExitError) {
    process.stderr.write(`huddle: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof UnreachableError) {
    process.stderr.write(`huddle: ${err.message}\n`);
    process.exit(EXIT_UNREACHABLE);
  }
  if (err instanceof ApiFailure) {
    process.stderr.write(`huddle: ${err.message}${err.status === 401 || err.status === 403 ? ' (check --token or HUDDLE_TOKEN)' : ''}\n`);
    process.exit(EXIT_USAGE);
  }
  throw err;
}
