/** One project's live connection: a Yjs peer over the y-websocket protocol (the library's RelayConnection), shown in awareness as a watcher. */
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { RelayConnection, type SocketFactory, type SocketLike } from '../src/peer/connection.js';
import { SharedContext, type Actor } from '../src/model/context.js';
import { buildPresence, type PresenceView } from '../src/model/view.js';
import { newSessionState } from '../src/model/session.js';
import { newId } from '../src/model/ids.js';
import { KINDS } from '../src/model/kinds/index.js';
import { ALL, KIND_SECTIONS, state, timing, token, wsBase, type Section } from './state.js';
import { mark } from './sections.js';
import { toast } from './dialogs.js';

const socket: SocketFactory = (url, t) => new WebSocket(t ? `${url}?token=${encodeURIComponent(t)}` : url) as unknown as SocketLike;

/** One project's live connection and what the page knows of it. */
export class Live {
  readonly doc = new Y.Doc();
  readonly awareness: Awareness;
  readonly ctx: SharedContext;
  readonly conn: RelayConnection;
  readonly actor: Actor;
  presence: PresenceView = { sessions: [], watchers: [], locks: [] };
  everLive = false;
  /** When we were last live: what the page shows is as of then. */
  lastLiveAt: number | null = null;
  droppedAt: number | null = null;
  closedReason: string | null = null;
  readonly departed = new Map<string, { name: string; role: string; at: number }>();

  constructor(readonly project: string) {
    this.actor = { id: newId('w'), name: 'dashboard', role: 'watcher' };
    this.awareness = new Awareness(this.doc);
    this.awareness.setLocalState({
      huddle: newSessionState({ id: this.actor.id, name: 'dashboard', role: 'watcher', agent: 'human', kind: 'watcher' }, { host: 'browser', pid: 0, cwd: '' }, Date.now(), false),
    });
    this.ctx = new SharedContext(this.doc);
    // Each kind of record with a section on the page re-renders it when it changes (src/model/kinds).
    for (const k of KINDS) {
      const section = k.section as Section;
      if (KIND_SECTIONS.has(section)) this.doc.getMap(k.section).observeDeep(() => mark(section));
    }
    // The report is rebuilt with the slow tick (every 10 s), not per timeline entry: it scans the whole timeline.
    this.ctx.timelineArr.observe(() => mark('timeline'));
    this.ctx.versionsArr.observe(() => mark('versions'));
    this.doc.getMap('syncs').observeDeep(() => mark('syncs'));
    this.ctx.forcedMap.observe(() => this.presenceChanged());
    this.awareness.on('change', () => this.presenceChanged());
    this.conn = new RelayConnection({ url: wsBase, project, doc: this.doc, awareness: this.awareness, token, socket });
    this.conn.on('synced', () => {
      timing('synced');
      this.everLive = true;
      this.lastLiveAt = Date.now();
      this.droppedAt = null;
      this.presenceChanged();
      mark(...ALL);
    });
    this.conn.on('status', (s) => {
      if (s === 'connected') timing('socket-open');
      if (s !== 'connected' && this.lastLiveAt !== null && this.droppedAt === null) this.droppedAt = this.lastLiveAt = Date.now();
      mark('header');
    });
    this.conn.on('closed', (e) => {
      this.closedReason = e.reason || `closed (${e.code})`;
      mark('header');
    });
    this.conn.on('denied', (reason) => {
      // A read-only connection is told once that updates are refused (the sync handshake sends one): expected.
      if (state.access === 'write') toast(`The server refused a change: ${reason}`, 'bad');
    });
  }

  get live(): boolean {
    return this.conn.synced;
  }

  /** Recompute presence from awareness; while offline the last live view stays (shown as of then). */
  recompute(): void {
    if (!this.live) return;
    const now = Date.now();
    this.lastLiveAt = now;
    const before = this.presence.sessions;
    try {
      this.presence = buildPresence(this.awareness.getStates(), { now, isForced: (id) => this.ctx.isForced(id) });
    } catch (err) {
      // A malformed presence state from some peer: keep the last good view rather than break the connection's handler.
      console.warn('huddle dashboard: could not read presence:', err);
      return;
    }
    const present = new Set(this.presence.sessions.map((s) => s.id));
    for (const s of before) if (!present.has(s.id)) this.departed.set(s.id, { name: s.name, role: s.role, at: now });
    for (const [id, d] of this.departed) if (present.has(id) || now - d.at > 60_000) this.departed.delete(id);
  }

  presenceChanged(): void {
    if (!this.live) return;
    this.recompute();
    mark('header', 'sessions', 'locks', 'overlaps', 'syncs');
  }

  private renewedAt = Date.now();

  /** Renew the watcher's presence well within the server's timeout (y-protocols alone renews every 15 s). */
  renew(now: number): void {
    if (now - this.renewedAt < state.presenceTimeoutMs / 3) return;
    this.renewedAt = now;
    const mine = this.awareness.getLocalState();
    if (mine) this.awareness.setLocalState(mine);
  }

  /** Milliseconds since a client's presence was last renewed. */
  silentFor(clientId: number, now: number): number {
    const m = this.awareness.meta.get(clientId);
    return m ? now - m.lastUpdated : 0;
  }

  destroy(): void {
    // Leave at once: peers drop the watcher without waiting for a timeout.
    this.awareness.setLocalState(null);
    this.conn.destroy();
    this.awareness.destroy();
    this.doc.destroy();
  }
}
