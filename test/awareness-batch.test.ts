/**
 * The relay's awareness batcher keeps the relay's order across client IDs: a lock is confirmed
 * on the echo of its claim with every claim ordered before it in view, so a later rival's claim
 * must not share a frame with (or overtake) an earlier one. One client's repeated changes coalesce.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { AwarenessBatcher } from '../relay/awareness-batch.js';
import { Metrics } from '../relay/metrics.js';
import { decodeMessage, readAwarenessEntries } from '../src/protocol/messages.js';

function setup() {
  const server = new awarenessProtocol.Awareness(new Y.Doc());
  server.setLocalState(null);
  const frames: number[][] = [];
  const peer = { send: (f: Uint8Array) => {
    const m = decodeMessage(f);
    if (m.type === 'awareness') frames.push(readAwarenessEntries(m.update).map((e) => e.clientID));
  } };
  const metrics = new Metrics();
  const batch = new AwarenessBatcher(server, [peer], metrics);
  /** Apply a state of client `id` to the server's awareness, as a peer's frame would. */
  const change = (id: number, n: number) => {
    const c = new awarenessProtocol.Awareness(new Y.Doc());
    c.clientID = id;
    c.setLocalState({ n });
    const meta = server.meta.get(id);
    if (meta) c.meta.set(id, { clock: meta.clock, lastUpdated: 0 });
    c.setLocalState({ n });
    awarenessProtocol.applyAwarenessUpdate(server, awarenessProtocol.encodeAwarenessUpdate(c, [id]), 'peer');
    batch.changed([id], null);
  };
  return { frames, change, metrics };
}

describe('AwarenessBatcher', () => {
  it('sends changes of different client IDs in one turn as separate frames, in order', async () => {
    const { frames, change } = setup();
    change(1, 1);
    change(2, 1);
    change(3, 1);
    await new Promise((r) => setImmediate(r));
    expect(frames).toEqual([[1], [2], [3]]);
  });

  it('coalesces repeated changes of one client ID in one turn', async () => {
    const { frames, change, metrics } = setup();
    for (let n = 0; n < 5; n++) change(7, n);
    await new Promise((r) => setImmediate(r));
    expect(frames).toEqual([[7]]);
    expect(metrics.awarenessCoalesced).toBe(4);
  });
});
