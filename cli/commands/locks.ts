/** `huddle lock`, `huddle unlock`, `huddle locks`, and `huddle lock PATH -- CMD…` (like flock). */
import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Command } from 'commander';
import { contextOf, parseDuration, readState, repoPath, storedNote, writeOp, type Ctx } from '../common.js';
import { ExitError, EXIT_LOCKED, usageError } from '../errors.js';
import { ago, c, clock, heading, json, out, table } from '../format.js';
import { LOCK_HEADER, lockRows, sourceLine } from './peek.js';
import type { LockView } from '../../src/model/view.js';
import type { LockClaim } from '../../src/model/locks.js';

type AcquireResult =
  | { status: 'confirmed' | 'unconfirmed'; paths: string[]; claims: LockClaim[] }
  | { status: 'held'; paths: string[]; holder: LockView };

interface LockOpts {
  shared?: boolean;
  reason?: string;
  ttl?: string;
  wait?: string;
  json?: boolean;
}

/** "src/a.ts is locked by alice (frontend) since 12:03:04 (2 min ago): reason" */
export function heldMessage(h: LockView, now = Date.now()): string {
  return `${h.path} is locked by ${h.sessionName} (${h.role}${h.session !== h.sessionName ? `, session ${h.session}` : ''}) since ${clock(h.claimedAt, now)} (${ago(h.claimedAt, now)})` +
    (h.reason ? `: "${h.reason}"` : ', no reason given') + `; ${h.mode}, expires ${ago(h.expiresAt, now)}`;
}

async function acquire(ctx: Ctx, paths: string[], opts: LockOpts): Promise<{ r: AcquireResult; ttlMs: number | undefined }> {
  const ttlMs = opts.ttl !== undefined ? parseDuration(opts.ttl, '--ttl') : undefined;
  const waitMs = opts.wait !== undefined ? parseDuration(opts.wait, '--wait') : 0;
  if (ttlMs !== undefined && (ttlMs < 1000 || ttlMs > 24 * 3600_000)) throw usageError('--ttl must be between 1s and 24h');
  if (waitMs > 10 * 60_000) throw usageError('--wait must be at most 10m');
  const { result } = await writeOp(ctx, 'lock', { paths, mode: opts.shared ? 'shared' : 'exclusive', reason: opts.reason, ttlMs, waitMs }, waitMs + 15_000);
  if (result.status === 'held') {
    if (opts.json) json(result);
    throw new ExitError(EXIT_LOCKED, heldMessage(result.holder));
  }
  return { r: result, ttlMs };
}

/**
 * The claims just taken as lock records, like `huddle locks --json` lists them: the server answers
 * with bare claims, whose holder is this session.
 */
function claimsAsLocks(ctx: Ctx, claims: LockClaim[]): Array<LockClaim & Record<string, unknown>> {
  const { id, name, role } = ctx.cfg.session;
  return claims.map((x) => ({
    ...x,
    by: id,
    byName: name ?? id,
    role: role ?? 'agent',
    state: x.confirmed ? 'held' : 'pending',
    blockedBy: null,
    holderStatus: 'active',
  }));
}

function reportAcquired(ctx: Ctx, r: AcquireResult, opts: LockOpts, quietJson = false): void {
  // Around a command, huddle's own lines go to stderr so that the command's stdout stays its own.
  const w = (s: string) => (quietJson ? process.stderr : process.stdout).write(s);
  if (r.status === 'held') return;
  if (opts.json) {
    if (!quietJson) json({ ...r, claims: claimsAsLocks(ctx, r.claims) });
    return;
  }
  const exp = Math.min(...r.claims.map((x) => x.expiresAt));
  const what = `${r.paths.join(', ')} (${opts.shared ? 'shared' : 'exclusive'}, until ${clock(exp)})`;
  if (r.status === 'confirmed') w(`locked ${what}; stored\n`);
  else w(`${c.yellow('claimed')} ${what}, but not confirmed by the relay yet (it is offline); others may not see it\n`);
}

