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
 * confirmed and let the relay order ours again (see judge). A claim is never
 * confirmed with a conflicting claim ordered before it in view, so among
 * simultaneous claims at most one is confirmed (and, all connected, one is). Offline (the
 * transport is not authoritative), claims stay 'unconfirmed' and are settled
 * by the same rule when it is again (reconcileUnconfirmed).
 */
import type { Awareness } from 'y-protocols/awareness';
import { ObservableV2 } from 'lib0/observable';
import { ClaimIndex, LOCK_DEFAULTS, claimLive, conflicts, precedes, type LockClaim, type LockMode } from '../model/locks.js';
import { normalizePattern, patternsOverlap } from '../model/paths.js';
import { newId } from '../model/ids.js';
import {
  newSessionState,
  sessionOf,
  statusOf,
  withEditing,
  type SessionInfo,
  type SessionState,
  STATUS_THRESHOLDS,
} from '../model/session.js';
import { PresenceCache, type LockView, type PresenceView } from '../model/view.js';
import { joinYieldHub } from './yield-index.js';
import { othersClaimMeets } from '../model/claims-seen.js';

export interface PresenceTransport {
  /** Awareness whose local state is this session's. */
  readonly local: Awareness;
  /** Awareness holding everyone's states in the order the relay gave them. */
  readonly view: Awareness;
  /** Whether the relay's order is available now (connected to an authoritative relay). */
  online(): boolean;
  /**
   * Call `cb` synchronously at the moment our state at `clock` (or later) has
   * been ordered by the relay. Returns a function that cancels the wait.
   */
  onOrdered(clock: number, cb: () => void): () => void;
  /** Subscribe to online/offline changes. */
  onStatus(cb: (online: boolean) => void): () => void;
}

export interface PresenceOptions {
  info: SessionInfo;
  hosted: boolean;
  host: string;
  pid: number;
  cwd: string;
  /** How often to renew the awareness state. Default 10 s. */
  heartbeatMs?: number;
  /** Whether a claim id was force-released (from the shared document). */
  isForced?: (claimId: string) => boolean;
  /** Lock defaults. */
  ttlMs?: number;
  capMs?: number;
  /** How long to wait for the relay's echo before reporting a claim unconfirmed. Default 5 s. */
  confirmTimeoutMs?: number;
  thresholds?: typeof STATUS_THRESHOLDS;
}

export interface AcquireOptions {
  mode?: LockMode;
  reason?: string;
  ttlMs?: number;
  /** Wait up to this long for the holder to release. Default 0: answer at once. */
  waitMs?: number;
}

export type AcquireResult =
  | { status: 'confirmed'; paths: string[]; claims: LockClaim[] }
  | { status: 'unconfirmed'; paths: string[]; claims: LockClaim[] }
  | { status: 'held'; paths: string[]; holder: LockView };

