/**
 * The awareness gate of one room: which publisher owns each awareness client
 * ID, what a peer may change (screening), how updates are echoed, and reaping
 * of states that were not renewed. Awareness is never persisted, so it does not
 * go through the durable pipeline.
 */
import * as awarenessProtocol from 'y-protocols/awareness';
import {
  CLOSE_MALFORMED,
  ProtocolError,
  encodeAwarenessOf,
  encodeAwarenessUpdateOf,
  readAwarenessEntries,
  type AwarenessEntryRaw,
} from '../src/protocol/messages.js';
import { originOf, type Origin } from '../src/protocol/origin.js';
import type { PeerState, RoomPeer } from './room-peer.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { screenPresence, sessionOwners, takeoverAllowed } from './presence-screen.js';
import { AwarenessBatcher } from './awareness-batch.js';
import { guarded } from './guard.js';

/** Bounds on awareness client IDs: per frame, and per connection. */
const MAX_AWARENESS_PER_FRAME = 1000;
const MAX_AWARENESS_PER_PEER = 1000;

/** Origins of removals the gate makes itself. */
export const DISCONNECT: Origin = Object.freeze({ kind: 'server', by: 'disconnect' });
export const TIMEOUT: Origin = Object.freeze({ kind: 'server', by: 'timeout' });

/** What the gate needs of its room. */
export interface GateHost {
  readonly awareness: awarenessProtocol.Awareness;
  readonly peers: ReadonlyMap<RoomPeer, PeerState>;
  /** True while a team relay's order is authoritative: it echoes a peer's own updates then. */
  upstreamAuthoritative(): boolean;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** A peer gets at most one full awareness answer per this interval. */
const QUERY_INTERVAL_MS = 1000;

/** Which publishers own client IDs: those that are objects of ours (connection, hosted session, upstream link). */
function isPublisher(o: Origin): boolean {
  return o.kind === 'connection' || o.kind === 'hosted' || o.kind === 'upstream';
}

export class AwarenessGate {
  /** Which peer (or hosted session, or upstream link) published each awareness client ID. */
  private readonly owners = new Map<number, Origin>();
  /** Set while applying a peer's awareness update whose clock reviveClocks lifted. */
  private revived = false;
  private readonly reaper: NodeJS.Timeout;
  /** Outgoing awareness, coalesced per turn of the event loop (awareness-batch.ts). */
  private readonly out: AwarenessBatcher;
  /** When each peer last got a full awareness answer (query-awareness is rate-limited). */
  private readonly queried = new WeakMap<RoomPeer, { at: number; timer: NodeJS.Timeout | null }>();
  private destroyed = false;

  constructor(private readonly host: GateHost, timeoutMs: number) {
    this.out = new AwarenessBatcher(host.awareness, { [Symbol.iterator]: () => host.peers.keys() }, host.metrics);
    host.awareness.on('update', this.onUpdate);
    this.reaper = setInterval(guarded(host.log, host.metrics, 'awareness reaper', () => this.reap(timeoutMs)), Math.max(100, Math.min(3000, Math.floor(timeoutMs / 10))));
    this.reaper.unref();
  }

  /** Screen and apply a peer's awareness update. Throws ProtocolError for bad input. */
  apply(peer: RoomPeer, state: PeerState, raw: Uint8Array): void {
    try {
      const { update, revived } = this.screen(peer, state, raw);
      if (!update) return;
      this.revived = revived;
      awarenessProtocol.applyAwarenessUpdate(this.host.awareness, update, peer);
    } catch (err) {
      throw new ProtocolError(`awareness update could not be applied: ${(err as Error).message}`, CLOSE_MALFORMED);
    } finally {
      this.revived = false;
    }
  }

  /**
   * A peer left: broadcast the removal of every client ID it published at once, with
   * clock + 1 so that it beats the last state every peer holds, instead of letting
   * peers time out after 30 s.
   */
  peerLeft(peer: RoomPeer, state: PeerState): void {
    if (!state.awarenessIds) return;
    const aw = this.host.awareness;
    // Not the IDs another connection has taken over since (a reconnect whose old socket lingered).
    const ids = Array.from(state.awarenessIds).filter((id) => aw.getStates().has(id) && this.owners.get(id) === peer);
    if (ids.length > 0) removeWithNextClock(aw, ids, DISCONNECT);
  }

  /**
   * Answer a query-awareness: every state, which may be large, for a 1-byte request. At most
   * one answer a second per peer; queries meanwhile get one answer at the end of that second.
   */
  answerQuery(peer: RoomPeer): void {
    const q = this.queried.get(peer) ?? { at: 0, timer: null };
    this.queried.set(peer, q);
    if (q.timer) return;
    const answer = () => {
      q.timer = null;
      q.at = Date.now();
      if (this.destroyed || !this.host.peers.has(peer)) return;
      this.out.flush();
      peer.send(encodeAwarenessOf(this.host.awareness, Array.from(this.host.awareness.getStates().keys())));
    };
    const wait = q.at + QUERY_INTERVAL_MS - Date.now();
    if (wait <= 0) answer();
    else {
      q.timer = setTimeout(answer, wait);
      q.timer.unref();
    }
  }

  /** Send the queued (coalesced) broadcast now; see Room.flushAwareness. */
  flush(): void {
    this.out.flush();
  }

  destroy(): void {
    this.destroyed = true;
    this.out.destroy();
    clearInterval(this.reaper);
    this.host.awareness.off('update', this.onUpdate);
  }

