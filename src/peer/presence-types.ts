/** The types a Presence is built and driven with (presence.ts re-exports them). */
import type { Awareness } from 'y-protocols/awareness';
import type { LockClaim, LockMode } from '../model/locks.js';
import type { SessionInfo, STATUS_THRESHOLDS } from '../model/session.js';
import type { LockView } from '../model/view.js';

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
  /**
   * The asker is gone (the server: the HTTP request's connection closed): stop waiting and claim
   * nothing more; a claim it was granted meanwhile is released. Without it a claim granted after
   * `huddle lock --wait` was interrupted stayed held, by nobody, until its TTL.
   */
  signal?: AbortSignal;
}

export type AcquireResult =
  | { status: 'confirmed'; paths: string[]; claims: LockClaim[] }
  | { status: 'unconfirmed'; paths: string[]; claims: LockClaim[] }
  | { status: 'held'; paths: string[]; holder: LockView };

export type LockLostReason = 'forced' | 'expired' | 'conflict';

/** What makes another session's claim count: its session not stale, the claim not force-released. */
export interface ClaimFilters {
  thresholds?: typeof STATUS_THRESHOLDS;
  isForced?: (claimId: string) => boolean;
}
