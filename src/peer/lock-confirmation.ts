/**
 * Confirming a session's lock claims by the relay's order (the rule in presence.ts and the
 * README, "What a confirmed lock means"): judge one claim against the claims of others seen
 * once the relay has ordered it; confirm() decides the claims of one acquire, and
 * reconcileUnconfirmed() settles those left unconfirmed (offline, or no decision in time).
 */
import { conflicts, precedes, type LockClaim } from '../model/locks.js';
import type { LockView, PresenceView } from '../model/view.js';
import type { PresenceTransport } from './presence-types.js';

/** Our session as the resolution rule sees it. */
export interface ClaimOwner {
  clientId: number;
  session: string;
  sessionName: string;
  role: string;
}

export type Judgement = { lose: LockView } | { waitOn: string[] } | null;

/**
 * Decide one of our unconfirmed claims now that the relay has ordered a state of ours
 * holding it: every claim of another session seen by now was ordered before that state.
 * A conflicting claim that precedes ours by the resolution rule (a confirmed one, or an
 * earlier one) beats it: lose. Conflicting claims that ours precedes: wait until each
 * is withdrawn or confirmed, then order ours again (their owners drop them once they
 * see ours). No conflicting claim at all: confirmed, and any later claim will see ours.
 * So a claim is never confirmed while a conflicting claim ordered before it is in view,
 * and among simultaneous claims the one the resolution rule puts first wins.
 */
export function judgeClaim(c: LockClaim, me: ClaimOwner, mayConflict: () => boolean, viewOf: () => PresenceView): Judgement {
  // No live claim of another session overlaps: nothing to judge against (see Presence.mayConflict).
  if (!mayConflict()) return null;
  const view = viewOf();
  // Our own claim as the resolution rule sees it (its fields, not its place in `view`, which may predate it).
  const mine = { ...c, ...me };
  const others = view.locks.filter((l) => l.session !== me.session && conflicts(l, { path: c.path, mode: c.mode, session: me.session }));
  if (others.length === 0) return null;
  // Name the claim that holds the lock (not blocked in the view) rather than any earlier rival,
  // which may itself be about to yield: the loser is told who really holds it.
  const earlier = others.filter((l) => precedes(l, mine));
  const lose = earlier.find((l) => l.state !== 'blocked') ?? earlier[0];
  return lose ? { lose } : { waitOn: others.map((l) => l.id) };
}

/** What the confirmation machinery needs of its Presence. */
export interface ConfirmHost {
  readonly transport: PresenceTransport;
  readonly confirmTimeoutMs: number;
  closed(): boolean;
  /** The published claims (replaced, never changed in place). */
  locks(): LockClaim[];
  /** Replace the claims in our state (not yet published). */
  setLocks(locks: LockClaim[]): void;
  /** Publish our state; returns its awareness clock. */
  publish(): number;
  judge(c: LockClaim, viewOf: () => PresenceView): Judgement;
  /** The view to judge a just-ordered claim with (see Presence.judgingView). */
  judgingView(): PresenceView;
  view(): PresenceView;
  whenSettled(ids: string[], cb: () => void): () => void;
  lockConfirmed(c: LockClaim): void;
  lockLost(c: LockClaim): void;
}

export class LockConfirmation {
  /** Claims a confirm() is deciding now; reconciliation leaves them to it. */
  private readonly inFlight = new Set<string>();
  private reconciling = false;
  private cancelReconcile: () => void = () => {};

  constructor(private readonly host: ConfirmHost) {}

  /** Stop a reconciliation under way (on close). */
  stop(): void {
    this.cancelReconcile();
  }

