/**
 * What the whole dashboard page shares: the sections it renders, the address
 * it was opened with (project, token), the server's answers (access, presence
 * timeout, projects), the project on screen, and the timing figures the
 * browser test reads.
 */
import type { Live } from './live.js';

export type Access = 'none' | 'read' | 'write';

export type Section = 'header' | 'sessions' | 'locks' | 'overlaps' | 'tasks' | 'syncs' | 'report' | 'messages' | 'decisions' | 'interfaces' | 'notes' | 'versions' | 'timeline';

/** Sections that show one kind of record each. */
export const KIND_SECTIONS = new Set<Section>(['tasks', 'messages', 'decisions', 'interfaces', 'notes']);

export const ALL: Section[] = ['header', 'sessions', 'locks', 'overlaps', 'tasks', 'syncs', 'report', 'messages', 'decisions', 'interfaces', 'notes', 'versions', 'timeline'];

export interface ProjectInfo {
  name: string;
  loaded?: boolean;
  /** Has a stored document (something was ever written to it). */
  stored?: boolean;
  sessions?: number;
}

export const pageUrl = new URL(location.href);

export const token = pageUrl.searchParams.get('token') || undefined;

export const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;

/** Timing, read by the browser test and handy in the console. */
export const stats = { firstLiveRenderMs: null as number | null, renders: 0, renderMsTotal: 0, renderMsMax: 0, marks: {} as Record<string, number> };

export const timing = (name: string) => (stats.marks[name] ??= Math.round(performance.now()));
timing('script');
(window as unknown as { __huddle: typeof stats }).__huddle = stats;

/** The page's mutable state, one object so that every module reads and sets the same. */
export const state = {
  access: 'read' as Access,
  presenceTimeoutMs: 30_000,
  projects: [] as ProjectInfo[],
  current: null as Live | null,
  timelineLimit: 200,
};

/** After a drop, "reconnecting…" this long, then "offline as of TIME". */
export const RECONNECTING_MS = 2000;

export async function api<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}
