/** The git pre-commit guard `huddle init` adds (`huddle guard`), between markers so that it comes out again cleanly. */
import fs from 'node:fs';
import path from 'node:path';

const GUARD_BEGIN = '# >>> huddle guard (added by huddle init) >>>';
const GUARD_END = '# <<< huddle guard <<<';

/** The repository's git folder, following a worktree's `.git` file. */
export function gitDir(root: string): string | null {
  const dotgit = path.join(root, '.git');
  try {
    const st = fs.statSync(dotgit);
    if (st.isDirectory()) return dotgit;
    const m = /gitdir:\s*(.+)/.exec(fs.readFileSync(dotgit, 'utf8'));
    return m ? path.resolve(root, m[1].trim()) : null;
  } catch {
    return null;
  }
}

export function withGuard(text: string | null, bin: string): string {
  const block = `${GUARD_BEGIN}\n${bin} guard || exit 1\n${GUARD_END}\n`;
  if (text === null || text === '') return `#!/bin/sh\n${block}`;
  const stripped = withoutGuard(text);
  // Right after the shebang, so that an `exit` further down cannot skip it.
  if (stripped.startsWith('#!')) {
    const nl = stripped.indexOf('\n');
    return nl < 0 ? `${stripped}\n${block}` : `${stripped.slice(0, nl + 1)}${block}${stripped.slice(nl + 1)}`;
  }
  return `${block}${stripped}`;
}

export function withoutGuard(text: string): string {
  const a = text.indexOf(GUARD_BEGIN);
  if (a < 0) return text;
  const b = text.indexOf(GUARD_END, a);
  if (b < 0) return text;
  let end = b + GUARD_END.length;
  if (text[end] === '\n') end++;
  return text.slice(0, a) + text.slice(end);
}
