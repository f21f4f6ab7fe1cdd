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

export interface HostedOptions {
  /** Remove a hosted session after this long without a sign of life. Default 30 min. */
  removeAfterMs: number;
  heartbeatMs: number;
  /** The room's link to a team relay, when the server has one: its order then decides locks. */
  upstream?: (room: Room) => UpstreamEchoes | undefined;
}

export class HostedSession {
  /** A hosted session is the origin of the awareness updates it applies (origin.ts). */
  readonly kind = 'hosted' as const;
  readonly presence: Presence;
  readonly ctx: SharedContext;
  lastSeen = Date.now();
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
    this.releaseRoom = room.hold();
    // Forced releases and the like are read from the document once they are durable.
    this.offDurable = room.onDurable(() => this.presence.documentChanged());
  }

  get id(): string {
    return this.presence.id;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.offDurable();
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
    let sessions = this.byRoom.get(room);
    if (!sessions) {
      sessions = new Map();
      this.byRoom.set(room, sessions);
      room.onDestroy(() => this.dropRoom(room));
    }
    let s = sessions.get(info.id);
    if (!s) {
      s = new HostedSession(room, info, this.opts);
      sessions.set(info.id, s);
      this.log.debug('hosting session', { project: room.name, session: info.id });
    } else {
      s.presence.touch({ name: info.name, role: info.role, agent: info.agent, task: info.task, intent: info.intent, branch: info.branch, cwd: info.cwd, host: info.host, pid: info.pid }, true);
    }
    s.lastSeen = Date.now();
    return s;
  }

  get(room: Room, id: string): HostedSession | undefined {
    return this.byRoom.get(room)?.get(id);
  }

  list(room: Room): HostedSession[] {
    return Array.from(this.byRoom.get(room)?.values() ?? []);
  }

  /** End a session now: its presence and locks vanish from every peer. */
  end(room: Room, id: string): boolean {
    const s = this.byRoom.get(room)?.get(id);
    if (!s) return false;
    this.byRoom.get(room)!.delete(id);
    s.close();
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
        const st = s.presence.current;
        const humanWithLocks = st.agent === 'human' && st.locks.some((c) => c.expiresAt > now);
        if (humanWithLocks) {
          if (now - st.lastActive > 60_000) s.presence.touch({});
          continue;
        }
        if (now - s.lastSeen > this.opts.removeAfterMs) {
          sessions.delete(id);
          s.close();
          this.log.info('hosted session removed after no sign of life', { project: room.name, session: id });
        }
      }
    }
  }

  closeAll(): void {
    clearInterval(this.timer);
    for (const room of Array.from(this.byRoom.keys())) this.dropRoom(room);
  }
}
