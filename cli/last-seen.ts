/**
 * The last known truth when the server is away: every live read of the state
 * keeps its sessions and locks in a small per-user cache file
 * ($XDG_CACHE_HOME/huddle/last-seen/, else ~/.cache/huddle/last-seen/), and a
 * read with the server down shows them, marked as of when they were seen,
 * instead of "nobody here". The file is read through a schema: a damaged one
 * is ignored.
 */
import fs from 'node:fs';
import path from 'node:path';
// zod/mini: this module is part of every command's start-up.
import * as z from 'zod/mini';
import type { Snapshot } from '../src/model/snapshot.js';
import type { LockView, SessionView } from '../src/model/view.js';

// Built on first use: only a read with the server away needs them.
const makeSchema = () => {
  const session = z.looseObject({ id: z.string(), name: z.string(), role: z.string(), status: z.string(), lastActive: z.number(), locks: z.array(z.string()) });
  const lock = z.looseObject({ id: z.string(), path: z.string(), mode: z.string(), state: z.string(), session: z.string(), sessionName: z.string(), role: z.string(), claimedAt: z.number(), expiresAt: z.number() });
  return z.object({ v: z.literal(1), at: z.number(), url: z.string(), project: z.string(), sessions: z.array(session).check(z.maxLength(1000)), locks: z.array(lock).check(z.maxLength(5000)) });
};
let fileSchema: ReturnType<typeof makeSchema> | undefined;

export type LastSeen = { at: number; sessions: SessionView[]; locks: LockView[] };

export function lastSeenDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'huddle', 'last-seen');
  if (env.HOME && path.isAbsolute(env.HOME)) return path.join(env.HOME, '.cache', 'huddle', 'last-seen');
  return null;
}

function fileOf(url: string, project: string, env: NodeJS.ProcessEnv): string | null {
  const dir = lastSeenDir(env);
  if (!dir) return null;
  const where = url.replace(/^wss?:\/\//, '').replace(/[^A-Za-z0-9._-]+/g, '_');
  return path.join(dir, `${project}@${where}.json`);
}

/** Keep what a live read saw (best effort: a read never fails because of the cache). */
export function saveLastSeen(url: string, snap: Snapshot, env: NodeJS.ProcessEnv = process.env): void {
  if (snap.source !== 'live') return;
  const file = fileOf(url, snap.project, env);
  if (!file) return;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ v: 1, at: snap.at, url, project: snap.project, sessions: snap.sessions, locks: snap.locks }));
    fs.renameSync(tmp, file);
    prune(path.dirname(file));
  } catch {
    /* a read-only home: no cache */
  }
}

/** Keep the folder small: the most recently seen MAX_FILES projects. */
const MAX_FILES = 50;

function prune(dir: string): void {
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.json'));
  if (names.length <= MAX_FILES) return;
  const byAge = names.map((n) => ({ n, t: fs.statSync(path.join(dir, n)).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const { n } of byAge.slice(MAX_FILES)) fs.rmSync(path.join(dir, n), { force: true });
}

export function loadLastSeen(url: string, project: string, env: NodeJS.ProcessEnv = process.env): LastSeen | null {
  const file = fileOf(url, project, env);
  if (!file) return null;
  try {
    const r = (fileSchema ??= makeSchema()).safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    if (!r.success || r.data.project !== project) return null;
    return { at: r.data.at, sessions: r.data.sessions as unknown as SessionView[], locks: r.data.locks as unknown as LockView[] };
  } catch {
    return null;
  }
}

/** A snapshot with nothing but the last seen presence (no replica to read the rest from). */
export function presenceOnlySnapshot(project: string, seen: LastSeen): Snapshot {
  return {
    project, at: Date.now(), source: 'offline', asOf: seen.at, presenceAsOf: seen.at, upstream: null,
    sessions: seen.sessions, watchers: 0, locks: seen.locks,
    tasks: { open: [], claimed: [], blocked: [], doneRecently: [] }, decisions: [], interfaces: [], requests: [], inbox: null, conflicts: [], notes: [], timeline: [],
  };
}
