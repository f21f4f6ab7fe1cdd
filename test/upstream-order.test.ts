/**
 * The order a team relay gives must reach a machine's sessions unchanged. A lock is
 * confirmed on the echo of its claim, with every claim the relay ordered before it in
 * view; so a rival's state that arrives in the same read as the echo must reach the
 * session first. Before 2026-12-01 the machine server sent the echo at once and the
 * rival's state in its coalesced broadcast a moment later: under load both sessions
 * confirmed one exclusive lock (seen in the chaos test).
 *
 * A scripted team relay (a plain ws server speaking the protocol) answers the first
 * lock claim it sees with the rival's earlier claim and then the echo, back to back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import { MSG_AWARENESS, MSG_STORED_SUBSCRIBE, MSG_SYNC, encodeAwarenessEntries, encodeRelayStatus, encodeStored, readAwarenessEntries } from '../src/protocol/messages.js';
import { HuddlePeer } from '../src/peer/peer.js';
import { cleanup, listenWs, onCleanup, startServer, waitFor } from './helpers.js';

afterAll(cleanup);

const FILE = 'src/x.ts';

/** A team relay that orders a rival's claim just before the first claim it is sent. */
async function scriptedRelay(): Promise<{ url: string; raced: () => boolean }> {
  const { wss, url } = await listenWs();
  const doc = new Y.Doc();
  let raced = false;
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data: Buffer) => {
      const buf = new Uint8Array(data);
      const d = decoding.createDecoder(buf);
      const type = decoding.readVarUint(d);
      if (type === MSG_SYNC) {
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, MSG_SYNC);
        syncProtocol.readSyncMessage(d, e, doc, null);
        if (encoding.length(e) > 1) ws.send(encoding.toUint8Array(e));
        // Ask for the machine's state too, so that the sync completes both ways.
        const s1 = encoding.createEncoder();
        encoding.writeVarUint(s1, MSG_SYNC);
        syncProtocol.writeSyncStep1(s1, doc);
        ws.send(encoding.toUint8Array(s1));
      } else if (type === MSG_STORED_SUBSCRIBE) {
        ws.send(encodeStored(Y.encodeStateVector(doc)));
        ws.send(encodeRelayStatus(true));
      } else if (type === MSG_AWARENESS) {
        const update = decoding.readVarUint8Array(d);
        const entries = readAwarenessEntries(update);
        type State = { huddle: Record<string, unknown> & { locks: Array<Record<string, unknown> & { path: string; claimedAt: number }> } };
        const claim = entries.find((e) => e.json !== 'null' && (JSON.parse(e.json) as State).huddle?.locks?.some((l) => l.path === FILE));
        if (claim && !raced) {
          raced = true;
          // A rival session on another machine claimed the same file a moment earlier:
          // ordered first, it goes out first, and in the same write as the echo.
          const s = (JSON.parse(claim.json) as State).huddle;
          const lock = s.locks.find((l) => l.path === FILE)!;
          const rival = { huddle: { ...s, id: 'rival', name: 'rival', locks: [{ ...lock, id: 'l-rival', claimedAt: lock.claimedAt - 5, confirmed: false }] } };
          ws.send(encodeAwarenessEntries([{ clientID: 424242, clock: 1, json: JSON.stringify(rival) }]));
        }
        // Echo everything, in order, as a relay does.
        ws.send(encodeAwarenessEntries(entries));
      }
    });
  });
  return { url, raced: () => raced };
}

describe('a machine server passes the team relay order on unchanged', () => {
  it('a rival ordered just before the echo is in view when the claim is judged: not confirmed', async () => {
    const relay = await scriptedRelay();
    const machine = await startServer({ upstream: relay.url, awarenessTimeoutMs: 3000 });
    const a = await HuddlePeer.join({ url: machine.wsUrl, project: 'team', session: { id: 'alice', name: 'alice' }, heartbeatMs: 200 });
    onCleanup(() => a.close());
    await waitFor(() => a.presence.transport.online(), 'alice authoritative (the team relay is in charge)', 10_000);
    const r = await a.lock([FILE]);
    expect(relay.raced()).toBe(true);
    // The rival's claim was ordered first: alice must not be confirmed (she loses to the earlier claim).
    expect(r.status).not.toBe('confirmed');
    expect(a.presence.claims().some((c) => c.path === FILE && c.confirmed)).toBe(false);
  });
});
