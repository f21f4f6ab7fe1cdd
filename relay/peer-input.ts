/**
 * What a room admits from a peer: document updates (refused from read-only tokens
 * and while the store refuses writes; malformed or dependency-starved updates end
 * the connection) and awareness frames (bounded per connection).
 */
import * as Y from 'yjs';
import { CLOSE_MALFORMED, CLOSE_POLICY, CLOSE_RATE_LIMIT, CLOSE_TRY_AGAIN, ProtocolError, encodePermissionDenied } from '../src/protocol/messages.js';
import { beforeApply, dropPending, pendingProblem } from '../src/protocol/pending.js';
import { AwarenessBudget, awarenessEntryCount } from './rate-limit.js';
import type { PeerState, RoomPeer } from './room-peer.js';
import type { ServerConfig } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/** What admitting needs of the room. */
export interface InputContext {
  readonly project: string;
  readonly doc: Y.Doc;
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Why writes are refused right now (a remote store is unreachable), or null. */
  writesRefused?(): string | null;
}

/** Yjs's encoding of an update that holds nothing (no structs, no deletions). */
export function isEmptyUpdate(u: Uint8Array): boolean {
  return u.length === 2 && u[0] === 0 && u[1] === 0;
}

/**
 * Apply a peer's document update to the doc, the peer being the transaction origin.
 * Returns false when it was refused (the peer is told, or closed to retry later).
 * Throws ProtocolError for an update that cannot be applied.
 */
export function applyPeerUpdate(c: InputContext, peer: RoomPeer, state: PeerState, update: Uint8Array): boolean {
  c.metrics.updatesIn++;
  if (peer.readOnly) {
    if (!state.deniedOnce) {
      state.deniedOnce = true;
      peer.send(encodePermissionDenied('read-only token: document updates are refused'));
      c.log.info('update refused from read-only client', { project: c.project, peer: peer.id });
    }
    return false;
  }
  const refused = !isEmptyUpdate(update) ? c.writesRefused?.() : null;
  if (refused) {
    // Not applied: the client keeps the update and sends it again when it reconnects.
    c.metrics.writesRefused++;
    peer.close(CLOSE_TRY_AGAIN, refused);
    return false;
  }
  try {
    beforeApply(c.doc, peer);
    if (!isEmptyUpdate(update)) Y.applyUpdate(c.doc, update, peer);
  } catch (err) {
    throw new ProtocolError(`update could not be applied: ${(err as Error).message}`, CLOSE_MALFORMED);
  }
  // Updates whose dependencies never arrive are bounded (src/protocol/pending.ts).
  const pendingIssue = pendingProblem(c.doc, peer);
  if (pendingIssue) {
    dropPending(c.doc);
    c.metrics.pendingOverflows++;
    throw new ProtocolError(pendingIssue, CLOSE_POLICY);
  }
  return true;
}

/**
 * Charge an awareness frame to the peer's budget: one client flooding awareness must
 * not stall the others. Returns whether to apply it; throws ProtocolError to close a flooder.
 */
export function admitAwareness(c: InputContext, state: PeerState, update: Uint8Array): boolean {
  c.metrics.awarenessIn++;
  const now = Date.now();
  const budget = (state.awarenessBudget ??= new AwarenessBudget(c.config.awarenessRate, c.config.awarenessBurst, now));
  const verdict = budget.charge(awarenessEntryCount(update), now);
  if (verdict === 'ok') return true;
  c.metrics.awarenessThrottled++;
  if (verdict === 'close') throw new ProtocolError(`awareness rate limit exceeded (at most ${c.config.awarenessRate} entries a second)`, CLOSE_RATE_LIMIT);
  return false;
}
