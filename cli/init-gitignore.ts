/**
 * What `huddle init` adds to `.gitignore`, and the next steps it prints. The
 * data folder (a project-local replica) and init.json (this checkout's record
 * of what init changed) must not be committed; .huddle/config.json should be:
 * it is the team's shared project settings.
 */
export const IGNORED = ['.huddle/data/', '.huddle/init.json'];
const HEADER = '# huddle: local state (config.json is shared: commit it)';

/** `.gitignore` text with huddle's lines, or `before` unchanged when they are all there. */
export function withIgnores(before: string | null): string | null {
  const have = new Set((before ?? '').split(/\r?\n/).map((l) => l.trim()));
  const missing = IGNORED.filter((l) => !have.has(l) && !have.has(l.replace(/\/$/, '')) && !have.has(`/${l}`));
  if (missing.length === 0) return before;
  const base = before ?? '';
  const sep = base === '' || base.endsWith('\n') ? '' : '\n';
  return `${base}${sep}${have.has(HEADER) ? '' : `${HEADER}\n`}${missing.join('\n')}\n`;
}

export const GITIGNORE_NOTE = `.gitignore: ${IGNORED.join(' and ')} stay out of git; commit .huddle/config.json (shared by the team)`;

/** Printed after a real install. */
export function nextSteps(serverUrl: string | null, files: string[] = ['.huddle/config.json', '.claude/settings.json', '.mcp.json', '.gitignore'], agents: string[] = []): string {
  const claude = files.includes('.claude/settings.json');
  return [
    'next steps:',
    serverUrl ? `  1. the huddle server runs at ${serverUrl}; \`huddle peek\` shows who is here` : '  1. huddle serve          # the server for this machine (one for every project); keep it running',
    `  2. git add ${files.join(' ')} && git commit   # so teammates and their agents join`,
    // What each agent needs before it runs huddle's hooks (trust, restart).
    ...agents.map((a, i) => `  ${i + 3}. ${a}`),
    ...(agents.length === 0 && claude ? ['  3. restart Claude Code sessions in this repository (hooks are read at start); `huddle peek` to check'] : []),
    '',
  ].join('\n');
}
