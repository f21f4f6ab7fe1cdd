#!/usr/bin/env node
/**
 * Entry point of the `huddle` command. `huddle hook` runs on every Claude Code tool call, so
 * it skips the command-line framework and the other commands' modules; everything else goes
 * through cli/main.ts.
 */

/** `hook [--url U] [--timeout MS]` (flags before or after), or null for anything else. */
function hookArgs(argv: string[]): { url?: string; timeout: number } | null {
  let url: string | undefined;
  let timeout = 5000;
  let hook = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === 'hook' && !hook) hook = true;
    else if (a === '--url' && i + 1 < argv.length) url = argv[++i];
    else if (a.startsWith('--url=')) url = a.slice(6);
    else if (a === '--timeout' && i + 1 < argv.length) timeout = Number(argv[++i]);
    else return null; // help, other flags, other commands: the full parser
  }
  if (!hook) return null;
  return { url, timeout: Number.isFinite(timeout) && timeout > 0 ? timeout : 5000 };
}

// No top-level await: the bundle (scripts/build-cli.mjs) is one CommonJS file, the quickest for Node to start.
const fast = hookArgs(process.argv.slice(2));
if (fast) {
  void import('./commands/hook.js').then(async ({ runHook }) => {
    process.exitCode = await runHook(fast);
  });
} else {
  void import('./main.js').then(({ main }) => main(process.argv));
}
