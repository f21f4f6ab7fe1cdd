/**
 * What every command of the huddle command shares: the resolved configuration
 * and API client from the global options, reads with the offline fallback,
 * writes that say where they were stored, durations and repository paths.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, configWarnings, resolveConfig, type ConfigFlags, type ResolvedConfig } from './config.js';
import { ApiClient, ApiFailure, UnreachableError } from './client.js';
import { ExitError, EXIT_UNREACHABLE, EXIT_USAGE, usageError } from './errors.js';
import { repoRelative } from '../src/node/repo.js';
import { userStateDir } from '../src/node/server-file.js';
import { loadLastSeen, presenceOnlySnapshot, saveLastSeen } from './last-seen.js';
import type { Snapshot } from '../src/model/snapshot.js';
import type { OpArgs, OpName, OpResult } from '../src/ops/table.js';

export interface Ctx {
  cfg: ResolvedConfig;
  api: ApiClient;
}

/** The configuration and client for a command, from its global options (flags > env > config file > defaults). */
export function contextOf(cmd: Command): Ctx {
  const g = cmd.optsWithGlobals() as ConfigFlags;
  let cfg: ResolvedConfig;
  try {
    cfg = resolveConfig({ url: g.url, project: g.project, token: g.token, session: g.session, role: g.role });
  } catch (err) {
    if (err instanceof ConfigError) throw new ExitError(EXIT_USAGE, err.message);
    throw err;
  }
  for (const w of configWarnings(cfg)) process.stderr.write(`huddle: warning: ${w}\n`);
  // A default role must not overwrite the role a session already has (set by a flag, the environment or a hook).
  const session = cfg.sources.role === 'default' && !cfg.session.id.startsWith('human@') ? { ...cfg.session, role: undefined } : cfg.session;
  return { cfg, api: new ApiClient({ ...cfg, session }) };
}

/**
 * The local server's replica folder, when it exists: HUDDLE_DATA, a project-local
 * `.huddle/data` (where servers kept it before), else the per-user state folder.
 */
export function replicaDir(cfg: ResolvedConfig, env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [env.HUDDLE_DATA, path.join(cfg.root, '.huddle', 'data'), userStateDir(env)];
  for (const dir of dirs) if (dir && fs.existsSync(path.join(dir, 'CURRENT'))) return dir;
  return null;
}

/** An operation the replica refused (cli/offline.ts's OfflineRefusal, from its own bundle: no instanceof) as the server's refusal. */
function refusal(e: unknown): ApiFailure | null {
  const r = e as { status?: unknown; code?: unknown; message?: unknown };
  return typeof r?.status === 'number' && r.status > 0 ? new ApiFailure(r.status, String(r.message), typeof r.code === 'string' ? r.code : 'error') : null;
}

function unreachable(err: UnreachableError, extra?: string): ExitError {
  return new ExitError(EXIT_UNREACHABLE, extra ? `${err.message} (${extra})` : err.message);
}

/**
 * The state, from the server; when no server answers and a local replica
 * exists, from the replica (source 'offline', asOf its last write).
 */
export async function readState(ctx: Ctx): Promise<Snapshot> {
  let err: unknown;
  try {
    const snap = await ctx.api.state();
    saveLastSeen(ctx.cfg.url, snap);
    return snap;
  } catch (e) {
    err = e;
  }
  if (!(err instanceof UnreachableError)) throw err;
  // Server away: the replica's documents, and the sessions and locks last seen live (as of then).
  const seen = loadLastSeen(ctx.cfg.url, ctx.cfg.project);
  const dir = replicaDir(ctx.cfg);
  if (!dir) {
    if (seen) return presenceOnlySnapshot(ctx.cfg.project, seen);
    throw unreachable(err);
  }
  const { offlineSnapshot } = await import('./offline.js');
  let snap: Snapshot;
  try {
    snap = await offlineSnapshot(ctx.cfg, dir);
  } catch (e) {
    if (seen) return presenceOnlySnapshot(ctx.cfg.project, seen);
    throw unreachable(err, `the replica in ${dir} could not be read: ${(e as Error).message}`);
  }
  return seen ? { ...snap, sessions: seen.sessions, locks: seen.locks, presenceAsOf: seen.at } : snap;
}

/** A read operation of the API, with the same offline fallback as readState. */
export async function readOp<N extends OpName>(ctx: Ctx, name: N, args: OpArgs<N> = {}): Promise<{ result: OpResult<N>; offline: number | null }> {
  try {
    return { result: await ctx.api.op(name, args), offline: null };
  } catch (err) {
    if (!(err instanceof UnreachableError)) throw err;
    const dir = replicaDir(ctx.cfg);
    if (!dir) throw unreachable(err);
    const { offlineOp } = await import('./offline.js');
    try {
      return await offlineOp<OpResult<N>>(ctx.cfg, dir, name, args);
    } catch (e) {
      throw refusal(e) ?? unreachable(err, `the replica in ${dir} could not be read: ${(e as Error).message}`);
    }
  }
}

/**
 * A write operation: resolves once the server has stored it. With no server
 * and a local replica (a context write, not presence), it is stored in the
 * replica and reported as stored locally only.
 */
export async function writeOp<N extends OpName>(ctx: Ctx, name: N, args: OpArgs<N> = {}, timeoutMs?: number): Promise<{ result: OpResult<N>; local: boolean }> {
  try {
    return { result: await ctx.api.op(name, args, { timeoutMs }), local: false };
  } catch (err) {
    if (!(err instanceof UnreachableError)) throw err;
    const dir = replicaDir(ctx.cfg);
    if (!dir) throw unreachable(err);
    // Operations that need the session's live presence cannot be stored in a replica.
    const { offlineOp, runsOffline } = await import('./offline.js');
    if (!runsOffline(name)) throw unreachable(err);
    try {
      const { result } = await offlineOp<OpResult<N>>(ctx.cfg, dir, name, args, true);
      return { result, local: true };
    } catch (e) {
      throw refusal(e) ?? unreachable(err, `the replica in ${dir} could not be written: ${(e as Error).message}`);
    }
  }
}

/** The word a write ends with. */
export function storedNote(local: boolean): string {
  return local ? 'stored locally only (server offline)' : 'stored';
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3600_000, d: 86400_000 };

/** "30s", "30m", "2h", "1h30m", "500ms", "0" as milliseconds; a clear usage error otherwise. */
export function parseDuration(v: string, name: string): number {
  const s = v.trim().toLowerCase();
  if (s === '0') return 0;
  if (/^\d+(\.\d+)?$/.test(s)) throw usageError(`${name}: "${v}" needs a unit, e.g. 30s, 30m or 2h`);
  const re = /(\d+(?:\.\d+)?)(ms|sec|min|s|m|h|d)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * UNITS[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== s.length || s.length === 0) throw usageError(`${name}: "${v}" is not a duration; use a number with ms, s, m, h or d, e.g. 30s, 30m, 2h`);
  return Math.round(total);
}

/** A path or glob given on the command line (relative to the working directory) as repository-relative. */
export function repoPath(cfg: ResolvedConfig, p: string): string {
  if (p.trim() === '') throw usageError('empty path');
  const rel = repoRelative(cfg.root, p, process.cwd());
  if (rel === null) throw usageError(`${p} is outside the repository (${cfg.root})`);
  return rel;
}

/** Collect repeatable option values. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
