/**
 * The huddle program: global options, and the command groups registered on
 * demand. Only the group of the command being run is loaded, and only that
 * command of it registered (registering every command costs a thin command as
 * much as the rest of its start-up); help and unknown names load all of them.
 *
 * scripts/build-cli.mjs bundles this twice: a thin bundle, which runs every
 * command first and lacks the heavy groups, and the full bundle. Reading and
 * deserializing the full bundle's code cost a thin command (peek, lock,
 * decide) about a quarter of its time, and the thin one is a quarter of its
 * size. A command the thin bundle does not hold is run by the full one,
 * before anything else has happened (see holds).
 */
import { Command } from 'commander';
import { ExitError, EXIT_USAGE } from './errors.js';
import { VERSION } from './version.js';
import { DEFAULT_URL } from '../src/protocol/constants.js';
import { setJsonField } from './format.js';
import { onlyCommand } from './only-command.js';
import { registerPeek } from './commands/peek.js';
import { registerWatch } from './commands/watch.js';
import { registerSession } from './commands/session.js';
import { registerLocks } from './commands/locks.js';
import { registerContext } from './commands/context.js';
import { registerTasks } from './commands/tasks.js';
import { registerHistory } from './commands/history.js';
import { registerConflicts } from './commands/conflicts.js';
import { registerConfig } from './commands/config.js';
import { registerMeta } from './commands/meta.js';
import { registerNext } from './commands/next.js';
import { registerSync } from './commands/sync.js';
import { registerReport } from './commands/report.js';

type Register = (program: Command) => void;
type Load = () => Promise<Register> | Register;

declare global {
  interface ImportMeta {
    /** true in the thin bundle (an esbuild define, a literal at each use, so that esbuild drops what it rules out); undefined from source. */
    huddleThin?: boolean;
  }
}
const THIN = import.meta.huddleThin === true;

/**
 * The command groups, each a module that registers its commands. The thin ones
 * (plain HTTP to the server) are bundled into the command's one file; the heavy
 * ones (the server, the MCP server, init, the hooks) are loaded only when run.
 * The full bundle alone holds the heavy ones but the hook (which must answer
 * fast), and meta, whose completion lists every command: those entries are
 * undefined in the thin bundle.
 */
const ALL_GROUPS: Record<string, Load | undefined> = {
  serve: import.meta.huddleThin ? undefined : async () => (await import('./commands/serve.js')).registerServe,
  peek: () => registerPeek,
  watch: () => registerWatch,
  session: () => registerSession,
  locks: () => registerLocks,
  context: () => registerContext,
  tasks: () => registerTasks,
  history: () => registerHistory,
  conflicts: () => registerConflicts,
  config: () => registerConfig,
  hook: async () => (await import('./commands/hook.js')).registerHook,
  mcp: import.meta.huddleThin ? undefined : async () => (await import('./commands/mcp.js')).registerMcp,
  init: import.meta.huddleThin ? undefined : async () => (await import('./commands/init.js')).registerInit,
  guard: import.meta.huddleThin ? undefined : async () => (await import('./commands/guard.js')).registerGuard,
  doctor: import.meta.huddleThin ? undefined : async () => (await import('./commands/doctor.js')).registerDoctor,
  meta: import.meta.huddleThin ? undefined : () => registerMeta,
  next: () => registerNext,
  sync: () => registerSync,
  report: () => registerReport,
};

/** The groups this bundle holds, in the order of the help. */
export const GROUPS: Record<string, Load> = Object.fromEntries(Object.entries(ALL_GROUPS).filter((e): e is [string, Load] => e[1] !== undefined));

