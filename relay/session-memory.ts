/**
 * What the hook policy remembers between hook calls, in memory only and
 * bounded: per session (keyed by project and session id) what was already
 * injected, the files it touched with the lock state last reported, when its
 * presence was last published, and the last decisions by tool call id (a
 * call checked through two hook files answers the same and counts once);
 * per process id, which session's command hooks reported it (links an MCP
 * server to its session); per cwd, the resolved project configuration.
 * Every map is an LRU with a maximum size, so no caller can grow it without bound.
 */

/** A Map that forgets its least recently used entries past `max`, and entries older than `ttlMs`. */
export class Lru<K, V> {
  private readonly m = new Map<K, { v: V; at: number }>();
  constructor(private readonly max: number, private readonly ttlMs = Infinity) {}

  get(k: K, now = Date.now()): V | undefined {
    const e = this.m.get(k);
    if (!e) return undefined;
    if (now - e.at > this.ttlMs || now < e.at) {
      this.m.delete(k);
      return undefined;
    }
    // Refresh recency, not age.
    this.m.delete(k);
    this.m.set(k, e);
    return e.v;
  }

  set(k: K, v: V, now = Date.now()): void {
    this.m.delete(k);
    this.m.set(k, { v, at: now });
    while (this.m.size > this.max) this.m.delete(this.m.keys().next().value as K);
  }

  delete(k: K): void {
    this.m.delete(k);
  }

  get size(): number {
    return this.m.size;
  }
}

export interface SessionNotes {
  /** Messages and decisions already injected. */
  messages: Set<string>;
  decisions: Set<string>;
  /** Files the session touched, with the lock state last reported for each (holder key or ''). */
  touched: Map<string, string>;
  /** Whether a summary was injected since the session (re)started here. */
  introduced: boolean;
  /** When its presence was last republished by a hook (PreToolUse only notes a sign of life in between). */
  publishedAt: number;
  /** Recent pre-tool decisions by tool call id. */
  calls: Map<string, { at: number; channel?: string; decision: { deny?: string; warn?: string } }>;
  /** When a post-tool delivery last went out (the rate limit). */
  deliveredAt: number;
  /** Interface versions already known (name, time, status). */
  interfaces: Set<string>;
  /** Requests a stop was already held for (once each, never a loop). */
  stopHeld: Set<string>;
}

const MAX_SETS = 2000;
const MAX_CALLS = 64;

export class SessionMemory {
  private readonly sessions = new Lru<string, SessionNotes>(5000, 24 * 3600_000);
  /** pid → the session whose command hooks reported it; null when two sessions did (a shared shell). */
  private readonly pids = new Lru<number, { session: string | null; cwd: string | undefined }>(10_000, 24 * 3600_000);

  private key(project: string, id: string): string {
    return `${project}\u0000${id}`;
  }

  get(project: string, id: string): SessionNotes | undefined {
    return this.sessions.get(this.key(project, id));
  }

  /** The session's notes, created (not introduced yet) when there are none. */
  ensure(project: string, id: string): SessionNotes {
    return this.get(project, id) ?? this.reset(project, id);
  }

  /** Fresh notes for a (re)started session; the files it touched stay of interest. */
  reset(project: string, id: string): SessionNotes {
    const prev = this.get(project, id);
    const n: SessionNotes = { messages: new Set(), decisions: new Set(), touched: new Map(), introduced: false, publishedAt: prev?.publishedAt ?? 0, calls: new Map(), deliveredAt: 0, interfaces: new Set(), stopHeld: prev?.stopHeld ?? new Set() };
    if (prev) for (const p of prev.touched.keys()) n.touched.set(p, '');
    this.sessions.set(this.key(project, id), n);
    return n;
  }

  forget(project: string, id: string): void {
    this.sessions.delete(this.key(project, id));
  }

  /** Keep sets bounded: a long session forgets its oldest injected ids (they are long read). */
  static trim(n: SessionNotes): void {
    for (const s of [n.messages, n.decisions, n.interfaces, n.stopHeld]) {
      if (s.size <= MAX_SETS) continue;
      const drop = s.size - MAX_SETS;
      let i = 0;
      for (const v of s) {
        if (i++ >= drop) break;
        s.delete(v);
      }
    }
    while (n.touched.size > 500) n.touched.delete(n.touched.keys().next().value as string);
    while (n.calls.size > MAX_CALLS) n.calls.delete(n.calls.keys().next().value as string);
  }

  /** `takeOver`: the process now serves this session (a /clear in the same agent process), not two at once. */
  notePids(pids: number[], session: string, cwd: string | undefined, takeOver = false): void {
    for (const p of pids.slice(0, 4)) {
      const prev = this.pids.get(p);
      this.pids.set(p, { session: prev && prev.session !== session && !takeOver && !this.wasEnded(prev.session) ? null : session, cwd });
    }
  }

  /** A session ended: the processes that served it are free for the next session they report. */
  releasePids(session: string, pids: number[] = []): void {
    for (const p of pids) if (this.pids.get(p)?.session === session) this.pids.delete(p);
    this.ended.set(session, true);
  }

  /** Sessions seen ending recently: a process they shared is not ambiguous. */
  private readonly ended = new Lru<string, true>(10_000, 3600_000);

  wasEnded(session: string | null | undefined): boolean {
    return !!session && this.ended.get(session) === true;
  }

  /** The session of the nearest of these processes that hooks of exactly one session reported, or null. */
  sessionOfPids(pids: number[]): { session_id: string; cwd: string | undefined } | null {
    for (const p of pids) {
      const hit = this.pids.get(p);
      if (hit?.session) return { session_id: hit.session, cwd: hit.cwd };
    }
    return null;
  }
}
