/**
 * Waiting on the view of everyone's presence during lock operations: until rival claims
 * settle, until the view changes (with jitter), and until the holder we lost to shows.
 */
import type { Awareness } from 'y-protocols/awareness';
import { claimLive } from '../model/locks.js';
import { sessionOf, statusOf } from '../model/session.js';
import type { LockView } from '../model/view.js';
import type { ClaimFilters } from './presence-types.js';

/**
 * Call `cb` once any of these claims of others (not of session `self`) is withdrawn, confirmed,
 * expired or gone. Returns a cancel.
 */
export function whenSettled(view: Awareness, self: string, ids: string[], opts: ClaimFilters, cb: () => void): () => void {
  const want = new Set(ids);
  const open = () => {
    const now = Date.now();
    let n = 0;
    for (const raw of view.getStates().values()) {
      const s = sessionOf(raw);
      if (!s || s.id === self || statusOf(s, now, opts.thresholds) === 'stale') continue;
      for (const c of s.locks ?? []) if (want.has(c.id) && !c.confirmed && claimLive(c, now) && !opts.isForced?.(c.id)) n++;
    }
    return n;
  };
  let stopped = false;
  const stop = () => {
    stopped = true;
    view.off('change', check);
    clearInterval(timer);
  };
  const check = () => {
    if (stopped || open() === want.size) return;
    stop();
    cb();
  };
  view.on('change', check);
  // Expiry and staleness come with time, not with a change event.
  const timer = setInterval(check, 1000);
  (timer as { unref?: () => void }).unref?.();
  queueMicrotask(check);
  return stop;
}

/** Resolve at the next change of `view`, or within a second (at most at `deadline`). */
export function viewChange(view: Awareness, deadline: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      view.off('change', done);
      signal?.removeEventListener('abort', done);
      clearTimeout(t);
      // Jitter, so that waiters released together do not all claim in the same instant.
      setTimeout(resolve, Math.random() * 20);
    };
    // Also re-check now and then: expiry and staleness change the picture without a change event.
    const t = setTimeout(done, Math.max(0, Math.min(1000, deadline - Date.now())));
    view.on('change', done);
    signal?.addEventListener('abort', done);
  });
}

/**
 * After losing: wait briefly (at most `maxMs`) for a confirmed claim that blocks us to show,
 * and report it; otherwise the best guess so far.
 */
export async function settledHolder(view: Awareness, blockers: () => LockView[], guess: LockView, maxMs = 500): Promise<LockView> {
  const until = Date.now() + maxMs;
  for (;;) {
    const held = blockers().find((l) => l.confirmed);
    if (held) return held;
    if (Date.now() >= until) return blockers()[0] ?? guess;
    await new Promise<void>((resolve) => {
      const done = () => {
        view.off('change', done);
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, until - Date.now()));
      view.on('change', done);
    });
  }
}
