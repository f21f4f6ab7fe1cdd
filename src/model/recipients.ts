/**
 * Whether a message's recipient exists: a live session (by id or name), a
 * session the timeline has seen act, or a role someone has or a task is for.
 * A message to nobody is stored but never read, so the sender is warned.
 * Pure: callers pass what they see.
 */
import type { PresenceView } from './view.js';
import type { SharedContext } from './context.js';

export function recipientWarning(to: string, view: PresenceView, ctx: SharedContext): string | null {
  const t = to.trim();
  if (t === 'all') return null;
  if (t.startsWith('role:')) {
    const role = t.slice(5);
    if (view.sessions.some((s) => s.role === role)) return null;
    if (ctx.tasks({ role }).length > 0) return null;
    const roles = Array.from(new Set(view.sessions.map((s) => s.role))).sort();
    return `no session here has role "${role}"${roles.length ? ` (roles here: ${roles.join(', ')})` : ''}; the message waits for one to join`;
  }
  if (view.sessions.some((s) => s.id === t || s.name === t)) return null;
  if (ctx.timeline({ limit: 1000 }).some((e) => e.actor === t || e.actorName === t)) return null;
  const names = view.sessions.map((s) => s.name).slice(0, 8);
  return `no session "${t}" is here or has been seen in this project${names.length ? ` (here: ${names.join(', ')})` : ''}; the message is stored but nobody may read it`;
}
