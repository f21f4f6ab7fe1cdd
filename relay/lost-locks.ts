/**
 * Rendering the locks a session lost (lock-notices.ts) into what a hook
 * answers: lines added to a decision, or lock changes the delta renders.
 */
import type { LockChange } from '../src/model/deliver.js';
import type { HookDecision } from '../src/agents/event.js';
import type { LockNotice } from './lock-notices.js';

/** Lost-lock notices as lock changes the delta renders (inside the fence: the forcer's reason is another session's text). */
export function lostChanges(notices: LockNotice[]): LockChange[] {
  return notices.map((n) => ({ path: n.path, now: null, before: null, lost: { forced: n.reason === 'forced', by: n.holder, why: n.why } }));
}

/** A decision with the lines about lost locks added to what the agent reads (and to a denial's reason). */
export function withLostLocks(d: HookDecision, lines: string[]): HookDecision {
  if (lines.length === 0) return d;
  const text = lines.join('\n');
  return { ...d, inject: d.inject ? `${text}\n${d.inject}` : text, ...(d.deny ? { deny: `${d.deny} (${text})` } : {}) };
}
