/**
 * What the relay has durably stored of a doc, as a state vector: grown by its
 * stored acknowledgements and by what it syncs to us (it sends only what it stored).
 */
import * as Y from 'yjs';
import { stateVectorCovers } from '../protocol/messages.js';

export class DurableAcks {
  /** State vector the relay has durably stored, as last acknowledged. */
  readonly stored = new Map<number, number>();

  /** Raise the stored clocks to those of `sv` where it is ahead. */
  merge(sv: Map<number, number>): void {
    for (const [client, clock] of sv) if ((this.stored.get(client) ?? 0) < clock) this.stored.set(client, clock);
  }

  /** Whether all of the state vector `want` is stored. */
  covers(want: Map<number, number>): boolean {
    return stateVectorCovers(this.stored, want);
  }
}

/** The doc's state vector as a map. */
export function docState(doc: Y.Doc): Map<number, number> {
  return Y.decodeStateVector(Y.encodeStateVector(doc));
}

/**
 * The clocks of `doc` that grew since `before`, i.e. what a sync message just gave it.
 * (Compare the doc's state vectors: encodeStateVectorFromUpdate misses updates that do not start at clock 0.)
 */
export function grownSince(doc: Y.Doc, before: Map<number, number>): Map<number, number> {
  const grown = new Map<number, number>();
  for (const [client, clock] of docState(doc)) if (clock > (before.get(client) ?? 0)) grown.set(client, clock);
  return grown;
}
