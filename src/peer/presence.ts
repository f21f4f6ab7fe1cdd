/**
 * One session's presence: its awareness state, heartbeats, signs of life,
 * files being edited, and the advisory locks it claims.
 *
 * The same class serves an embedded peer (its own WebSocket connection) and a
 * session the server hosts for a thin client: only the PresenceTransport
 * differs, so every other peer sees the two alike.
 *
 * Lock protocol: a claim is published in our awareness state; once the relay
 * whose order is authoritative has ordered it (our own state echoed back, or
 * applied in the relay's own awareness for hosted sessions; with an upstream,
 * echoed by the team relay), we look at the claims of others we have seen by
 * then: every claim ordered before ours is among them. If none conflicts, ours
 * is confirmed. If one that precedes ours by the resolution rule conflicts, we
 * withdraw ours. If only claims that ours precedes conflict (they may have been
 * ordered after ours and only look earlier because our view of our own server
 * is ahead of the relay's order), we wait until they are withdrawn or
 * confirmed and let the relay order ours again (see judgeClaim). A claim is never
 * confirmed with a conflicting claim ordered before it in view, so among
 * simultaneous claims at most one is confirmed (and, all connected, one is). Offline (the
 * transport is not authoritative), claims stay 'unconfirmed' and are settled
 * by the same rule when it is again (reconcileUnconfirmed).
 *
 * The rule itself and the rounds that apply it are in lock-confirmation.ts, the waits
 * on the view in claim-waits.ts, the yield of a confirmed claim in yield-index.ts.
 */
import { ObservableV2 } from 'lib0/observable';
import { ClaimIndex, LOCK_DEFAULTS, claimLive, conflicts, type LockClaim, type LockMode } from '../model/locks.js';
import { normalizePattern } from '../model/paths.js';
import { newId } from '../model/ids.js';
import { newSessionState, withEditing, type SessionState } from '../model/session.js';
import { PresenceCache, type LockView, type PresenceView } from '../model/view.js';
import { claimsToYield, joinYieldHub } from './yield-index.js';
import { othersClaimMeets } from '../model/claims-seen.js';
import { settledHolder, viewChange, whenSettled } from './claim-waits.js';
import { LockConfirmation, judgeClaim, type ClaimOwner, type Judgement } from './lock-confirmation.js';
import type { AcquireOptions, AcquireResult, LockLostReason, PresenceOptions, PresenceTransport } from './presence-types.js';

export type { AcquireOptions, AcquireResult, LockLostReason, PresenceOptions, PresenceTransport } from './presence-types.js';

type Events = {
  'lock-lost': (e: { claim: LockClaim; reason: LockLostReason }) => void;
  'lock-confirmed': (claim: LockClaim) => void;
};

export class Presence extends ObservableV2<Events> {
  private state: SessionState;
  private heartbeat: ReturnType<typeof setInterval>;
  private unsubStatus: () => void;
  private closed = false;
  private readonly ttlMs: number;
  private readonly capMs: number;
  private readonly confirmTimeoutMs: number;
  /** Confirming our claims by the relay's order (lock-confirmation.ts). */
  private readonly locking: LockConfirmation;

  constructor(readonly transport: PresenceTransport, private readonly opts: PresenceOptions) {
    super();
    this.ttlMs = opts.ttlMs ?? LOCK_DEFAULTS.ttlMs;
    this.capMs = opts.capMs ?? LOCK_DEFAULTS.capMs;
    this.confirmTimeoutMs = opts.confirmTimeoutMs ?? 5000;
    this.locking = new LockConfirmation({
      transport,
      confirmTimeoutMs: this.confirmTimeoutMs,
      closed: () => this.closed,
      locks: () => this.state.locks,
      setLocks: (locks) => {
        this.state = { ...this.state, locks };
      },
      publish: () => this.publish(),
      judge: (c, viewOf) => this.judge(c, viewOf),
      judgingView: () => this.judgingView(),
      view: () => this.view(),
      whenSettled: (ids, cb) => whenSettled(this.transport.view, this.state.id, ids, this.opts, cb),
      lockConfirmed: (c) => this.emit('lock-confirmed', [c]),
      lockLost: (c) => this.emit('lock-lost', [{ claim: c, reason: 'conflict' }]),
    });
    this.state = newSessionState(opts.info, { host: opts.host, pid: opts.pid, cwd: opts.cwd }, Date.now(), opts.hosted);
    this.publish();
    this.heartbeat = setInterval(() => this.tick(), opts.heartbeatMs ?? 10_000);
    (this.heartbeat as { unref?: () => void }).unref?.();
    this.unsubStatus = transport.onStatus((online) => {
      if (online) this.locking.reconcileUnconfirmed();
    });
    this.leaveHub = joinYieldHub(transport.view, this);
  }