  /**
   * Wait for the relay to order our state at `clock`, then decide (see judgeClaim), ordering
   * again after a wait. Resolves 'confirmed', 'unconfirmed' (offline, or no decision in
   * time) or the lock that won.
   */
  confirm(clock: number, paths: string[]): Promise<'confirmed' | 'unconfirmed' | LockView> {
    const host = this.host;
    return new Promise((resolve) => {
      let done = false;
      let cancel: () => void = () => {};
      let unsub: () => void = () => {};
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deciding = host.locks().filter((c) => paths.includes(c.path) && !c.confirmed).map((c) => c.id);
      for (const id of deciding) this.inFlight.add(id);
      const finish = (r: 'confirmed' | 'unconfirmed' | LockView) => {
        if (done) return;
        done = true;
        cancel();
        unsub();
        if (timer) clearTimeout(timer);
        for (const id of deciding) this.inFlight.delete(id);
        resolve(r);
      };
      unsub = host.transport.onStatus((online) => {
        if (!online) finish('unconfirmed');
      });
      timer = setTimeout(() => finish('unconfirmed'), host.confirmTimeoutMs);
      const round = (at: number) => {
        let fired = false;
        // The callback may run synchronously (hosted sessions: the relay is right here).
        const c = host.transport.onOrdered(at, () => {
          fired = true;
          cancel();
          if (done) return;
          let built: PresenceView | null = null;
          const view = () => (built ??= host.judgingView());
          const waitOn: string[] = [];
          for (const claim of host.locks()) {
            if (!paths.includes(claim.path) || claim.confirmed) continue;
            const j = host.judge(claim, view);
            if (j && 'lose' in j) {
              host.setLocks(host.locks().filter((x) => !(paths.includes(x.path) && !x.confirmed)));
              host.publish();
              finish(j.lose);
              return;
            }
            if (j) waitOn.push(...j.waitOn);
          }
          if (waitOn.length === 0) {
            host.setLocks(host.locks().map((x) => (paths.includes(x.path) ? { ...x, confirmed: true } : x)));
            host.publish();
            for (const x of host.locks()) if (paths.includes(x.path)) host.lockConfirmed(x);
            finish('confirmed');
            return;
          }
          cancel = host.whenSettled(waitOn, () => {
            if (!done) round(host.publish());
          });
        });
        if (fired) c();
        else cancel = c;
      };
      round(clock);
    });
  }

  /**
   * Settle claims left unconfirmed (taken offline, or with no decision in time) once the
   * relay's order is available: publish, and when the relay has ordered our state, judge
   * each claim (see judgeClaim): confirmed, lost (reported), or, while waiting on others, left
   * for another round once they settle.
   */
  reconcileUnconfirmed(): void {
    const host = this.host;
    if (this.reconciling || host.closed() || !host.transport.online()) return;
    const pending = host.locks().filter((c) => !c.confirmed && !this.inFlight.has(c.id)).map((c) => c.id);
    if (pending.length === 0) return;
    this.reconciling = true;
    const clock = host.publish();
    let ended = false;
    let fired = false;
    let cancelOrder: () => void = () => {};
    let cancelWait: () => void = () => {};
    let unsub: () => void = () => {};
    const end = () => {
      ended = true;
      cancelOrder();
      cancelWait();
      unsub();
      this.reconciling = false;
      this.cancelReconcile = () => {};
    };
    this.cancelReconcile = end;
    // Offline again: the next onStatus(true) starts over.
    unsub = host.transport.onStatus((online) => {
      if (!online) end();
    });
    // The callback may run synchronously (hosted sessions without an upstream).
    cancelOrder = host.transport.onOrdered(clock, () => {
      fired = true;
      cancelOrder();
      if (host.closed()) return end();
      let built: PresenceView | null = null;
      const view = () => (built ??= host.view());
      const won: string[] = [];
      const lost: LockClaim[] = [];
      const waitOn: string[] = [];
      for (const c of host.locks()) {
        if (c.confirmed || !pending.includes(c.id) || this.inFlight.has(c.id)) continue;
        const j = host.judge(c, view);
        if (!j) won.push(c.id);
        else if ('lose' in j) lost.push(c);
        else waitOn.push(...j.waitOn);
      }
      if (won.length > 0 || lost.length > 0) {
        host.setLocks(host.locks().filter((c) => !lost.includes(c)).map((c) => (won.includes(c.id) ? { ...c, confirmed: true } : c)));
        host.publish();
        for (const c of lost) host.lockLost(c);
        for (const c of host.locks()) if (won.includes(c.id)) host.lockConfirmed(c);
      }
      if (waitOn.length > 0) {
        // Stay 'reconciling' while waiting; go again once one of them settles.
        cancelWait = host.whenSettled(waitOn, () => {
          end();
          this.reconcileUnconfirmed();
        });
        return;
      }
      end();
      // Claims taken meanwhile (not in this round's state) get a round of their own.
      if (host.locks().some((c) => !c.confirmed && !this.inFlight.has(c.id))) queueMicrotask(() => this.reconcileUnconfirmed());
    });
    if (ended || fired) cancelOrder();
  }
}
