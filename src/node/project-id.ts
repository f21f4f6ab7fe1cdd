/**
 * The same repository is the same project. The default project is derived
 * from the repository itself, read from .git without spawning git (hooks call
 * this on their path):
 *   1. the normalized `origin` remote URL (github.com/acme/app for the ssh and
 *      https forms alike), so clones on several machines meet on a team relay;
 *   2. else the git common directory (the main checkout's folder), so every
 *      worktree of one repository meets;
 *   3. the folder name only as a last resort.
 */
import fs from 'node:fs';
import path from 'node:path';
import { toProjectName } from '../protocol/names.js';

export type ProjectSource = 'origin' | 'git-common-dir' | 'folder';

export interface ProjectIdentity {
  project: string;
  source: ProjectSource;
  /** What it was derived from: the normalized URL, the common dir, or the folder. */
  from: string;
}

/** The .git folder of a checkout (a worktree's `.git` file points to it), or null. */
export function gitDirOf(root: string): string | null {
  const dotGit = path.join(root, '.git');
  try {
    if (fs.statSync(dotGit).isDirectory()) return dotGit;
    const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'));
    return m ? path.resolve(root, m[1].trim()) : null;
  } catch {
    return null;
  }
}

/** The repository's common directory, shared by all its worktrees. */
export function gitCommonDir(gitDir: string): string {
  try {
    const rel = fs.readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim();
    if (rel) return path.resolve(gitDir, rel);
  } catch {
    /* not a linked worktree */
  }
  return gitDir;
}

/** The `url` of `[remote "origin"]` in a git config text, or null. */
export function originUrl(configText: string): string | null {
  let inOrigin = false;
  for (const raw of configText.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inOrigin = /^\[\s*remote\s+"origin"\s*\]$/.test(line);
      continue;
    }
    if (!inOrigin) continue;
    const m = /^url\s*=\s*(.+)$/.exec(line);
    if (m) return m[1].trim().replace(/^"(.*)"$/, '$1');
  }
  return null;
}

/**
 * host/path of a remote URL: `git@github.com:acme/app.git`, `ssh://git@github.com:22/acme/app`,
 * `https://user@github.com/acme/app.git/` all give `github.com/acme/app`. Null for local paths.
 */
export function normalizeRemote(url: string): string | null {
  let s = url.trim();
  let host: string;
  let rest: string;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i.exec(s);
  if (scheme) {
    if (scheme[1].toLowerCase() === 'file') return null;
    host = scheme[2].replace(/^[^@]*@/, '').replace(/:\d*$/, '');
    rest = scheme[3] ?? '';
  } else {
    const scp = /^(?:[^@/]+@)?([^:/]+):(.+)$/.exec(s);
    if (!scp) return null; // a local path
    host = scp[1];
    rest = scp[2];
  }
  s = rest.replace(/\/+$/, '').replace(/\.git$/i, '').replace(/^\/+/, '').replace(/^~[^/]*\//, '');
  if (!host || !s) return null;
  return `${host.toLowerCase()}/${s}`;
}

/** The default project for a checkout at `root` (a git root), or for a plain folder. */
export function projectIdentity(root: string): ProjectIdentity {
  const gitDir = gitDirOf(root);
  if (gitDir) {
    const common = gitCommonDir(gitDir);
    let config = '';
    try {
      config = fs.readFileSync(path.join(common, 'config'), 'utf8');
    } catch {
      /* no config: fall through */
    }
    const origin = originUrl(config);
    const norm = origin ? normalizeRemote(origin) : null;
    if (norm) return { project: toProjectName(norm), source: 'origin', from: norm };
    const name = path.basename(common) === '.git' ? path.basename(path.dirname(common)) : path.basename(common).replace(/\.git$/i, '');
    return { project: toProjectName(name), source: 'git-common-dir', from: common };
  }
  return { project: toProjectName(path.basename(root)), source: 'folder', from: root };
}
