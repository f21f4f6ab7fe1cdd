/**
 * Where a hook's project, root and policy come from, and what the server may read to
 * find them (issue 13 §2). A hook request names its cwd; the server resolves the
 * project from `.huddle/config.json` and the git metadata found from there, as the CLI
 * does. So that a request cannot make the server read files wherever it likes, that
 * lookup happens only for a cwd inside
 *
 * - a hook root the server was configured with (`--hook-root`, HUDDLE_HOOK_ROOTS; by
 *   default the home and temp folders of the user running the server and the folder it was
 *   started in; `*` is anywhere), or
 * - a repository the user wired with `huddle init` (src/node/known-repos.ts), or
 * - the working folder of a session the server hosts (one a CLI command or an earlier hook
 *   made known; not the file system's root nor a folder holding the home or a hook root),
 *
 * and never above that folder. The cwd is compared after resolving symbolic links (a link
 * inside a root to `/etc` is not inside the root). Any other cwd is refused (403) and
 * nothing under it is read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig, type ResolvedConfig } from '../src/node/config.js';
import type { HookEvent } from '../src/agents/event.js';
import { Lru } from './session-memory.js';

/** How long a resolved project config is reused for a cwd. */
const CONFIG_TTL_MS = 2000;

export class HookConfigError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface HookConfigSource {
  /** The configured hook roots (`*` for anywhere); empty: the defaults. */
  roots(): readonly string[];
  /** Working folders of the sessions the server hosts. */
  hostedFolders(): Iterable<string>;
  /** Repositories the user wired with `huddle init` (none when not given). */
  knownRepos?(): Iterable<string>;
}

/** Where the server process started: `npm start` / `huddle serve` run in the repository they serve. */
const startedIn = process.cwd();

/** The default hook roots: the server user's home and temp folders, and the folder it started in. */
export function defaultHookRoots(): string[] {
  return [os.homedir(), os.tmpdir(), startedIn].filter((d) => d && path.dirname(d) !== d);
}

/** Real paths of allowed folders, looked up again after a while (a hook call should not stat them all). */
const reals = new Lru<string, string | null>(5000, CONFIG_TTL_MS);

/** `dir` with symbolic links resolved, or null when it does not exist. */
function real(dir: string, cached = false): string | null {
  if (cached) {
    const hit = reals.get(dir);
    if (hit !== undefined) return hit;
  }
  let r: string | null;
  try {
    r = fs.realpathSync.native(dir);
  } catch {
    r = null;
  }
  if (cached) reals.set(dir, r);
  return r;
}

const inside = (dir: string, root: string) => dir === root || dir.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

export class HookConfigs {
  private readonly cache = new Lru<string, ResolvedConfig>(2000, CONFIG_TTL_MS);

  constructor(private readonly source: HookConfigSource) {}

  /**
   * The folder a lookup from `cwd` may not climb above, or null when `cwd` is in none of the
   * allowed folders (then nothing may be read for it). `undefined`: anywhere (`*`).
   */
  ceilingFor(cwd: string): string | null | undefined {
    const configured = this.source.roots();
    if (configured.includes('*')) return undefined;
    const dir = real(cwd);
    if (!dir) return null;
    // The innermost allowed folder that holds the cwd: the lookup never climbs above it.
    let best: string | null = null;
    const consider = (f: string) => {
      if (!path.isAbsolute(f)) return;
      const r = real(f, true);
      if (r && inside(dir, r) && (best === null || r.length > best.length)) best = r;
    };
    const roots = configured.length ? configured : defaultHookRoots();
    for (const f of roots) consider(f);
    for (const f of this.source.knownRepos?.() ?? []) consider(f);
    if (best !== null) return best;
    // A hosted session's folder is what a client said (a write credential); one as broad as the file
    // system's root, or a folder that holds the home or a hook root, says nothing and is not taken.
    // It only opens a cwd that no root holds, and the outermost one counts: a session started in a
    // subfolder (Codex runs hooks in the session's cwd) must still find the .huddle/ above it, and its
    // own folder would otherwise become the ceiling once the cache expired (its project lost mid-run).
    const broad = [os.homedir(), ...roots].filter((r) => path.isAbsolute(r)).map((r) => real(r, true) ?? path.resolve(r));
    for (const f of this.source.hostedFolders()) {
      const r = path.isAbsolute(f) ? real(f, true) : null;
      if (r && path.dirname(r) !== r && !broad.some((b) => inside(b, r)) && inside(dir, r) && (best === null || r.length < best.length)) best = r;
    }
    return best;
  }

  /** Resolve the project, root and policy for an event's cwd, as the CLI does (cached briefly). */
  resolve(ev: HookEvent): ResolvedConfig {
    const key = `${ev.cwd}\u0000${ev.session}\u0000${ev.role ?? ''}\u0000${ev.name ?? ''}\u0000${ev.project ?? ''}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const ceiling = this.ceilingFor(ev.cwd);
    if (ceiling === null) {
      throw new HookConfigError(403, `cwd ${JSON.stringify(ev.cwd.slice(0, 200))} is outside the folders this server answers hooks for (start it with --hook-root to add one)`);
    }
    // Only the hook's own facts count, never the server process's environment.
    const env: NodeJS.ProcessEnv = { HUDDLE_SESSION: ev.session, HUDDLE_AGENT: ev.agent, HUDDLE_ROLE: ev.role, HUDDLE_PROJECT: ev.project, HUDDLE_NAME: ev.name };
    let cfg: ResolvedConfig;
    try {
      // From the real folder, so that the lookup stays under the ceiling it was checked against.
      cfg = resolveConfig({}, ceiling === undefined ? ev.cwd : real(ev.cwd) ?? ev.cwd, env, { ceiling });
    } catch (err) {
      throw new HookConfigError(400, (err as Error).message);
    }
    this.cache.set(key, cfg);
    return cfg;
  }
}
