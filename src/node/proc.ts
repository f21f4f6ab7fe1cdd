/** Process ancestry, used to tie an MCP server to the Claude Code session that started it. */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

function parentOf(pid: number): number | null {
  if (process.platform === 'linux') {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name (field 2) may contain spaces and parentheses: read after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(rest[1]);
      return Number.isInteger(ppid) && ppid > 1 ? ppid : null;
    } catch {
      return null;
    }
  }
  try {
    const out = execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8', timeout: 1000 }).trim();
    const ppid = Number(out);
    return Number.isInteger(ppid) && ppid > 1 ? ppid : null;
  } catch {
    return null;
  }
}

/** `pid` and its ancestors, nearest first, at most `depth` of them (init excluded). */
export function ancestors(pid: number, depth = 6): number[] {
  const out: number[] = [];
  let p: number | null = pid;
  while (p && p > 1 && out.length < depth) {
    out.push(p);
    p = parentOf(p);
  }
  return out;
}
