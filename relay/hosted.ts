/**
 * Sessions the server hosts on behalf of thin clients (Claude Code hooks, the
 * CLI, the MCP server): each has its own awareness client ID, piped into the
 * room's awareness, and a Presence like any embedded peer's, so every other
 * peer sees hosted and embedded sessions alike. A hosted session lives while
 * it shows signs of life (API calls); when it has shown none for
 * `removeAfterMs` it is removed, and its locks with it.
 */
import os from 'node:os';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { Presence } from '../src/peer/presence.js';
import { hostedTransport, type UpstreamEchoes } from '../src/peer/transports.js';
import type { SessionInfo } from '../src/model/session.js';
import { SharedContext } from '../src/model/context.js';
import type { Room } from './room.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { guarded } from './guard.js';
import type { SessionJournal } from './session-journal.js';
import { LockNotices } from './lock-notices.js';
import { restorable, type JournalEntry } from '../src/store/session-journal-codec.js';

export interface HostedOptions {
  /** Remove a hosted session after this long without a sign of life. Default 30 min. */
  removeAfterMs: number;
  heartbeatMs: number;
  /** The room's link to a team relay, when the server has one: its order then decides locks. */
  upstream?: (room: Room) => UpstreamEchoes | undefined;
  /** Where hosted sessions are journaled so that they survive a restart. */
  journal?: SessionJournal;
}

/** A hosted session's unchanged sign of life is republished at most this often (locks renewed with it). */
const TOUCH_REPUBLISH_MS = 1000;

export class HostedSession {
  /** A hosted session is the origin of the awareness updates it applies (origin.ts). */
  readonly kind = 'hosted' as const;
  readonly presence: Presence;
  readonly ctx: SharedContext;
  /** Locks this session lost, to be told on every surface. */
  readonly notices: LockNotices;
  private seen = Date.now();
  /** Called when what the journal keeps of this session changed (urgent: its locks did). */
  onChange?: (urgent: boolean) => void;
  private lockIds = '';
  private readonly doc = new Y.Doc();
  private readonly awareness: Awareness;
  private readonly detach: () => void;
  private readonly releaseRoom: () => void;
  private readonly offDurable: () => void;
  private closed = false;

  constructor(readonly room: Room, info: SessionInfo, opts: HostedOptions) {
    this.awareness = new Awareness(this.doc);
    this.awareness.setLocalState(null);
    const transport = hostedTransport(this.awareness, room.awareness, this, opts.upstream?.(room));
    this.detach = transport.detach;
    this.ctx = new SharedContext(room.doc);
    this.presence = new Presence(transport, {
      info,
      hosted: true,
      host: info.host ?? os.hostname(),
      pid: info.pid ?? 0,
      cwd: info.cwd ?? '',
      heartbeatMs: opts.heartbeatMs,
      isForced: (id) => this.ctx.isForced(id),
    });
    this.notices = new LockNotices(this.presence, this.ctx);
    this.releaseRoom = room.hold();
    // Forced releases and the like are read from the document once they are durable.
    this.offDurable = room.onDurable(() => this.presence.documentChanged());
    this.awareness.on('change', this.onLocal);
  }

  /** Last call seen from the thin client: a sign of life. */
  get lastSeen(): number {
    return this.seen;
  }

  set lastSeen(t: number) {
    this.seen = t;
    this.onChange?.(false);
  }

  private onLocal = (): void => {
    // Read, not copied: this runs on every publish.
    const ids = this.presence.published.locks.map((c) => `${c.id}${c.confirmed ? '+' : ''}`).join(',');
    const urgent = ids !== this.lockIds;
    this.lockIds = ids;
    this.onChange?.(urgent);
  };

  private last: JournalEntry | null = null;

  /** What the journal keeps of this session. */
  entry(): JournalEntry {
    if (this.closed && this.last) return this.last;
    const st = this.presence.current;
    this.last = {
      p: this.room.name, id: st.id, name: st.name, role: st.role, agent: st.agent, host: st.host, pid: st.pid, cwd: st.cwd,
      branch: st.branch, task: st.task, intent: st.intent, startedAt: st.startedAt, lastActive: st.lastActive, lastSeen: this.seen, locks: st.locks,
    };
    return this.last;
  }

  get id(): string {
    return this.presence.id;
  }

  close(): void {
    if (this.closed) return;
    this.entry();
    this.closed = true;
    this.offDurable();
    this.onChange = undefined;
    this.awareness.off('change', this.onLocal);
    this.notices.close();
    this.presence.close();
    this.detach();
    this.awareness.destroy();
    this.doc.destroy();
    this.releaseRoom();
  }
}

/** All hosted sessions of one server. */
export class HostedSessions {
  private readonly byRoom = new Map<Room, Map<string, HostedSession>>();
  private timer: NodeJS.Timeout;

  constructor(private readonly opts: HostedOptions, private readonly log: Logger, metrics?: Metrics) {
    this.timer = setInterval(guarded(log, metrics, 'hosted sessions', () => this.sweep()), Math.min(10_000, Math.max(250, opts.removeAfterMs / 10)));
    this.timer.unref();
  }