  get id(): string {
    return this.state.id;
  }

  get clientId(): number {
    return this.transport.local.clientID;
  }

  /** A copy of the published state. */
  get current(): SessionState {
    return structuredClone(this.state);
  }

  /** The published state itself, not copied (it is replaced, never changed in place): for hot paths that only read. */
  get published(): Readonly<SessionState> {
    return this.state;
  }

  private publish(): number {
    if (this.closed) return 0;
    const cur = this.transport.local.getLocalState();
    this.transport.local.setLocalState({ ...(cur ?? {}), huddle: this.state });
    return this.transport.local.meta.get(this.transport.local.clientID)?.clock ?? 0;
  }

  /** A sign of life, optionally with new facts (task, intent, branch...). Renews held locks' TTL. */
  touch(patch: Partial<Pick<SessionState, 'name' | 'role' | 'agent' | 'task' | 'intent' | 'branch' | 'cwd' | 'host' | 'pid'>> = {}, renewLocks = false): void {
    const now = Date.now();
    const next: SessionState = { ...this.state, ...dropUndefined(patch), lastActive: now };
    if (renewLocks) next.locks = next.locks.map((c) => ({ ...c, expiresAt: Math.min(c.capAt, Math.max(c.expiresAt, now + this.ttlMs)) }));
    this.state = next;
    this.publish();
  }

  /**
   * Take back the state a previous run of the host left (a server restart): start,
   * last sign of life and locks. The locks come back unconfirmed and are ordered
   * again by the relay rule, so a claim another session took meanwhile wins and
   * this one is dropped (`lock-lost`, reason 'conflict').
   */
  restore(prev: Pick<SessionState, 'startedAt' | 'lastActive' | 'locks'>): void {
    const now = Date.now();
    const locks = prev.locks.filter((c) => claimLive(c, now)).map((c) => ({ ...c, confirmed: false }));
    this.state = { ...this.state, startedAt: prev.startedAt, lastActive: prev.lastActive, locks };
    this.publish();
    this.locking.reconcileUnconfirmed();
  }

  /** Record that this session edits `path` (repository-relative), with line ranges when known. */
  editing(path: string, ranges?: Array<[number, number]>): void {
    this.state = { ...this.state, lastActive: Date.now(), editing: withEditing(this.state.editing, { path: normalizePattern(path), ranges, at: Date.now() }) };
    this.publish();
  }

  /**
   * The view to judge our claims with: the cached one when only our own state changed since it was
   * built (as when the relay orders a claim we just published: judge looks only at other sessions'
   * claims, which a rebuild would show unchanged), else a fresh one. Saves a full presence build
   * per lock operation.
   */
  private judgingView(now = Date.now()): PresenceView {
    return this.viewCache.othersAsCached(this.transport.view.getStates(), this.generation, now, this.clientId) ?? this.view(now);
  }

  /** Everyone's presence as this session sees it. */
  view(now = Date.now()): PresenceView {
    return this.viewCache.get(this.transport.view.getStates(), this.generation, { now, isForced: this.opts.isForced, thresholds: this.opts.thresholds });
  }

  private readonly viewCache = new PresenceCache();
  /** Bumped on every document change: forced releases live in the document. */
  private generation = 0;

  /**
   * Locks of other sessions that stand in the way of claiming `paths` in `mode`.
   * With `anyClaim`, every live claim of another session counts, even one that
   * is itself blocked: at confirmation time, whatever we see was ordered first.
   */
  blockers(paths: string[], mode: LockMode, anyClaim = false): LockView[] {
    // Most claims are on free files: no live claim of another session overlaps, no view needed.
    if (!this.mayConflict(paths, mode, Date.now())) return [];
    const v = this.view();
    const out: LockView[] = [];
    for (const l of v.locks) {
      if ((l.state === 'blocked' && !anyClaim) || l.session === this.state.id) continue;
      if (paths.some((p) => conflicts(l, { path: p, mode, session: this.state.id }))) out.push(l);
    }
    return out;
  }

