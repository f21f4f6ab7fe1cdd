/**
 * Where a session can be useful, as facts: open tasks for its role whose
 * dependencies are done and that nobody holds, areas of the repository nobody
 * is editing or holding, and what the others are on. Never a choice made for
 * the agent: the text lists, it does not tell.
 *
 * Areas are folders: the first folder of a path, or its first two for the
 * folders that usually hold everything (src, packages, apps, ...), so
 * `src/payments/api.ts` is in `src/payments/` and `relay/hooks.ts` in
 * `relay/`. They come from what huddle has seen (locks, edits, declared
 * interfaces, handoff and sync files, paths named in tasks and the timeline),
 * plus whatever folders the caller lists (the CLI lists the repository's own;
 * the server never reads the file system because a request named a path).
 *
 * Pure: callers pass the facts.
 */
import type { SharedContext, Task } from './context.js';
import type { LockView, PresenceView, SessionView } from './view.js';
import { patternsOverlap } from './paths.js';
import { shortId } from './ids.js';

/** Folders that are split one level further into areas. */
export const AREA_CONTAINERS = new Set(['src', 'lib', 'packages', 'apps', 'app', 'services', 'pkg', 'internal', 'cmd', 'crates', 'modules', 'components']);
/** Folders that are never an area (build output, dependencies). */
export const AREA_IGNORED = new Set(['node_modules', 'dist', 'build', 'coverage', 'out', 'target', 'vendor', '__pycache__']);
const MAX_AREAS = 200;

export interface SuggestMe {
  id: string;
  name: string;
  role: string;
}

export interface Suggestions {
  me: SuggestMe;
  /** Open tasks for this role (or for any role), dependencies done, nobody on them; oldest first. */
  tasks: Array<{ id: string; title: string; role?: string; handoffFrom?: string; orphanedFrom?: string }>;
  /** Open tasks for this role still waiting on dependencies. */
  waiting: number;
  /** What each other live session is on. */
  others: Array<{ id: string; name: string; role: string; status: string; task: string | null; intent: string | null; holds: string[]; editing: string[] }>;
  /** Known areas nobody edits or holds a lock in (trailing slash). */
  freeAreas: string[];
  /** Known areas someone edits or holds, with who. */
  busyAreas: Array<{ area: string; by: string[] }>;
}

export interface SuggestInput {
  me: SuggestMe;
  /** All tasks (any status: dependencies are looked up here). */
  tasks: Task[];
  sessions: SessionView[];
  locks: LockView[];
  /** Paths huddle has seen (interfaces, handoffs, timeline...), areas are derived from them. */
  seenPaths?: string[];
  /** Folders the caller knows exist (e.g. `src/payments`), taken as areas as they are. */
  areas?: string[];
}

const GLOB = /[*?[\]{}]/;

/** The area of a repository path or glob, without trailing slash; null for root files and bare names. */
export function areaOf(p: string): string | null {
  const segs = p.replace(/^\.?\/+/, '').split('/').filter(Boolean);
  const globAt = segs.findIndex((s) => GLOB.test(s));
  const dirs = globAt >= 0 ? segs.slice(0, globAt) : segs.slice(0, -1);
  if (dirs.length === 0 || dirs.some((d) => d === '..' || d.startsWith('.')) || AREA_IGNORED.has(dirs[0])) return null;
  return AREA_CONTAINERS.has(dirs[0]) && dirs.length >= 2 ? `${dirs[0]}/${dirs[1]}` : dirs[0];
}