  /** The hosted session `info.id` in `room`, created or refreshed with `info`; counts as a sign of life. */
  touch(room: Room, info: SessionInfo): HostedSession {
    const sessions = this.roomSessions(room);
    let s = sessions.get(info.id);
    if (!s) {
      s = this.host(room, sessions, info);
      this.log.debug('hosting session', { project: room.name, session: info.id });
    } else {
      const patch = { name: info.name, role: info.role, agent: info.agent, task: info.task, intent: info.intent, branch: info.branch, cwd: info.cwd, host: info.host, pid: info.pid };
      // A burst of commands from one session publishes its sign of life once a second, not once a
      // command (every publish makes every peer and hosted session look): nothing else changes then.
      // A lock close to its expiry is renewed at once.
      const cur = s.presence.published;
      const now = Date.now();
      const same = (Object.keys(patch) as Array<keyof typeof patch>).every((k) => patch[k] === undefined || patch[k] === cur[k]);
      const renewSoon = cur.locks.some((c) => c.expiresAt - now < 5 * TOUCH_REPUBLISH_MS);
      if (!same || renewSoon || now - cur.lastActive >= TOUCH_REPUBLISH_MS || now < cur.lastActive) s.presence.touch(patch, true);
    }
    s.lastSeen = Date.now();
    return s;
  }

  private host(room: Room, sessions: Map<string, HostedSession>, info: SessionInfo): HostedSession {
    const s = new HostedSession(room, info, this.opts);
    sessions.set(info.id, s);
    const journal = this.opts.journal;
    if (journal) {
      s.onChange = (urgent) => journal.mark(room.name, s.id, () => s.entry(), urgent);
      journal.mark(room.name, s.id, () => s.entry(), true);
    }
    return s;
  }

  private roomSessions(room: Room): Map<string, HostedSession> {
    let sessions = this.byRoom.get(room);
    if (!sessions) {
      sessions = new Map();
      this.byRoom.set(room, sessions);
      room.onDestroy(() => this.dropRoom(room));
    }
    return sessions;
  }

  /** Whether a journaled session is still within the window this server keeps sessions for. */
  restorable(e: JournalEntry, now = Date.now()): boolean {
    return restorable(e, now, this.opts.removeAfterMs);
  }

  /**
   * Host again the sessions a previous run journaled, those whose last sign of life is
   * within the removal window: presence as it was, locks ordered again by the relay rule.
   * Returns how many were restored; the others are forgotten.
   */

  async restore(entries: JournalEntry[], roomOf: (project: string) => Promise<Room>, now = Date.now()): Promise<number> {
    let n = 0;
    for (const e of entries) {
      if (!restorable(e, now, this.opts.removeAfterMs)) {
        this.opts.journal?.remove(e.p, e.id);
        continue;
      }
      let room: Room;
      try {
        room = await roomOf(e.p);
      } catch (err) {
        this.log.warn('cannot restore a hosted session', { project: e.p, session: e.id, error: (err as Error).message });
        continue;
      }
      const sessions = this.roomSessions(room);
      if (sessions.has(e.id)) continue;
      const s = this.host(room, sessions, { id: e.id, name: e.name, role: e.role, agent: e.agent, host: e.host, pid: e.pid, cwd: e.cwd, branch: e.branch, task: e.task, intent: e.intent });
      s.presence.restore(e);
      s.lastSeen = e.lastSeen;
      n++;
    }
    return n;
  }

  get(room: Room, id: string): HostedSession | undefined {
    return this.byRoom.get(room)?.get(id);
  }

  list(room: Room): HostedSession[] {
    return Array.from(this.byRoom.get(room)?.values() ?? []);
  }

  /** Every hosted session of every room. */
  *all(): Iterable<HostedSession> {
    for (const sessions of this.byRoom.values()) yield* sessions.values();
  }

  /** End a session now: its presence and locks vanish from every peer. */
  end(room: Room, id: string): boolean {
    const s = this.byRoom.get(room)?.get(id);
    if (!s) return false;
    this.byRoom.get(room)!.delete(id);
    s.close();
    this.opts.journal?.remove(room.name, id);
    return true;
  }

  private dropRoom(room: Room): void {
    const sessions = this.byRoom.get(room);
    if (!sessions) return;
    this.byRoom.delete(room);
    for (const s of sessions.values()) s.close();
  }

  private sweep(now = Date.now()): void {
    for (const [room, sessions] of this.byRoom) {
      for (const [id, s] of sessions) {
        // A person's session that holds locks keeps them while they last: those are deliberate.
        const st = s.presence.published;
        const humanWithLocks = st.agent === 'human' && st.locks.some((c) => c.expiresAt > now);
        if (humanWithLocks) {
          if (now - st.lastActive > 60_000) s.presence.touch({});
          continue;
        }
        if (now - s.lastSeen > this.opts.removeAfterMs) {
          sessions.delete(id);
          s.close();
          this.opts.journal?.remove(room.name, id);
          this.log.info('hosted session removed after no sign of life', { project: room.name, session: id });
        }
      }
    }
  }

  /** Stop hosting (shutdown): sessions stay in the journal for the next start. */
  closeAll(): void {
    clearInterval(this.timer);
    this.opts.journal?.flush();
    for (const room of Array.from(this.byRoom.keys())) this.dropRoom(room);
  }
}