export type LockLostReason = 'forced' | 'expired' | 'conflict';

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
  private reconciling = false;

  constructor(readonly transport: PresenceTransport, private readonly opts: PresenceOptions) {
    super();
    this.ttlMs = opts.ttlMs ?? LOCK_DEFAULTS.ttlMs;
    this.capMs = opts.capMs ?? LOCK_DEFAULTS.capMs;
    this.confirmTimeoutMs = opts.confirmTimeoutMs ?? 5000;
    this.state = newSessionState(opts.info, { host: opts.host, pid: opts.pid, cwd: opts.cwd }, Date.now(), opts.hosted);
    this.publish();
    this.heartbeat = setInterval(() => this.tick(), opts.heartbeatMs ?? 10_000);
    (this.heartbeat as { unref?: () => void }).unref?.();
    this.unsubStatus = transport.onStatus((online) => {
      if (online) this.reconcileUnconfirmed();
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
    this.reconcileUnconfirmed();
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
    for (;;) {
      const blockers = this.blockers(paths, mode);
      if (blockers.length > 0) {
        if (Date.now() >= deadline) return { status: 'held', paths, holder: blockers[0] };
        await this.viewChange(deadline);
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
      const outcome = await this.confirm(clock, paths);
      if (outcome === 'confirmed') return { status: 'confirmed', paths, claims: mine() };
      if (outcome === 'unconfirmed') {
        // No echo in time while online (a stalled relay): keep waiting for the order in the background.
        this.reconcileUnconfirmed();
        return { status: 'unconfirmed', paths, claims: mine() };
      }
      // Lost the race: our claims were withdrawn in confirm(). Name the holder once it is known:
      // the rival we lost to may itself yield to an earlier claim still on its way to us.
      if (Date.now() >= deadline) return { status: 'held', paths, holder: await this.settledHolder(outcome, paths, mode) };
      await this.viewChange(deadline);
    }
  }

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
  private judge(c: LockClaim, viewOf: () => PresenceView): { lose: LockView } | { waitOn: string[] } | null {
    // No live claim of another session overlaps: nothing to judge against (see mayConflict).
    if (!this.mayConflict([c.path], c.mode, Date.now())) return null;
    const view = viewOf();
    const me = { clientId: this.clientId, session: this.state.id, sessionName: this.state.name, role: this.state.role };
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

  /**
   * After losing: wait briefly (at most `maxMs`) for a confirmed claim that blocks us to show,
   * and report it; otherwise the best guess so far.
   */
  private async settledHolder(guess: LockView, paths: string[], mode: LockMode, maxMs = 500): Promise<LockView> {
    const until = Date.now() + maxMs;
    for (;;) {
      const held = this.blockers(paths, mode).find((l) => l.confirmed);
      if (held) return held;
      if (Date.now() >= until) return this.blockers(paths, mode)[0] ?? guess;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.transport.view.off('change', done);
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(done, Math.max(0, until - Date.now()));
        this.transport.view.on('change', done);
      });
    }
  }

  /** Call `cb` once any of these claims of others is withdrawn, confirmed, expired or gone. Returns a cancel. */
  private whenSettled(ids: string[], cb: () => void): () => void {
    const want = new Set(ids);
    const open = () => {
      const now = Date.now();
      let n = 0;
      for (const raw of this.transport.view.getStates().values()) {
        const s = sessionOf(raw);
        if (!s || s.id === this.state.id || statusOf(s, now, this.opts.thresholds) === 'stale') continue;
        for (const c of s.locks ?? []) if (want.has(c.id) && !c.confirmed && claimLive(c, now) && !this.opts.isForced?.(c.id)) n++;
      }
      return n;
    };
    let stopped = false;
    const stop = () => {
      stopped = true;
      this.transport.view.off('change', check);
      clearInterval(timer);
    };
    const check = () => {
      if (stopped || open() === want.size) return;
      stop();
      cb();
    };
    this.transport.view.on('change', check);
    // Expiry and staleness come with time, not with a change event.
    const timer = setInterval(check, 1000);
    (timer as { unref?: () => void }).unref?.();
    queueMicrotask(check);
    return stop;
  }

  /**
   * Wait for the relay to order our state at `clock`, then decide (see judge), ordering
   * again after a wait. Resolves 'confirmed', 'unconfirmed' (offline, or no decision in
   * time) or the lock that won.
   */
  private confirm(clock: number, paths: string[]): Promise<'confirmed' | 'unconfirmed' | LockView> {
    return new Promise((resolve) => {
      let done = false;
      let cancel: () => void = () => {};
      let unsub: () => void = () => {};
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deciding = this.state.locks.filter((c) => paths.includes(c.path) && !c.confirmed).map((c) => c.id);
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
      unsub = this.transport.onStatus((online) => {
        if (!online) finish('unconfirmed');
      });
      timer = setTimeout(() => finish('unconfirmed'), this.confirmTimeoutMs);
      const round = (at: number) => {
        let fired = false;
        // The callback may run synchronously (hosted sessions: the relay is right here).
        const c = this.transport.onOrdered(at, () => {
          fired = true;
          cancel();
          if (done) return;
          let built: PresenceView | null = null;
          const view = () => (built ??= this.judgingView());
          const waitOn: string[] = [];
          for (const claim of this.state.locks) {
            if (!paths.includes(claim.path) || claim.confirmed) continue;
            const j = this.judge(claim, view);
            if (j && 'lose' in j) {
              this.state = { ...this.state, locks: this.state.locks.filter((x) => !(paths.includes(x.path) && !x.confirmed)) };
              this.publish();
              finish(j.lose);
              return;
            }
            if (j) waitOn.push(...j.waitOn);
          }
          if (waitOn.length === 0) {
            this.state = { ...this.state, locks: this.state.locks.map((x) => (paths.includes(x.path) ? { ...x, confirmed: true } : x)) };
            this.publish();
            for (const x of this.state.locks) if (paths.includes(x.path)) this.emit('lock-confirmed', [x]);
            finish('confirmed');
            return;
          }
          cancel = this.whenSettled(waitOn, () => {
            if (!done) round(this.publish());
          });
        });
        if (fired) c();
        else cancel = c;
      };
      round(clock);
    });
  }

  /** Claims a confirm() is deciding now; reconciliation leaves them to it. */
  private readonly inFlight = new Set<string>();
  private cancelReconcile: () => void = () => {};

  /**
   * Settle claims left unconfirmed (taken offline, or with no decision in time) once the
   * relay's order is available: publish, and when the relay has ordered our state, judge
   * each claim (see judge): confirmed, lost (reported), or, while waiting on others, left
   * for another round once they settle.
   */
  private reconcileUnconfirmed(): void {
    if (this.reconciling || this.closed || !this.transport.online()) return;
    const pending = this.state.locks.filter((c) => !c.confirmed && !this.inFlight.has(c.id)).map((c) => c.id);
    if (pending.length === 0) return;
    this.reconciling = true;
    const clock = this.publish();
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
    unsub = this.transport.onStatus((online) => {
      if (!online) end();
    });
    // The callback may run synchronously (hosted sessions without an upstream).
    cancelOrder = this.transport.onOrdered(clock, () => {
      fired = true;
      cancelOrder();
      if (this.closed) return end();
      let built: PresenceView | null = null;
      const view = () => (built ??= this.view());
      const won: string[] = [];
      const lost: LockClaim[] = [];
      const waitOn: string[] = [];
      for (const c of this.state.locks) {
        if (c.confirmed || !pending.includes(c.id) || this.inFlight.has(c.id)) continue;
        const j = this.judge(c, view);
        if (!j) won.push(c.id);
        else if ('lose' in j) lost.push(c);
        else waitOn.push(...j.waitOn);
      }
      if (won.length > 0 || lost.length > 0) {
        this.state = {
          ...this.state,
          locks: this.state.locks.filter((c) => !lost.includes(c)).map((c) => (won.includes(c.id) ? { ...c, confirmed: true } : c)),
        };
        this.publish();
        for (const c of lost) this.emit('lock-lost', [{ claim: c, reason: 'conflict' }]);
        for (const c of this.state.locks) if (won.includes(c.id)) this.emit('lock-confirmed', [c]);
      }
      if (waitOn.length > 0) {
        // Stay 'reconciling' while waiting; go again once one of them settles.
        cancelWait = this.whenSettled(waitOn, () => {
          end();
          this.reconcileUnconfirmed();
        });
        return;
      }
      end();
      // Claims taken meanwhile (not in this round's state) get a round of their own.
      if (this.state.locks.some((c) => !c.confirmed && !this.inFlight.has(c.id))) queueMicrotask(() => this.reconcileUnconfirmed());
    });
    if (ended || fired) cancelOrder();
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
    const now = Date.now();
    const me = { clientId: this.clientId, session: this.state.id, sessionName: this.state.name, role: this.state.role };
    const lost: LockClaim[] = [];
    const states = this.transport.view.getStates();
    for (const clientId of ids) {
      const raw = states.get(clientId);
      const s = sessionOf(raw);
      if (!s || s.id === this.state.id || s.kind === 'watcher' || statusOf(s, now, this.opts.thresholds) === 'stale') continue;
      for (const c of s.locks ?? []) {
        if (!c.confirmed || !claimLive(c, now) || this.opts.isForced?.(c.id)) continue;
        for (const m of index.candidates(c.path)) {
          // Cheap tests first: this runs in every hosted session on every presence change.
          if ((c.mode === 'shared' && m.mode === 'shared') || lost.includes(m) || !patternsOverlap(c.path, m.path)) continue;
          const theirs = { ...c, clientId, session: s.id, sessionName: s.name, role: s.role };
          if (precedes(theirs, { ...m, ...me })) lost.push(m);
        }
      }
    }
    if (lost.length === 0) return;
    this.state = { ...this.state, locks: this.state.locks.filter((c) => !lost.some((l) => l.id === c.id)) };
    this.publish();
    for (const l of lost) this.emit('lock-lost', [{ claim: l, reason: 'conflict' }]);
  }

  private viewChange(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.transport.view.off('change', done);
        clearTimeout(t);
        // Jitter, so that waiters released together do not all claim in the same instant.
        setTimeout(resolve, Math.random() * 20);
      };
      // Also re-check now and then: expiry and staleness change the picture without a change event.
      const t = setTimeout(done, Math.max(0, Math.min(1000, deadline - Date.now())));
      this.transport.view.on('change', done);
    });
  }

  /** Leave: clear our state so every peer drops us at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.unsubStatus();
    this.cancelReconcile();
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
