/**
 * `.huddle/config.json`, checked: every key typed (zod), a wrong type is an
 * error naming the file and the key, an unknown key a warning (with the key
 * it was probably meant to be), and a token in a file git tracks a warning.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
// zod/mini: every huddle command reads this at start-up, and the full build's per-schema methods cost it milliseconds.
import * as z from 'zod/mini';

const nonEmpty = () => z.optional(z.string().check(z.trim(), z.minLength(1)));

/** Every key of .huddle/config.json (documented in the README's "Configuration file"). Built on first use (a command run without a config file never needs it). */
const makeSchema = () =>
  z.object({
    url: nonEmpty(),
    project: nonEmpty(),
    token: nonEmpty(),
    role: nonEmpty(),
    name: nonEmpty(),
    enforce: z.optional(z.enum(['block', 'warn', 'off'])),
    autoLock: z.optional(z.boolean()),
    upstream: nonEmpty(),
    upstreamToken: nonEmpty(),
  });
let fileConfigSchema: ReturnType<typeof makeSchema> | undefined;

export type CheckedFileConfig = z.infer<ReturnType<typeof makeSchema>>;

/** The keys of the schema, in its order (test/config-check.test.ts checks it against the schema and the README). */
export const FILE_CONFIG_KEYS: Array<keyof CheckedFileConfig> = ['url', 'project', 'token', 'role', 'name', 'enforce', 'autoLock', 'upstream', 'upstreamToken'];

/** The schema itself (for tests). */
export function fileConfigShapeKeys(): string[] {
  return Object.keys((fileConfigSchema ??= makeSchema()).shape);
}

const EXPECT: Record<string, string> = {
  enforce: '"block", "warn" or "off"',
  autoLock: 'true or false',
};

function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

function suggest(key: string): string | null {
  const k = key.toLowerCase();
  let best: string | null = null;
  let bestD = 3;
  for (const known of FILE_CONFIG_KEYS) {
    const dd = distance(k, known.toLowerCase());
    if (dd < bestD) [best, bestD] = [known, dd];
  }
  return best;
}

export class FileConfigProblem extends Error {}

/**
 * The checked config of a parsed JSON value. Throws FileConfigProblem naming `file` and the
 * key for a wrong type; returns unknown keys as warnings.
 */
export function checkFileConfig(value: unknown, file: string): { config: CheckedFileConfig; warnings: string[] } {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new FileConfigProblem(`${file} must hold a JSON object, e.g. {"project": "my-app"}`);
  const raw = value as Record<string, unknown>;
  const warnings: string[] = [];
  const known: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if ((FILE_CONFIG_KEYS as string[]).includes(k)) known[k] = v;
    else {
      const s = suggest(k);
      warnings.push(`${file}: unknown key "${k}"${s ? ` (did you mean "${s}"?)` : ''}; known keys: ${FILE_CONFIG_KEYS.join(', ')}`);
    }
  }
  const r = (fileConfigSchema ??= makeSchema()).safeParse(known);
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      const want = EXPECT[key] ?? 'a non-empty string';
      return `"${key}" must be ${want} (got ${JSON.stringify(raw[key])})`;
    });
    throw new FileConfigProblem(`${file}: ${problems.join('; ')}`);
  }
  return { config: r.data, warnings };
}

/** A warning when `file` holds a token and git tracks it (the token would be committed and shared). */
export function trackedTokenWarning(file: string, config: CheckedFileConfig): string | null {
  const keys = (['token', 'upstreamToken'] as const).filter((k) => config[k]);
  if (keys.length === 0) return null;
  const r = spawnSync('git', ['ls-files', '--error-unmatch', '--', path.basename(file)], { cwd: path.dirname(file), stdio: 'ignore', timeout: 3000 });
  if (r.status !== 0) return null;
  return `${file} holds ${keys.map((k) => `"${k}"`).join(' and ')} and git tracks it: the token is shared with everyone who can read the repository; put it in HUDDLE_TOKEN / --token-file instead, or untrack the file`;
}
