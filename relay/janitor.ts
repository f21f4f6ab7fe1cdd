/**
 * Server-side upkeep of one room's shared context:
 * - task claims: when a client's update overrides another session's claim it
 *   had not seen (a concurrent claim), the first claim stored here is restored,
 *   so every peer ends with the same winner and the loser learns it on its ack;
 * - orphans: tasks claimed by a session that has been gone longer than the grace
 *   period return to open, marked orphaned with its last note.
 */
import * as Y from 'yjs';
import { SharedContext, type Actor } from '../src/model/context.js';
import { sessionOf } from '../src/model/session.js';
import { originOf, type Origin } from '../src/protocol/origin.js';
import type { Room } from './room.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { guarded } from './guard.js';

export const SERVER_ACTOR: Actor = { id: 'huddle-server', name: 'huddle', role: 'server' };
const ARBITER: Origin = Object.freeze({ kind: 'server', by: 'janitor' });

export interface JanitorOptions {
  /** A claimed task's holder must be gone this long before the task is orphaned. */
  orphanAfterMs: number;
  /** Whether this server is the one that arbitrates (false when it syncs to an upstream relay). */
  arbitrate: () => boolean;
  log?: Logger;
  metrics?: Metrics;
}

export class Janitor {
  readonly ctx: SharedContext;
  private lastSeen = new Map<string, { at: number; name: string; intent: string | null }>();
  private timer: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  /** Claims to restore once the update that overrode them is durable. */
  private restores: Array<() => void> = [];
  private readonly offDurable: () => void;

  constructor(private readonly room: Room, private readonly opts: JanitorOptions) {
    this.ctx = new SharedContext(room.doc);
    this.ctx.tasksMap.observeDeep(this.onTasks);
    room.awareness.on('change', this.onAwareness);
    // Restore on the durable bus: before the claimant's ack goes out, so that the restoring
    // write is durable, and visible to the loser, by the time its ack arrives.
    this.offDurable = room.onDurable(() => {
      const restores = this.restores;
      this.restores = [];
      for (const fn of restores) fn();
    });
    const log = opts.log ?? { error() {}, warn() {}, info() {}, debug() {} };
    this.timer = setInterval(guarded(log, opts.metrics, 'janitor', () => this.sweep()), Math.max(200, Math.min(5000, opts.orphanAfterMs / 4)));
    this.timer.unref();
  }

  private onTasks = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>, tr: Y.Transaction): void => {
    // Only claims from client connections are arbitrated (never our own restores, hosted sessions or the upstream).
    if (originOf(tr.origin).kind !== 'connection' || !this.opts.arbitrate()) return;
    for (const ev of events) {
      if (!(ev.target instanceof Y.Map) || ev.target.parent !== this.ctx.tasksMap) continue;
      const change = ev.changes.keys.get('assignee');
      if (!change || change.action !== 'update') continue;
      const rawBefore = change.oldValue as unknown;
      const before = assigneeOf(rawBefore);
      const after = assigneeOf(ev.target.get('assignee'));
      const statusChange = ev.changes.keys.get('status');
      const statusBefore = statusChange ? statusChange.oldValue : ev.target.get('status');
      if (before && after && before.id !== after.id && statusBefore === 'claimed' && ev.target.get('status') === 'claimed') {
        const task = ev.target as Y.Map<unknown>;
        this.restores.push(() =>
          this.room.doc.transact(() => {
            task.set('assignee', rawBefore);
            task.set('status', 'claimed');
            const title = String(task.get('title'));
            this.ctx.record(SERVER_ACTOR, 'task.claim-rejected', `${title}: ${after.name ?? after.id} lost to ${before.name ?? before.id}`);
          }, ARBITER),
        );
      }
    }
  };

  private onAwareness = (): void => {
    const now = Date.now();
    for (const state of this.room.awareness.getStates().values()) {
      const s = sessionOf(state);
      if (s) this.lastSeen.set(s.id, { at: now, name: s.name, intent: s.intent });
    }
  };

  /** Orphan the tasks of sessions gone longer than the grace period. */
  sweep(now = Date.now()): void {
    if (!this.room.isReady || this.room.destroyed) return;
    const present = new Set<string>();
    for (const state of this.room.awareness.getStates().values()) {
      const s = sessionOf(state);
      if (s) {
        present.add(s.id);
        this.lastSeen.set(s.id, { at: now, name: s.name, intent: s.intent });
      }
    }
    for (const t of this.ctx.tasks({ status: 'claimed' })) {
      const holder = t.assignee;
      if (!holder || present.has(holder.id)) continue;
      // Sessions never seen by this server count from the time it loaded the room.
      const seen = this.lastSeen.get(holder.id);
      const since = seen?.at ?? this.startedAt;
      if (now - since < this.opts.orphanAfterMs) continue;
      this.ctx.orphanTasksOf(SERVER_ACTOR, { id: holder.id, name: seen?.name ?? holder.name, lastNote: seen?.intent ?? undefined });
    }
  }

  destroy(): void {
    clearInterval(this.timer);
    this.ctx.tasksMap.unobserveDeep(this.onTasks);
    this.room.awareness.off('change', this.onAwareness);
    this.offDurable();
  }
}

/** An assignee as stored, or null when the value is not one (anyone can write the document). */
function assigneeOf(v: unknown): { id: string; name?: string } | null {
  if (!v || typeof v !== 'object') return null;
  const a = v as { id?: unknown; name?: unknown };
  return typeof a.id === 'string' ? { id: a.id, name: typeof a.name === 'string' ? a.name : undefined } : null;
}