/** Top-level command name -> its group (test/cli.test.ts checks this against what the groups register). */
export const COMMAND_GROUP: Record<string, string> = {
  serve: 'serve', peek: 'peek', sessions: 'peek', watch: 'watch', update: 'session', editing: 'session', leave: 'session',
  lock: 'locks', unlock: 'locks', locks: 'locks', decide: 'context', decisions: 'context', declare: 'context',
  interfaces: 'context', send: 'context', inbox: 'context', note: 'context', task: 'tasks', handoff: 'tasks',
  history: 'history', snapshot: 'history', diff: 'history', rollback: 'history', timeline: 'history',
  conflicts: 'conflicts', config: 'config', hook: 'hook', mcp: 'mcp', init: 'init', guard: 'guard', doctor: 'doctor',
  version: 'meta', completion: 'meta', next: 'next', sync: 'sync', report: 'report',
};

/** Global options that take a value (their value is not the command name). */
const VALUE_OPTIONS = new Set(['--url', '--project', '--token', '--session', '--role', '--color', '--field']);

/** The command named in argv (after global options), or null (none, help, or an option-only call). */
export function commandOf(argv: string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return null;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return null;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('huddle')
    .description('Shared live context for teams of AI coding agents.')
    .version(VERSION, '-V, --version')
    .option('--url <url>', `server URL (env HUDDLE_URL; default ${DEFAULT_URL})`)
    .option('--project <name>', 'project (env HUDDLE_PROJECT; default: the git root folder name)')
    .option('--token <token>', 'token for the server (env HUDDLE_TOKEN)')
    .option('--session <id>', 'act as this session (env HUDDLE_SESSION or CLAUDE_CODE_SESSION_ID; default human@HOST)')
    .option('--role <role>', 'role of the acting session (env HUDDLE_ROLE)')
    .option('--field <path>', 'with --json: print only this part of it, a dotted path such as locks.path or 0.id')
    .option('--color <when>', 'colour: auto (a terminal without NO_COLOR), always or never (env FORCE_COLOR, NO_COLOR)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str.startsWith('error: ') ? `huddle: ${str.slice(7)}` : str) })
    .exitOverride()
    .addHelpText('after', `
Examples:
  $ huddle peek                           # who is here, who holds what, what was decided
  $ huddle lock src/api.ts -- npm test    # hold a lock while a command runs
  $ huddle --session backend-1 --role backend decide "REST, not GraphQL" --why "simpler"
  $ huddle peek --json --field locks      # one field of the JSON (dotted path)

Exit codes: 0 ok, 1 usage, 2 no server reachable, 3 locked by another session.
Run huddle COMMAND --help for the options and examples of each command.`);
  program.hook('preAction', (_p, action) => {
    const { color, field, json: wantsJson } = action.optsWithGlobals() as { color?: string; field?: string; json?: boolean };
    if (field !== undefined) {
      if (!wantsJson) throw new ExitError(EXIT_USAGE, '--field selects from the JSON output: add --json');
      setJsonField(field);
    }
    if (color !== undefined && !['auto', 'always', 'never'].includes(color)) throw new ExitError(EXIT_USAGE, `--color must be auto, always or never, not "${color}"`);
    if (color) process.env.HUDDLE_COLOR = color;
  });
  return program;
}

/** The group `argv` runs, or undefined when it needs all of them (no command, help, an unknown name). */
function groupOf(argv: string[]): string | undefined {
  const name = commandOf(argv);
  return name !== null && name !== 'help' ? COMMAND_GROUP[name] : undefined;
}

/** Whether this bundle holds what `argv` runs (false in the thin bundle for the heavy groups, help and unknown names). */
export function holds(argv: string[]): boolean {
  if (!THIN) return true;
  const group = groupOf(argv);
  return group !== undefined && group in GROUPS;
}

/** The program with what `argv` needs registered: the one command of a known name, every command otherwise. */
export async function programFor(argv: string[]): Promise<Command> {
  const program = buildProgram();
  const group = groupOf(argv);
  if (group) {
    (await GROUPS[group]())(onlyCommand(program, commandOf(argv)!));
    return program;
  }
  const registers = await Promise.all(Object.values(GROUPS).map((load) => load()));
  for (const register of registers) register(program);
  return program;
}

