/**
 * The write check behind pre-tool: which repository paths an event writes
 * (its named files and what its shell command writes), and whether another
 * live session holds an exclusive lock on one (deny or warn naming the
 * holder; autoLock takes the first file), over a per-room presence view
 * cache so that a hook call is a lookup.
 */
import path from 'node:path';
import type { ResolvedConfig } from '../src/node/config.js';
import { repoRelative } from '../src/node/repo.js';
import { blockingLock, buildPresence, mayBlockWrite, type LockView, type PresenceView } from '../src/model/view.js';
import { SharedContext } from '../src/model/context.js';
import { bashWrites } from '../src/model/bash-writes.js';
import { describeLock } from '../src/model/inject.js';
import { noteDenied } from '../src/model/activity.js';
import { normalizePattern } from '../src/model/paths.js';
import type { HookDecision, HookEvent } from '../src/agents/event.js';
import type { SessionNotes } from './session-memory.js';
import { lockKey, sessionMe } from './hook-delivery.js';
import type { Room } from './room.js';
import type { HostedSession } from './hosted.js';

/** A presence view is reused until awareness or the document changes, or for this long at most (expiry, staleness). */
const VIEW_TTL_MS = 250;

export interface Target {
  path: string;
  via: string;
  lines?: Array<[number, number]>;
}

/** Everyone's presence per room, computed once per change. */
export class PresenceViews {
  private readonly views = new WeakMap<Room, { at: number; view: PresenceView | null; ctx: SharedContext }>();

  view(room: Room): PresenceView {
    let c = this.views.get(room);
    if (!c) {
      const entry = { at: 0, view: null as PresenceView | null, ctx: new SharedContext(room.doc), forcedChanged: false };
      const drop = () => (entry.view = null);
      room.awareness.on('change', drop);
      // The view reads the document only for forced releases: other writes (a denial noted in the
      // activity log, a message) leave it as it is. A forced release counts once durable (the
      // pipeline's bus), like everything else that listens.
      const onForced = () => (entry.forcedChanged = true);
      entry.ctx.forcedMap.observe(onForced);
      const offDurable = room.onDurable(() => {
        if (!entry.forcedChanged) return;
        entry.forcedChanged = false;
        drop();
      });
      room.onDestroy(() => {
        room.awareness.off('change', drop);
        entry.ctx.forcedMap.unobserve(onForced);
        offDurable();
      });
      this.views.set(room, entry);
      c = entry;
    }
    const now = Date.now();
    if (!c.view || now - c.at > VIEW_TTL_MS || now < c.at) {
      const ctx = c.ctx;
      c.view = buildPresence(room.awareness.getStates(), { now, isForced: (id) => ctx.isForced(id) });
      c.at = now;
    }
    return c.view;
  }
}

/** Repository-relative pattern of a path an event names, or null when outside the repository. */
function rel(cfg: ResolvedConfig, file: string, cwd: string): string | null {
  const r = repoRelative(cfg.root, file, cwd);
  if (r === null) return null;
  try {
    return normalizePattern(r);
  } catch {
    return null;
  }
}

/** The repository paths an event writes: its named files, and what its shell command writes. */
export function writeTargets(cfg: ResolvedConfig, ev: HookEvent, post: boolean): Target[] {
  const out: Target[] = [];
  for (const w of ev.writes.slice(0, 50)) {
    const r = rel(cfg, w.path, ev.cwd);
    if (r) out.push({ path: r, via: ev.tool ?? w.via, lines: w.lines });
  }
  if (ev.shell) {
    for (const w of bashWrites(ev.shell).slice(0, 50)) {
      if (w.target === '**') {
        if (!post) out.push({ path: '**', via: w.via });
        continue;
      }
      if (w.target.startsWith('~') || w.cd.some((d) => d.startsWith('~'))) continue;
      if (post && /[*?[]/.test(w.target)) continue;
      const r = rel(cfg, w.target, path.resolve(ev.cwd, ...w.cd));
      if (r) out.push({ path: r, via: w.via });
    }
  }
  return out.slice(0, 50);
}

export async function checkWrites(views: PresenceViews, room: Room, session: HostedSession, cfg: ResolvedConfig, ev: HookEvent, mem: SessionNotes): Promise<HookDecision> {
  const targets = writeTargets(cfg, ev, false);
  if (targets.length === 0) return {};
  const me = session.id;
  const blocked: Array<Target & { lock: LockView }> = [];
  // Most writes are to files nobody else holds: a scan of the states says so exactly, and the
  // full view (rebuilt after every presence change) is needed only when it finds a candidate.
  if (mayBlockWrite(room.awareness.getStates(), me, targets.map((t) => t.path), Date.now())) {
    const view = views.view(room);
    for (const t of targets) {
      const l = blockingLock(view, me, t.path);
      if (l && l.mode === 'exclusive') blocked.push({ ...t, lock: l });
    }
  }
  if (blocked.length === 0) {
    const first = targets[0];
    if (cfg.autoLock && !ev.shell && first.path !== '**') {
      const mine = session.presence.claims().some((c) => c.path === first.path);
      if (!mine) {
        const r = await session.presence.acquire([first.path], { mode: 'exclusive', reason: 'auto-lock at first edit' });
        if (r.status === 'held') blocked.push({ ...first, lock: r.holder });
      }
    }
    if (blocked.length === 0) {
      for (const t of targets) if (t.path !== '**' && !mem.touched.has(t.path)) mem.touched.set(t.path, '');
      return {};
    }
  }
  // The agent learns of these locks now; the next prompt need not repeat them.
  for (const b of blocked) if (b.path !== '**') mem.touched.set(b.path, lockKey(b.lock));
  const now = Date.now();
  const lines = blocked.slice(0, 5).map((b) => `${b.path === '**' ? `${b.via} would change files including ${b.lock.path}, which is locked` : `${b.path} is locked`} by ${describeLock(b.lock, now).slice(b.lock.path.length + 4)}.`);
  if (blocked.length > 5) lines.push(`(${blocked.length - 5} more locked paths.)`);
  const holder = blocked[0].lock;
  if (cfg.enforce === 'warn') {
    return { warn: `huddle warning: ${lines.join(' ')} The edit goes ahead (enforce: warn); ${holder.sessionName} may be changing the same file.` };
  }
  for (const b of blocked.slice(0, 5)) noteDenied(session.ctx, sessionMe(session), b.path === '**' ? b.lock.path : b.path, b.lock);
  return { deny: `huddle: ${lines.join(' ')} Edits by other sessions are refused while the lock is held. The holder can be asked through huddle (send to ${holder.sessionName}); the lock ends when it is released or its holder goes away.` };
}