/** Path-like words of a text ("see src/payments/ and web/app.ts"): a slash inside, no spaces, no URL. */
export function pathHints(text: string | undefined): string[] {
  if (!text) return [];
  const out: string[] = [];
  for (const w of text.split(/[\s,;()"'`<>]+/).slice(0, 200)) {
    const t = w.replace(/[.:!?]+$/, '');
    if (t.length < 3 || t.length > 200 || !t.includes('/') || t.includes('://') || t.startsWith('/') || t.startsWith('role:')) continue;
    if (!/^[\w.*?\-/[\]{}@+]+$/.test(t)) continue;
    out.push(t.endsWith('/') ? `${t}x` : t);
  }
  return out;
}

const touches = (pattern: string, area: string) => {
  try {
    return patternsOverlap(pattern, `${area}/**`);
  } catch {
    return false;
  }
};

export function suggest(input: SuggestInput): Suggestions {
  const { me } = input;
  const byId = new Map(input.tasks.map((t) => [t.id, t]));
  const depsDone = (t: Task) => t.deps.every((d) => !byId.has(d) || byId.get(d)!.status === 'done');
  const mine = input.tasks.filter((t) => t.status === 'open' && !t.assignee && (!t.role || t.role === me.role));
  const ready = mine.filter(depsDone);
  const live = input.sessions.filter((s) => s.id !== me.id && s.status !== 'stale');
  const others = live
    .slice()
    .sort((a, b) => b.lastActive - a.lastActive)
    .map((s) => ({ id: s.id, name: s.name, role: s.role, status: s.status, task: s.task, intent: s.intent, holds: s.locks.slice(0, 8), editing: (s.editing ?? []).map((e) => e.path).slice(-8) }));
  // Who is where: held locks (not blocked ones) and files being edited by live sessions, this one included.
  const occupied: Array<{ path: string; who: string }> = [];
  const names = new Map(input.sessions.map((s) => [s.id, s.id === me.id ? `${s.name} (this session)` : s.name]));
  for (const l of input.locks) if (l.state !== 'blocked') occupied.push({ path: l.path, who: names.get(l.session) ?? l.sessionName });
  for (const s of input.sessions) if (s.status !== 'stale') for (const e of s.editing ?? []) occupied.push({ path: e.path, who: names.get(s.id) ?? s.name });
  const areas = new Set<string>();
  for (const a of input.areas ?? []) {
    const t = a.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    if (t && !t.split('/').some((x) => x === '..' || x.startsWith('.'))) areas.add(t);
  }
  for (const p of [...(input.seenPaths ?? []), ...occupied.map((o) => o.path), ...input.tasks.flatMap((t) => [...pathHints(t.title), ...pathHints(t.detail)])]) {
    if (areas.size >= MAX_AREAS) break;
    const a = areaOf(p);
    if (a) areas.add(a);
  }
  const freeAreas: string[] = [];
  const busyAreas: Suggestions['busyAreas'] = [];
  for (const a of Array.from(areas).sort()) {
    const by = Array.from(new Set(occupied.filter((o) => touches(o.path, a)).map((o) => o.who)));
    if (by.length) busyAreas.push({ area: `${a}/`, by });
    else freeAreas.push(`${a}/`);
  }
  return {
    me,
    tasks: ready.map((t) => ({ id: t.id, title: t.title, ...(t.role ? { role: t.role } : {}), ...(t.handoff ? { handoffFrom: t.handoff.fromName } : {}), ...(t.orphaned ? { orphanedFrom: t.orphaned.fromName } : {}) })),
    waiting: mine.length - ready.length,
    others,
    freeAreas,
    busyAreas,
  };
}

const clip = (s: string, n: number) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length <= n ? t : `${t.slice(0, n - 1)}…`;
};

const list = (xs: string[], n: number) => (xs.length <= n ? xs.join(', ') : `${xs.slice(0, n).join(', ')} and ${xs.length - n} more`);

/**
 * The suggestions as a few lines of text (at most `max` characters), e.g.
 * "carol (frontend) is on the login form and holds src/components/**."
 * "Open for backend, dependencies done: t-3f2a rate limiting."
 * "Nobody is in src/payments/, web/."
 */
export function suggestText(s: Suggestions, max = 700, opts: { others?: boolean } = {}): string {
  const lines: string[] = [];
  for (const o of opts.others === false ? [] : s.others.slice(0, 4)) {
    const on = o.task ? `is on ${clip(o.task, 60)}` : o.intent ? `is ${clip(o.intent, 60)}` : `has no task (${o.status})`;
    const holds = o.holds.length ? ` and holds ${list(o.holds.map((h) => clip(h, 50)), 3)}` : '';
    lines.push(`${o.name} (${o.role}) ${on}${holds}.`);
  }
  if (opts.others !== false && s.others.length > 4) lines.push(`${s.others.length - 4} more sessions are here.`);
  const tasks = s.tasks.map((t) => `${shortId(t.id)} ${clip(t.title, 60)}${t.handoffFrom ? ` (handed off by ${t.handoffFrom})` : t.orphanedFrom ? ` (left by ${t.orphanedFrom})` : ''}`);
  if (tasks.length) lines.push(`Open for ${s.me.role}, dependencies done, nobody on them: ${list(tasks, 4)}.`);
  else lines.push(`No open task for ${s.me.role} is free to take${s.waiting ? ` (${s.waiting} ${s.waiting === 1 ? 'waits' : 'wait'} on dependencies)` : ''}.`);
  if (tasks.length && s.waiting) lines.push(`${s.waiting} more for ${s.me.role} ${s.waiting === 1 ? 'waits' : 'wait'} on dependencies.`);
  if (s.freeAreas.length) lines.push(`Nobody is editing or holding ${list(s.freeAreas, 8)}.`);
  let text = lines.join('\n');
  while (text.length > max && lines.length > 1) {
    lines.shift();
    text = lines.join('\n');
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Paths the shared context has seen: declared interfaces, handoff files, timeline refs that look like paths. */
export function seenPaths(ctx: SharedContext): string[] {
  const out: string[] = [];
  for (const i of ctx.interfaces()) out.push(i.file);
  for (const t of ctx.tasks()) if (t.handoff) out.push(...t.handoff.files);
  for (const e of ctx.timeline({ limit: 300 })) if (e.ref && e.ref.includes('/')) out.push(e.ref);
  return out.filter((p) => typeof p === 'string').slice(0, 2000);
}

/** Suggestions for a session from the shared context and a presence view. */
export function suggestionsFor(ctx: SharedContext, view: Pick<PresenceView, 'sessions' | 'locks'>, me: SuggestMe, areas?: string[]): Suggestions {
  return suggest({ me, tasks: ctx.tasks(), sessions: view.sessions, locks: view.locks, seenPaths: seenPaths(ctx), areas });
}

/**
 * The lines the SessionStart summary adds in place of its plain task list: free tasks and free
 * areas (the summary lists the others and their locks itself). Its budget is shared: short.
 */
export function suggestionLines(ctx: SharedContext, view: Pick<PresenceView, 'sessions' | 'locks'>, me: SuggestMe, max = 600): string[] {
  const text = suggestText(suggestionsFor(ctx, view, me), max, { others: false });
  return text ? text.split('\n') : [];
}
