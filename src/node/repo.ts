/** Repository facts for Node callers (CLI, hooks, server): root, branch, relative paths. */
import fs from 'node:fs';
import path from 'node:path';

/** The nearest folder at or above `from` holding `.git` (a folder or a worktree file), or null. */
export function gitRoot(from: string, ceiling?: string): string | null {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    const up = path.dirname(dir);
    if (up === dir || (ceiling !== undefined && dir === path.resolve(ceiling))) return null;
    dir = up;
  }
}

/** The current branch read from .git/HEAD without spawning git, or null (detached, no repo). */
export function gitBranch(root: string | null): string | null {
  if (!root) return null;
  try {
    let gitDir = path.join(root, '.git');
    if (fs.statSync(gitDir).isFile()) {
      const m = /gitdir:\s*(.+)/.exec(fs.readFileSync(gitDir, 'utf8'));
      if (!m) return null;
      gitDir = path.resolve(root, m[1].trim());
    }
    const head = fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    const m = /^ref: refs\/heads\/(.+)$/.exec(head);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

/**
 * Make `file` (absolute, or relative to `cwd`) relative to `root`, in POSIX form.
 * Returns null when it lies outside the repository.
 */
export function repoRelative(root: string, file: string, cwd = root): string | null {
  const abs = path.resolve(cwd, file);
  let rel = path.relative(root, abs);
  if (rel === '') return '**';
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    // The repo may be reached through a symlink (e.g. /tmp vs /private/tmp).
    try {
      rel = path.relative(fs.realpathSync(root), fs.realpathSync(abs));
    } catch {
      return null;
    }
    if (rel === '' ) return '**';
    if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  }
  return rel.split(path.sep).join('/');
}
