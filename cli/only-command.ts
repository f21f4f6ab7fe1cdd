/**
 * The program as a group's register function sees it when one known top-level
 * command runs: `command(name ...)` of any other name returns a stand-in whose
 * every method does nothing and returns it, so that the definitions (options,
 * arguments, help texts) of the commands not run are never built. Building
 * them was about a third of a thin command's own work before its request
 * (commander parses each option's flags as it is added); `decide` shares its
 * group with six other commands.
 *
 * Help and unknown names register every command for real (cli/program.ts), so
 * listings and suggestions are unchanged; a command's own help needs only it.
 */
import type { Command } from 'commander';

const ignored: Command = new Proxy(Object.create(null) as Command, {
  // Any method, any depth (`.command('note').command('set').option(...)`): the stand-in again. Not a thenable.
  get: (_target, key) => (key === 'then' ? undefined : () => ignored),
});

/** `program`, registering only the top-level command `name` (its subcommands included). */
export function onlyCommand(program: Command, name: string): Command {
  return new Proxy(program, {
    get(target, key, receiver) {
      if (key !== 'command') return Reflect.get(target, key, receiver);
      return (nameAndArgs: string, ...rest: unknown[]) =>
        nameAndArgs.trim().split(/\s+/)[0] === name ? (target.command as (...a: unknown[]) => Command)(nameAndArgs, ...rest) : ignored;
    },
  });
}
