/**
 * `huddle guard`: a git pre-commit check. Refuses a commit that touches files
 * another live session holds an exclusive lock on, naming the holder. With no
 * server reachable it lets the commit through with a note (fails open).
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';

export interface GuardFlags {
  url?: string;
  project?: string;
  token?: string;
  session?: string;
  files?: string[];
}

/** Staged paths (repository-relative), including both sides of renames. */
function stagedFiles(cwd: string): string[] {
  const r = spawnSync('git', ['diff', '--cached', '--name-only', '-z', '--no-renames'], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git diff --cached failed: ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout.split('\u0000').filter(Boolean);
}

export async function runGuard(flags: GuardFlags): Promise<number> {
  const { resolveConfig } = await import('../config.js');
  const { ApiClient, UnreachableError } = await import('../client.js');
  const { patternsOverlap } = await import('../../src/model/paths.js');
  const { describeLock } = await import('../../src/model/inject.js');
  const cfg = resolveConfig(flags);
  const files = flags.files?.length ? flags.files : stagedFiles(cfg.root);
  if (files.length === 0) return 0;
  let snap;
  try {
    snap = await new ApiClient(cfg).state(false);
  } catch (err) {
    if (err instanceof UnreachableError) {
      process.stderr.write(`huddle guard: ${err.message}; commit not checked\n`);
      return 0;
    }
    process.stderr.write(`huddle guard: ${(err as Error).message}; commit not checked\n`);
    return 0;
  }
  const me = cfg.session.id;
  const hits: string[] = [];
  for (const l of snap.locks) {
    if (l.state === 'blocked' || l.mode !== 'exclusive' || l.session === me || l.holderStatus === 'stale') continue;
    const touched = files.filter((f) => patternsOverlap(l.path, f));
    if (touched.length === 0) continue;
    hits.push(`${touched.slice(0, 5).join(', ')}${touched.length > 5 ? ` (+${touched.length - 5})` : ''}: locked by ${describeLock(l).slice(l.path.length + 4)}`);
  }
  if (hits.length === 0) return 0;
  process.stderr.write(`huddle guard: this commit touches files another session holds locked:\n${hits.map((h) => `  ${h}`).join('\n')}\nAsk the holder to release them (huddle send), wait, or commit with --no-verify to skip the check.\n`);
  return 1;
}

export function registerGuard(program: Command): void {
  program
    .command('guard')
    .description('Git pre-commit check: refuse a commit touching files exclusively locked by another live session.')
    .argument('[files...]', 'check these repository-relative paths instead of the staged files')
    .addHelpText('after', `
Examples:
  $ huddle guard                     # the staged files, as the pre-commit hook runs it
  $ huddle guard src/api.ts          # these files instead

huddle init installs it as .git/hooks/pre-commit. Exit 1 when a staged file is locked by another
live session (the holder is named on stderr); 0 otherwise, and 0 with a note when no server answers.`)
    .action(async (files: string[], _opts: unknown, cmd: Command) => {
      process.exitCode = await runGuard({ ...(cmd.optsWithGlobals() as GuardFlags), files });
    });
}
