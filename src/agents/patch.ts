/**
 * The files an `apply_patch` envelope (Codex, opencode's patch tool) touches:
 *
 *   *** Begin Patch
 *   *** Update File: src/a.ts      (optionally followed by `*** Move to: src/b.ts`)
 *   *** Add File: src/new.ts       (`+` lines are the new content)
 *   *** Delete File: src/old.ts
 *   *** End Patch
 *
 * Every path is reported, the source and the destination of a move alike:
 * a move writes both. Paths are as written (relative to the agent's cwd, or absolute).
 */
import type { WriteIntent } from './event.js';

const HEADER = /^\*\*\* (Update File|Add File|Delete File|Move to):\s*(.+?)\s*$/;

export function patchWrites(patch: string): WriteIntent[] {
  const out: WriteIntent[] = [];
  let adding: WriteIntent | null = null;
  let added = 0;
  const closeAdd = () => {
    if (adding && added > 0) adding.lines = [[1, added]];
    adding = null;
    added = 0;
  };
  const lines = patch.split(/\r?\n/);
  for (let i = 0; i < lines.length && i < 200_000; i++) {
    const line = lines[i];
    if (line.startsWith('***')) {
      const m = HEADER.exec(line);
      closeAdd();
      if (!m) continue;
      const w: WriteIntent = { path: m[2], via: 'patch' };
      out.push(w);
      if (m[1] === 'Add File') adding = w;
      if (out.length >= 200) break;
    } else if (adding && line.startsWith('+')) added++;
  }
  closeAdd();
  return out;
}