  /**
   * Whether a live claim of another (non-stale) session in view may conflict with one of `paths`
   * in `mode`. False is exact: then no lock of another session in any view built from now on
   * (before the states change) conflicts, since a view holds a subset of these claims. True: look
   * at the view. A scan of the states without resolving anything: a lock operation on a free
   * file does not pay for a full presence build.
   */
  private mayConflict(paths: string[], mode: LockMode, now: number): boolean {
    return othersClaimMeets(this.transport.view.getStates(), this.state.id, paths, now, { exclusiveOnly: mode === 'shared', thresholds: this.opts.thresholds });
  }

  /** This session's own claims. */
  claims(): LockClaim[] {
    return this.state.locks.map((c) => ({ ...c }));
  }

  async acquire(input: string[], opts: AcquireOptions = {}): Promise<AcquireResult> {
    if (this.closed) throw new Error('session is closed');
    const paths = Array.from(new Set(input.map(normalizePattern)));
    if (paths.length === 0) throw new Error('no path to lock');
    const mode = opts.mode ?? 'exclusive';
    const ttl = opts.ttlMs ?? this.ttlMs;
    const deadline = Date.now() + (opts.waitMs ?? 0);
    const signal = opts.signal;
    for (;;) {
      const blockers = this.blockers(paths, mode);
      if (blockers.length > 0) {
        if (Date.now() >= deadline || signal?.aborted) return { status: 'held', paths, holder: blockers[0] };
        await viewChange(this.transport.view, deadline, signal);
        continue;
      }
      const now = Date.now();
      const added: string[] = [];
      let locks = this.state.locks.slice();
      for (const p of paths) {
        const i = locks.findIndex((c) => c.path === p);
        if (i >= 0) {
          // Re-acquiring renews; a change of mode or reason is a new claim.
          const c = locks[i];
          if (c.mode === mode) {
            locks[i] = { ...c, reason: opts.reason ?? c.reason, expiresAt: Math.min(c.capAt, now + ttl) };
            continue;
          }
          locks.splice(i, 1);
        }
        const claim: LockClaim = { id: newId('l'), path: p, mode, claimedAt: now, expiresAt: now + ttl, capAt: now + this.capMs, confirmed: false, ...(opts.reason ? { reason: opts.reason } : {}) };
        locks.push(claim);
        added.push(claim.id);
      }
      this.state = { ...this.state, lastActive: now, locks };
      const clock = this.publish();
      const mine = () => this.state.locks.filter((c) => paths.includes(c.path));
      if (added.length === 0 && mine().every((c) => c.confirmed)) return { status: 'confirmed', paths, claims: mine() };
      if (!this.transport.online()) return { status: 'unconfirmed', paths, claims: mine() };
      const outcome = await this.locking.confirm(clock, paths);
      if (signal?.aborted && typeof outcome === 'string') {
        // Granted (or still pending) for an asker that is gone: give back what this call claimed; renewals stay.
        const gone = this.state.locks.filter((c) => added.includes(c.id)).map((c) => c.path);
        if (gone.length) this.release(gone);
        return { status: 'unconfirmed', paths, claims: mine() };
      }
      if (outcome === 'confirmed') return { status: 'confirmed', paths, claims: mine() };
      if (outcome === 'unconfirmed') {
        // No echo in time while online (a stalled relay): keep waiting for the order in the background.
        this.locking.reconcileUnconfirmed();
        return { status: 'unconfirmed', paths, claims: mine() };
      }
      // Lost the race: our claims were withdrawn in confirm() (lock-confirmation.ts). Name the holder once it is known:
      // the rival we lost to may itself yield to an earlier claim still on its way to us.
      if (Date.now() >= deadline || signal?.aborted) return { status: 'held', paths, holder: await settledHolder(this.transport.view, () => this.blockers(paths, mode), outcome) };
      await viewChange(this.transport.view, deadline, signal);
    }
  }

  /** Our session as the resolution rule sees it. */
  private get owner(): ClaimOwner {
    return { clientId: this.clientId, session: this.state.id, sessionName: this.state.name, role: this.state.role };
  }

