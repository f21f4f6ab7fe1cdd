/**
 * What a room knows of each connected peer: the interface it needs of a
 * connection, the state it keeps per peer, and the two things it sends each
 * peer off the durable pipeline (coalesced acks, and the broadcast of batches).
 */
import { encodeStored, encodeUpdate } from '../src/protocol/messages.js';
import type { AwarenessBudget } from './rate-limit.js';
import type { DurableBatch, DurablePipeline } from './pipeline.js';
import type { Metrics } from './metrics.js';

/** What a room needs of a connection. Implemented over `ws` in connection.ts; it is its own transaction origin. */
export interface RoomPeer {
  readonly kind: 'connection';
  readonly id: number;
  readonly readOnly: boolean;
  send(frame: Uint8Array): void;
  /** Optional: hold writes until uncork, so that a batch leaves in one system call. */
  cork?(): void;
  uncork?(): void;
  close(code: number, reason: string): void;
}

/** What the room keeps per peer. */
export interface PeerState {
  /** Awareness client IDs this peer has published; removed when it leaves (made on first use). */
  awarenessIds: Set<number> | null;
  /** Opted in to MSG_STORED acknowledgements. */
  storedSubscribed: boolean;
  /** Highest pipeline sequence this peer awaits an ack for. */
  ackSeq: number;
  ackScheduled: boolean;
  deniedOnce: boolean;
  /** Inbound awareness budget (rate-limit.ts); made on the first awareness frame. */
  awarenessBudget: AwarenessBudget | null;
}

/** The state of a peer that just joined. */
export function newPeerState(): PeerState {
  return { awarenessIds: null, storedSubscribed: false, ackSeq: 0, ackScheduled: false, deniedOnce: false, awarenessBudget: null };
}

/**
 * Acknowledge to `peer` once everything it sent so far is durable (coalesced per peer).
 * `connected` tells whether the peer is still there; `durableStateVector` is read only then.
 */
export function scheduleAck(pipeline: DurablePipeline, peer: RoomPeer, state: PeerState, connected: () => boolean, durableStateVector: () => Uint8Array): void {
  state.ackSeq = pipeline.seq;
  if (state.ackScheduled) return;
  state.ackScheduled = true;
  const fire = () => {
    if (!pipeline.isDurable(state.ackSeq)) return pipeline.waitFor(state.ackSeq, fire);
    state.ackScheduled = false;
    if (connected()) peer.send(encodeStored(durableStateVector()));
  };
  pipeline.afterDurable(fire);
}

/**
 * Send a durable batch: one frame per update (merging a large batch costs more than
 * sending it: Y.mergeUpdates grows faster than linearly), each to every peer but its
 * sender, written in one go per peer by corking its socket.
 */
export function broadcast(peers: Iterable<RoomPeer>, batch: DurableBatch, metrics: Metrics): void {
  const frames = batch.map((p) => encodeUpdate(p.update));
  for (const peer of peers) {
    peer.cork?.();
    for (let i = 0; i < batch.length; i++) {
      if (batch[i].origin === peer) continue;
      peer.send(frames[i]);
      metrics.updatesOut++;
    }
    peer.uncork?.();
  }
}
