/**
 * Inbound awareness budget of one connection (issue 13 §5): a token bucket counted in
 * awareness entries (a frame costs one plus the client IDs it carries), refilled at
 * `rate` per second up to `burst`. A frame over budget is dropped and counted; awareness
 * is state-based, so the sender's next frame (its heartbeat at the latest) carries the
 * state again. A connection that keeps sending while over budget, dropping more than
 * `burst` entries before its budget recovers, is abusive and is closed.
 *
 * Pure: time comes in as an argument.
 */
import * as decoding from 'lib0/decoding';

export type Verdict = 'ok' | 'drop' | 'close';

export class AwarenessBudget {
  private tokens: number;
  private at: number;
  /** Entries dropped since the budget was last positive. */
  private debt = 0;

  constructor(readonly rate: number, readonly burst: number, now: number) {
    this.tokens = burst;
    this.at = now;
  }

  /** Charge a frame of `entries` client IDs. */
  charge(entries: number, now: number): Verdict {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
      this.at = now;
    }
    const cost = 1 + Math.max(0, entries);
    if (this.tokens >= cost) {
      this.tokens -= cost;
      this.debt = 0;
      return 'ok';
    }
    this.debt += cost;
    return this.debt > this.burst ? 'close' : 'drop';
  }
}

/**
 * The number of client IDs an awareness update announces (its first varint), 0 when unreadable,
 * counted up to `cap`: a frame announcing more is refused as malformed by the gate (1007), which
 * says more than a rate limit would.
 */
export function awarenessEntryCount(update: Uint8Array, cap = 1001): number {
  try {
    return Math.min(cap, decoding.readVarUint(decoding.createDecoder(update)));
  } catch {
    return 0; // the gate rejects the frame itself
  }
}