  /** Judge one of our claims the relay has just ordered (see judgeClaim in lock-confirmation.ts). */
  private judge(c: LockClaim, viewOf: () => PresenceView): Judgement {
    return judgeClaim(c, this.owner, () => this.mayConflict([c.path], c.mode, Date.now()), viewOf);
  }

  /** Release claims on these paths (all when omitted). Returns the released paths. */
  release(input?: string[]): string[] {
    const paths = input ? input.map(normalizePattern) : null;
    const released = this.state.locks.filter((c) => !paths || paths.includes(c.path)).map((c) => c.path);
    if (released.length === 0) return [];
    this.state = { ...this.state, lastActive: Date.now(), locks: this.state.locks.filter((c) => paths && !paths.includes(c.path)) };
    this.publish();
    return released;
  }

  /** Extend the TTL of held claims (all when omitted), up to their cap. */
  renew(input?: string[], ttlMs = this.ttlMs): LockClaim[] {
    const paths = input ? input.map(normalizePattern) : null;
    const now = Date.now();
    this.state = {
      ...this.state,
      lastActive: now,
      locks: this.state.locks.map((c) => (!paths || paths.includes(c.path) ? { ...c, expiresAt: Math.min(c.capAt, now + ttlMs) } : c)),
    };
    this.publish();
    return this.claims().filter((c) => !paths || paths.includes(c.path));
  }

  /** Drop claims that expired or were force-released, telling listeners. */
  private sweep(): void {
    const now = Date.now();
    const lost: Array<{ claim: LockClaim; reason: LockLostReason }> = [];
    const keep: LockClaim[] = [];
    for (const c of this.state.locks) {
      if (this.opts.isForced?.(c.id)) lost.push({ claim: c, reason: 'forced' });
      else if (now >= c.expiresAt || now >= c.capAt) lost.push({ claim: c, reason: 'expired' });
      else keep.push(c);
    }
    if (lost.length === 0) return;
    this.state = { ...this.state, locks: keep };
    this.publish();
    for (const l of lost) this.emit('lock-lost', [l]);
  }

  /** Call when the shared document changed (forced releases live there). */
  documentChanged(): void {
    this.generation++;
    this.sweep();
  }

  private tick(): void {
    try {
      this.sweep();
      // Renew the awareness clock so peers keep us (heartbeats never touch the document).
      this.publish();
    } catch {
      // A timer must never end the process; the next tick tries again.
    }
  }

  private mineFor: LockClaim[] | null = null;
  private mineIndex: ClaimIndex<LockClaim> | null = null;
  /** Presence changes reach checkYield through one listener per awareness (yield-index.ts). */
  private readonly leaveHub: () => void;

  /**
   * Two confirmed claims can meet after a partition heals: the resolution rule decides, the
   * loser yields. Only other sessions' confirmed claims can beat a confirmed claim, and ours
   * was checked against every claim in view when it was confirmed, so only the states that
   * changed since (`ids`) are scanned. Called by the awareness' shared index (yield-index.ts)
   * only when a changed state holds a confirmed claim meeting one of ours: with 100 hosted
   * sessions, a presence change costs one index lookup per claim, not one scan per session.
   * @internal
   */
  checkYield(ids: number[]): void {
    if (this.closed) return;
    if (ids.length === 0) return;
    // Our confirmed claims, indexed by literal head (rebuilt only when our locks change).
    if (this.mineFor !== this.state.locks) {
      this.mineFor = this.state.locks;
      this.mineIndex = new ClaimIndex<LockClaim>();
      for (const c of this.state.locks) if (c.confirmed) this.mineIndex.add(c);
    }
    const index = this.mineIndex!;
    if (!this.state.locks.some((c) => c.confirmed)) return;
    const lost = claimsToYield(this.transport.view.getStates(), ids, this.owner, index, Date.now(), this.opts);
    if (lost.length === 0) return;
    this.state = { ...this.state, locks: this.state.locks.filter((c) => !lost.some((l) => l.id === c.id)) };
    this.publish();
    for (const l of lost) this.emit('lock-lost', [{ claim: l, reason: 'conflict' }]);
  }

  /** Leave: clear our state so every peer drops us at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.unsubStatus();
    this.locking.stop();
    this.leaveHub();
    this.transport.local.setLocalState(null);
    super.destroy();
  }
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}