  /**
   * A peer may not change client IDs another publisher owns (a read-write peer may take
   * one over with a newer clock, as a client whose old connection has not been reaped yet
   * does); a read-only peer may not publish locks; removals of IDs never seen are dropped
   * (they would only grow the meta map); and the number of IDs per frame and per peer is
   * bounded. Returns the update to apply (null when nothing is left) and whether a clock
   * was lifted (reviveClocks).
   */
  private screen(peer: RoomPeer, state: PeerState, update: Uint8Array): { update: Uint8Array | null; revived: boolean } {
    const aw = this.host.awareness;
    const entries = readAwarenessEntries(update, MAX_AWARENESS_PER_FRAME);
    const ownerOfSession = sessionOwners(aw, this.owners);
    const published = state.awarenessIds?.size ?? 0;
    const keep = entries.filter((e) => {
      const owner = this.owners.get(e.clientID);
      if (owner !== undefined && owner !== peer) {
        if (peer.readOnly) return false;
        if (e.clock <= (aw.meta.get(e.clientID)?.clock ?? 0)) return false;
        // Only the reconnect case: the same session from a new connection; never a removal, never a
        // hosted session's or upstream link's ID (issue 13 §4).
        if (owner.kind !== 'connection' || !this.host.peers.has(owner as RoomPeer) || !takeoverAllowed(e.json, aw.states.get(e.clientID))) return false;
      }
      if (e.json === 'null') return aw.meta.has(e.clientID);
      if (owner !== peer && published >= MAX_AWARENESS_PER_PEER) return false;
      // Parsed, not pattern-matched: read-only locks and session ids owned elsewhere (presence-screen.ts).
      const verdict = screenPresence({ json: e.json, readOnly: peer.readOnly, publisher: peer, ownerOfSession: (sid) => ownerOfSession(sid, e.clientID) });
      if (verdict === 'unparsable') throw new ProtocolError('awareness state is not JSON', CLOSE_MALFORMED);
      return verdict === null;
    });
    if (keep.length === 0) return { update: null, revived: false };
    const revived = reviveClocks(aw, keep);
    // Decoded once; re-encoded only when an entry was dropped or a clock lifted.
    return { update: revived || keep.length !== entries.length ? encodeAwarenessUpdateOf(keep) : update, revived };
  }

  private onUpdate = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, rawOrigin: unknown): void => {
    const changed = added.concat(updated, removed);
    if (changed.length === 0) return;
    const origin = originOf(rawOrigin);
    if (isPublisher(origin)) {
      for (const id of added) this.owners.set(id, origin);
      for (const id of updated) this.owners.set(id, origin);
    }
    for (const id of removed) this.owners.delete(id);
    const sender = origin.kind === 'connection' ? this.host.peers.get(origin as RoomPeer) : undefined;
    if (sender) {
      const ids = (sender.awarenessIds ??= new Set());
      for (const id of added) ids.add(id);
      for (const id of updated) ids.add(id);
      for (const id of removed) ids.delete(id);
    }
    // Echo to the sender too: the echo tells it where the relay ordered its update (locks rely
    // on this), and carries a revived clock back after a reconnect. While a team relay's order
    // is authoritative, the upstream link echoes it instead, once the team relay has ordered it.
    const skip = sender && this.host.upstreamAuthoritative() && !this.revived ? origin : null;
    // Coalesced per turn of the event loop (awareness-batch.ts), unless a peer is skipped.
    this.out.changed(changed, (skip as RoomPeer | null) ?? null);
  };

  private reap(timeout: number): void {
    const aw = this.host.awareness;
    const now = Date.now();
    const stale: number[] = [];
    aw.meta.forEach((meta, id) => {
      if (id !== aw.clientID && now - meta.lastUpdated >= timeout && aw.states.has(id)) stale.push(id);
    });
    if (stale.length > 0) removeWithNextClock(aw, stale, TIMEOUT);
    // The clock of a removed client is kept a while (it keeps a late, older state from coming
    // back), then forgotten, so that the meta map does not grow for ever.
    for (const [id, meta] of aw.meta) {
      if (id !== aw.clientID && !aw.states.has(id) && now - meta.lastUpdated >= 10 * timeout) aw.meta.delete(id);
    }
  }
}

/** Remove remote awareness states by applying a null state with clock + 1, so the removal wins everywhere. */
export function removeWithNextClock(awareness: awarenessProtocol.Awareness, ids: number[], origin: unknown): void {
  const update = encodeAwarenessUpdateOf(ids.map((id) => ({ clientID: id, clock: (awareness.meta.get(id)?.clock ?? 0) + 1, json: 'null' })));
  awarenessProtocol.applyAwarenessUpdate(awareness, update, origin);
}

/**
 * A client that comes back after its state was removed re-sends its state with
 * the clock it had, which every peer would ignore (the removal's clock is
 * higher). Lift such clocks above the removal (in place) so the state reappears
 * at once. Returns whether any clock was lifted.
 */
export function reviveClocks(awareness: awarenessProtocol.Awareness, entries: AwarenessEntryRaw[]): boolean {
  let changed = false;
  for (const x of entries) {
    const meta = awareness.meta.get(x.clientID);
    if (meta && x.json !== 'null' && !awareness.states.has(x.clientID) && x.clock <= meta.clock) {
      x.clock = meta.clock + 1;
      changed = true;
    }
  }
  return changed;
}
