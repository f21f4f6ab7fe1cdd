import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { Presence } from '../src/peer/presence.js';
import { hostedTransport } from '../src/peer/transports.js';

/** A session hosted on an in-memory "relay" awareness, as the server hosts thin clients. */
function hosted(room: awarenessProtocol.Awareness, id: string) {
  const local = new awarenessProtocol.Awareness(new Y.Doc());
  local.setLocalState(null);
  const t = hostedTransport(local, room, id);
  return new Presence(t, { info: { id, name: id }, hosted: true, host: 'h', pid: 1, cwd: '/', heartbeatMs: 60_000 });
}

describe('presence across a healed partition', () => {
  it('two confirmed claims on one file: the later one yields when the sides meet, and is told', async () => {
    const left = new awarenessProtocol.Awareness(new Y.Doc());
    const right = new awarenessProtocol.Awareness(new Y.Doc());
    left.setLocalState(null);
    right.setLocalState(null);
    const a = hosted(left, 'a');
    const b = hosted(right, 'b');
    expect((await a.acquire(['src/x.ts'])).status).toBe('confirmed');
    await new Promise((r) => setTimeout(r, 5));
    expect((await b.acquire(['src/**'])).status).toBe('confirmed');
    const lost = new Promise<string>((r) => b.on('lock-lost', (e) => r(`${e.claim.path}:${e.reason}`)));
    // The partition heals: each side learns the other's states.
    const all = (aw: awarenessProtocol.Awareness) => awarenessProtocol.encodeAwarenessUpdate(aw, Array.from(aw.getStates().keys()));
    const fromLeft = all(left);
    const fromRight = all(right);
    awarenessProtocol.applyAwarenessUpdate(right, fromLeft, 'heal');
    awarenessProtocol.applyAwarenessUpdate(left, fromRight, 'heal');
    expect(await lost).toBe('src/**:conflict');
    expect(b.claims()).toHaveLength(0);
    expect(a.claims()).toHaveLength(1);
    a.close();
    b.close();
  });
});
