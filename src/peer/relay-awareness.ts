/**
 * Relay mode of a connection (a server syncing to an upstream relay): which
 * awareness states go up and which came down, so that upstream states are never
 * sent back and our own forwarded states that return are recognised as echoes.
 */
import type * as awarenessProtocol from 'y-protocols/awareness';
import type { AwarenessEntryRaw } from '../protocol/messages.js';

/** Relay mode: one of our own forwarded states as the upstream relay echoed it, in its order. */
export interface EchoEntry {
  clientID: number;
  clock: number;
  /** The state as JSON text, exactly as the upstream sent it. */
  json: string;
  /** Whether the echo was newer than our copy (the upstream lifted its clock) and so was applied. */
  applied: boolean;
}

export class RelayAwareness {
  /** Client IDs whose states arrived from upstream (never sent back up). */
  readonly fromUpstream = new Set<number>();
  private readonly sentUp = new Set<number>();

  constructor(private readonly awareness: awarenessProtocol.Awareness) {}

  /** Of `ids`, those that did not come from upstream, remembered as sent up: the ones to forward. */
  forward(ids: number[]): number[] {
    const up = ids.filter((id) => !this.fromUpstream.has(id));
    for (const id of up) this.sentUp.add(id);
    return up;
  }

  /**
   * Sorts one frame from upstream before it is applied: states of clients we never
   * sent up are upstream's; ours that came back (not removals) are the echoes.
   */
  receive(entries: AwarenessEntryRaw[]): EchoEntry[] {
    const meta = this.awareness.meta;
    const echoes: EchoEntry[] = [];
    for (const e of entries) {
      if (!this.sentUp.has(e.clientID)) this.fromUpstream.add(e.clientID);
      else if (e.json !== 'null') echoes.push({ ...e, applied: (meta.get(e.clientID)?.clock ?? 0) < e.clock });
    }
    return echoes;
  }

  /** Forget client IDs the awareness has forgotten too (the relay prunes removed clocks). */
  prune(): void {
    const meta = this.awareness.meta;
    for (const set of [this.fromUpstream, this.sentUp]) for (const id of set) if (!meta.has(id)) set.delete(id);
  }
}