/** Run argv while holding the lock; exit with its code, or re-raise its signal, after releasing. */
async function runLocked(ctx: Ctx, paths: string[], argv: string[], opts: LockOpts): Promise<never> {
  // The handlers come first: a signal while the lock is being taken (or waited for) must not kill
  // huddle with the lock granted on the server and nobody to release it.
  let received: NodeJS.Signals | null = null;
  let child: ReturnType<typeof spawn> | null = null;
  const alive = () => child !== null && child.exitCode === null && child.signalCode === null;
  const forward = (sig: NodeJS.Signals) => () => {
    if (child === null) {
      // A second signal before the command started: quit now (a long --wait may be what is interrupted).
      if (received !== null) process.exit(128 + os.constants.signals[sig]);
      received = sig;
      process.stderr.write(`huddle: ${sig}: not running the command; the lock is released once its request returns (again to quit now)\n`);
      return;
    }
    received = sig;
    // Ctrl-C on a terminal already reached the command (same process group): give it a moment
    // before passing the signal on, so that it does not get it twice.
    if (sig === 'SIGINT' && process.stdin.isTTY) setTimeout(() => alive() && child!.kill(sig), 250).unref();
    else if (alive()) child.kill(sig);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const handlers = signals.map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);

  // Locks this session held before stay held afterwards: only what this run took is released.
  const before = new Set((await readState(ctx)).locks.filter((l) => l.session === ctx.cfg.session.id).map((l) => l.path));
  const { r, ttlMs } = await acquire(ctx, paths, opts);
  const held = r.paths.filter((p) => !before.has(p));
  if (received !== null) {
    const sig: NodeJS.Signals = received;
    if (held.length) {
      await ctx.api.op('unlock', { paths: held }, { timeoutMs: 5000 }).then(
        () => process.stderr.write(`released ${held.join(', ')}\n`),
        (err: Error) => process.stderr.write(`huddle: could not release ${held.join(', ')}: ${err.message}\n`),
      );
    }
    // Exit by the signal, as after a command.
    for (const [s, h] of handlers) process.off(s, h);
    process.kill(process.pid, sig);
    await new Promise((r) => setTimeout(r, 1000));
    process.exit(128 + os.constants.signals[sig]);
  }
  reportAcquired(ctx, r, opts, true);
  child = spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
  // Keep the lock and the session alive while the command runs.
  const ttl = ttlMs ?? 30 * 60_000;
  const every = Math.max(1000, Math.min(60_000, Math.floor(ttl / 3)));
  const renew = setInterval(() => {
    ctx.api.op('renew', { paths: held, ttlMs }).catch((err: Error) => process.stderr.write(`huddle: could not renew the lock: ${err.message}\n`));
  }, every);

  const started = child;
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    started.once('error', (error) => resolve({ code: 127, signal: null, error }));
    started.once('exit', (code, signal) => resolve({ code, signal }));
  });
  clearInterval(renew);
  let releaseFailed = false;
  try {
    if (held.length) await ctx.api.op('unlock', { paths: held }, { timeoutMs: 5000 });
  } catch (err) {
    releaseFailed = true;
    process.stderr.write(`huddle: could not release ${held.join(', ')}: ${(err as Error).message}\n`);
  }
  if (!opts.json && !releaseFailed && held.length) process.stderr.write(`released ${held.join(', ')}\n`);
  if (outcome.error) throw new ExitError(127, `cannot run ${argv[0]}: ${outcome.error.message}`);
  const sig = outcome.signal ?? received;
  if (outcome.signal) {
    // Exit the way the command did: by the same signal.
    for (const [s, h] of handlers) process.off(s, h);
    process.kill(process.pid, outcome.signal);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const n = sig ? os.constants.signals[sig] : 0;
  process.exit(outcome.code ?? 128 + n);
}

