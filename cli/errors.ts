/** Exit codes of the huddle command, and errors that carry them. */
import { CommanderError } from 'commander';

export const EXIT_USAGE = 1;
export const EXIT_UNREACHABLE = 2;
export const EXIT_LOCKED = 3;

/** A usage error: commander prints it and exits 1. */
export function usageError(message: string): CommanderError {
  return new CommanderError(EXIT_USAGE, 'huddle.usage', message);
}

/** An error that ends the command with a message on stderr and an exit code. */
export class ExitError extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}
