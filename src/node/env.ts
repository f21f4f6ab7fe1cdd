/** Values from the environment. */

export class EnvError extends Error {}

/** A boolean variable: set is not "on" by being set (`HUDDLE_INSECURE=0` is off). */
export function parseBool(v: string, from: string): boolean {
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(s)) return false;
  throw new EnvError(`${from} must be 1, true, yes or on, or 0, false, no, off or empty (got "${v}")`);
}