export function registerLocks(program: Command): void {
  program
    .command('lock')
    .description('Take advisory locks on files or globs; with -- CMD, hold them only while CMD runs (like flock).')
    .argument('<paths...>', 'files or globs, relative to the working directory')
    .option('--shared', 'a shared lock (others may share it; exclusive claims wait)')
    .option('--reason <text>', 'why, shown to whoever it blocks')
    .option('--ttl <duration>', 'lapses unless renewed after this long (e.g. 30m, 2h; default 30m)')
    .option('--wait <duration>', 'wait up to this long for the holder to release (e.g. 30s; default: answer at once)')
    .option('--json', 'print the result as JSON')
    .usage('[options] <paths...> [-- CMD ARGS...]')
    .addHelpText('after', `
Examples:
  $ huddle lock src/api/users.ts --reason "changing the user schema"
  $ huddle lock 'src/db/**' --ttl 2h --wait 30s
  $ huddle lock package.json -- npm install zod     # held only while npm runs

With -- CMD, the command's exit code is huddle's; the lock is released on every exit path
(success, failure, SIGINT/SIGTERM: the signal is passed to CMD first) and renewed while CMD runs.
Exit codes: 0 locked, 3 held by another session (who, since when, why), 2 no server, 1 usage.`)
    .action(async (rawPaths: string[], opts: LockOpts, cmd: Command) => {
      const dd = process.argv.indexOf('--');
      const argv = dd >= 0 ? process.argv.slice(dd + 1) : [];
      const pathArgs = argv.length ? rawPaths.slice(0, rawPaths.length - argv.length) : rawPaths;
      if (dd >= 0 && argv.length === 0) throw usageError('nothing to run after --');
      if (pathArgs.length === 0) throw usageError('no path to lock');
      const ctx = contextOf(cmd);
      const paths = pathArgs.map((p) => repoPath(ctx.cfg, p));
      if (argv.length) await runLocked(ctx, paths, argv, opts);
      const { r } = await acquire(ctx, paths, opts);
      reportAcquired(ctx, r, opts);
    });

  program
    .command('unlock')
    .description('Release your locks; with --force, release another session\'s (it is told).')
    .argument('[paths...]', 'files or globs, as they were locked')
    .option('--all', 'release every lock you hold')
    .option('--force', 'release locks held by other sessions (use when a holder is gone or stuck)')
    .option('--reason <text>', 'why, with --force (sent to the holder)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  $ huddle unlock src/api/users.ts
  $ huddle unlock --all
  $ huddle unlock 'src/db/**' --force --reason "holder crashed"`)
    .action(async (rawPaths: string[], opts: { all?: boolean; force?: boolean; reason?: string; json?: boolean }, cmd: Command) => {
      if (!rawPaths.length && !opts.all) throw usageError('name the paths to unlock, or use --all');
      if (rawPaths.length && opts.all) throw usageError('give paths or --all, not both');
      if (opts.all && opts.force) throw usageError('--force needs the paths');
      const ctx = contextOf(cmd);
      const paths = rawPaths.map((p) => repoPath(ctx.cfg, p));
      const { result, local } = await writeOp(ctx, 'unlock', { paths: opts.all ? undefined : paths, force: Boolean(opts.force), reason: opts.reason });
      if (!opts.force && result.released.length === 0 && paths.length) {
        // Nothing of ours: say whose it is, if anyone's.
        const s = await readState(ctx);
        const theirs = s.locks.find((l) => paths.includes(l.path) && l.session !== ctx.cfg.session.id);
        if (opts.json) json(result);
        if (theirs) throw new ExitError(EXIT_LOCKED, `${heldMessage(theirs)}; not yours to release (use --force)`);
        if (!opts.json) out(`you hold no lock on ${paths.join(', ')}`);
        return;
      }
      if (opts.json) return json(result);
      const parts = [];
      if (result.released.length) parts.push(`released ${result.released.join(', ')}`);
      if (result.forced?.length) parts.push(`force-released ${result.forced.join(', ')}`);
      if (!parts.length) parts.push('you held no locks');
      out(`${parts.join('; ')}; ${storedNote(local)}`);
    });

  program
    .command('locks')
    .description('Every lock in force: path, mode, holder, since when, why.')
    .option('--json', 'print the locks as a JSON array')
    .option('--mine', 'only the locks you hold')
    .addHelpText('after', `
Examples:
  $ huddle locks
  $ huddle locks --json | jq -r '.[].path'`)
    .action(async (opts: { json?: boolean; mine?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const s = await readState(ctx);
      const locks = opts.mine ? s.locks.filter((l) => l.session === ctx.cfg.session.id) : s.locks;
      if (opts.json) return json(locks);
      let o = s.source === 'offline' ? sourceLine(s, ctx.cfg.url) + c.dim('locks live in presence: unknown while offline\n') : '';
      if (s.source !== 'offline') o += locks.length ? heading('Locks', locks.length) + table(lockRows(locks, s.at), '  ', LOCK_HEADER) : 'no locks\n';
      out(o);
    });
}
