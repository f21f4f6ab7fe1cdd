/**
 * The repositories this user wired with `huddle init`, in the per-user state folder
 * (`repos.json`). The local server answers hooks for a cwd only inside folders it knows
 * (relay/hook-config.ts); a repository outside the home and temp folders (/srv, /work,
 * /workspaces) is known once init ran there, with no --hook-root to remember. Only the
 * user writes this file: a hook request can never add to it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { userStateDir } from './server-file.js';

const FILE = 'repos.json';
/** Bound what is read: a file this long holds nothing a person wired by hand. */
const MAX_REPOS = 1000;

export function knownReposFile(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = userStateDir(env);
  return dir ? path.join(dir, FILE) : null;
}

/** Absolute paths in the file; anything else in it (wrong types, relative paths) is ignored. */
export function readKnownRepos(file: string | null): string[] {
  if (!file) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
  const list = raw && typeof raw === 'object' && Array.isArray((raw as { repos?: unknown }).repos) ? (raw as { repos: unknown[] }).repos : [];
  return list.filter((r): r is string => typeof r === 'string' && r.length < 4096 && path.isAbsolute(r)).slice(0, MAX_REPOS);
}

/** Add `root` (written atomically; a failure is not init's failure, so it returns false). */
export function rememberRepo(root: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const file = knownReposFile(env);
  if (!file) return false;
  const abs = path.resolve(root);
  const repos = readKnownRepos(file).filter((r) => r !== abs);
  repos.unshift(abs);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ repos: repos.slice(0, MAX_REPOS) }, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
    return true;
  } catch {
    return false;
  }
}

/** Read again only when the file changed (a hook call should not parse it each time). */
export class KnownRepos {
  private mtime = -1;
  private list: string[] = [];

  constructor(private readonly file: string | null) {}

  current(): string[] {
    if (!this.file) return this.list;
    let m: number;
    try {
      m = fs.statSync(this.file).mtimeMs;
    } catch {
      m = 0;
    }
    if (m !== this.mtime) {
      this.mtime = m;
      this.list = m === 0 ? [] : readKnownRepos(this.file);
    }
    return this.list;
  }
}
