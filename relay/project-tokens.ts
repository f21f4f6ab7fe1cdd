/**
 * Project-scoped tokens for a team relay that serves several teams (issue 13 §4):
 * a tokens file maps project-name patterns to read-write and read-only tokens,
 *
 *   { "projects": { "teamA-*": { "write": ["..."], "read": ["..."] }, "teamB": { "write": ["..."] } } }
 *
 * A pattern is a project name where `*` stands for any run of characters. A token
 * grants, on a project, the highest access of the patterns that match the project's
 * name and list it; on any other project it grants nothing. The server-wide --token and
 * --read-token keep granting every project. Project tokens open the WebSocket of a
 * project and its /api/p/<project>/ routes; server-wide routes (hooks, metrics) need a
 * server-wide token, and /api/projects lists only the projects the token may read.
 */
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export type Access = 'write' | 'read' | 'none';

export interface ProjectTokens {
  rules: Array<{ pattern: string; re: RegExp; write: string[]; read: string[] }>;
}

const TokenList = z.array(z.string().min(8, 'a token must be at least 8 characters')).max(1000);
const FileSchema = z.strictObject({
  projects: z.record(
    z.string().min(1).max(200),
    z.strictObject({ write: TokenList.optional(), read: TokenList.optional() }),
  ),
});

/** Parse a tokens file's text; throws an Error that names what is wrong. */
export function parseProjectTokens(text: string): ProjectTokens {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`tokens file is not JSON: ${(err as Error).message}`);
  }
  const r = FileSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`tokens file: ${i.path.join('.') || '(top)'}: ${i.message} (expected {"projects": {"<pattern>": {"write": [..], "read": [..]}}})`);
  }
  const rules: ProjectTokens['rules'] = [];
  for (const [pattern, v] of Object.entries(r.data.projects)) {
    const write = v.write ?? [];
    const read = v.read ?? [];
    for (const t of read) if (write.includes(t)) throw new Error(`tokens file: a token of ${pattern} is listed as both read and write`);
    rules.push({ pattern, re: globToRegExp(pattern), write, read });
  }
  return { rules };
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

/** Constant-time string comparison: the time taken does not tell how much of a token matched. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const has = (list: string[], t: string) => {
  let hit = false;
  for (const x of list) if (safeEqual(x, t)) hit = true; // no early exit: time does not tell which
  return hit;
};

/** The access `presented` grants on `project` under these rules. */
export function projectAccess(tokens: ProjectTokens, presented: string, project: string): Access {
  let access: Access = 'none';
  for (const r of tokens.rules) {
    if (!r.re.test(project)) continue;
    if (has(r.write, presented)) return 'write';
    if (has(r.read, presented)) access = 'read';
  }
  return access;
}

/** Whether `presented` is a token of any rule (it may then see its own projects in /api/projects). */
export function isProjectToken(tokens: ProjectTokens, presented: string): boolean {
  return tokens.rules.some((r) => has(r.write, presented) || has(r.read, presented));
}
