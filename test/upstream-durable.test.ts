/**
 * Only what is durable on a machine server goes up to the team relay, the answer to
 * the relay's sync step 1 included: were it sent with an update still being appended,
 * a kill -9 a moment later would leave the team relay holding an update the machine
 * lost (and never acknowledged). Before 2026-12-02 the answer was computed and sent at
 * once, with whatever the room's doc held.
 *
 * A scripted team relay (a plain ws server speaking the protocol) asks for the
 * machine's state while the machine's store is held in the middle of an append.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import { MSG_STORED_SUBSCRIBE, MSG_SYNC, encodeRelayStatus, encodeStored } from '../src/protocol/messages.js';
import { MemoryPersistence } from '../src/store/memory-persistence.js';
import { HuddlePeer } from '../src/peer/peer.js';
import { HuddleServer } from '../relay/server.js';
import { silentLogger } from '../relay/log.js';
import { cleanup, listenWs, onCleanup, tempDir, waitFor } from './helpers.js';
import path from 'node:path';

afterAll(cleanup);

const MARK = 'held back until it is durable';

/** Memory persistence whose appends can be held (a slow disk, or a database round trip). */
class HeldPersistence extends MemoryPersistence {
  private release: (() => void) | null = null;
  private gate: Promise<void> | null = null;
  /** Appends that started while held. */
  heldAppends = 0;
  hold(): void {
    this.gate = new Promise<void>((r) => (this.release = r));
  }
  resume(): void {
    this.gate = null;
    this.release?.();
  }
  override appendDurable(doc: string, updates: Uint8Array[]): void | Promise<void> {
    const gate = this.gate;
    if (!gate) return super.appendDurable(doc, updates);
    this.heldAppends++;
    return gate.then(() => super.appendDurable(doc, updates));
  }
}

interface Seen {
  sub: number;
  marked: boolean;
}

async function scriptedRelay() {
  const { wss, url } = await listenWs();
  const doc = new Y.Doc();
  const seen: Seen[] = [];
  let socket: WebSocket | null = null;
  wss.on('connection', (ws: WebSocket) => {
    socket = ws;
    ws.on('message', (data: Buffer) => {
      const buf = new Uint8Array(data);
      const d = decoding.createDecoder(buf);
      const type = decoding.readVarUint(d);
      if (type === MSG_SYNC) {
        const sub = decoding.peekVarUint(d);
        seen.push({ sub, marked: Buffer.from(buf).includes(MARK) });
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, MSG_SYNC);
        syncProtocol.readSyncMessage(d, e, doc, null);
        if (encoding.length(e) > 1) ws.send(encoding.toUint8Array(e));
        if (sub === syncProtocol.messageYjsSyncStep1) askForState(ws);
      } else if (type === MSG_STORED_SUBSCRIBE) {
        ws.send(encodeStored(Y.encodeStateVector(doc)));
        ws.send(encodeRelayStatus(true));
      }
    });
  });
  function askForState(ws: WebSocket): void {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MSG_SYNC);
    syncProtocol.writeSyncStep1(e, doc);
    ws.send(encoding.toUint8Array(e));
  }
  return {
    url,
    seen,
    ask: () => askForState(socket!),
  };
}

describe('a machine server sends its team relay only what is durable', () => {
  it('the answer to a sync step 1 waits for the append of what it holds', async () => {
    const relay = await scriptedRelay();
    const store = new HeldPersistence();
    const machine = new HuddleServer(
      { port: 0, dataDir: path.join(tempDir(), 'data'), upstream: relay.url, awarenessTimeoutMs: 3000 },
      { logger: silentLogger, persistence: store },
    );
    await machine.listen();
    onCleanup(() => machine.close());
    const a = await HuddlePeer.join({ url: machine.wsUrl, project: 'team', session: { id: 'alice', name: 'alice' }, heartbeatMs: 200 });
    onCleanup(() => a.close());
    await waitFor(() => a.presence.transport.online(), 'the link to the team relay is up', 10_000);

    store.hold();
    a.context.decide(a.actor, { text: MARK });
    await waitFor(() => store.heldAppends > 0, 'the machine is appending the decision', 10_000);
    // The team relay asks for what it lacks while the decision is not yet durable.
    // It asks three times: one answer is held (each is a copy of what the relay lacks).
    const asked = relay.seen.length;
    for (let i = 0; i < 3; i++) relay.ask();
    await new Promise((r) => setTimeout(r, 400));
    expect(relay.seen.slice(asked).filter((s) => s.marked)).toEqual([]);

    store.resume();
    const answers = () => relay.seen.slice(asked).filter((s) => s.marked && s.sub === syncProtocol.messageYjsSyncStep2).length;
    await waitFor(() => answers() > 0, 'the held answer (sync step 2) reaches the team relay once the decision is durable', 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(answers()).toBe(1);
    // The next request is answered again (nothing is held any more).
    relay.ask();
    await waitFor(() => answers() === 1 && relay.seen.slice(asked).filter((s) => s.sub === syncProtocol.messageYjsSyncStep2).length >= 2, 'an answer to the next request', 10_000);
  });
});
