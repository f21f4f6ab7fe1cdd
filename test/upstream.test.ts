import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { HuddlePeer } from '../src/peer/peer.js';
import { cleanup, onCleanup, startServer, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

async function join(url: string, id: string) {
  const p = await HuddlePeer.join({ url, project: 'team', session: { id, name: id }, heartbeatMs: 200 });
  onCleanup(() => p.close());
  return p;
}

describe('upstream sync through a team relay', () => {
  it('documents and presence flow between machines, survive a relay outage, and merge on return', async () => {
    const relayData = path.join(tempDir(), 'relay');
    const relay = await startServer({ dataDir: relayData, token: 'team-secret' });
    const relayPort = relay.port;
    const up = { upstream: `ws://127.0.0.1:${relayPort}`, upstreamToken: 'team-secret' };
    const machineA = await startServer({ ...up, awarenessTimeoutMs: 3000 });
    const machineB = await startServer({ ...up, awarenessTimeoutMs: 3000 });
    const a = await join(machineA.wsUrl, 'alice');
    const b = await join(machineB.wsUrl, 'bob');
    a.context.decide(a.actor, { text: 'from A' });
    await waitFor(() => b.context.decisions().some((d) => d.text === 'from A'), 'A → B through the relay', 5000);
    await waitFor(() => b.presenceView().sessions.some((s) => s.id === 'alice'), 'B sees alice', 5000);
    await waitFor(() => a.presenceView().sessions.some((s) => s.id === 'bob'), 'A sees bob', 5000);
    await waitFor(() => machineA.health().upstream?.projects.team?.status === 'connected', 'health shows upstream');

    await relay.close();
    await waitFor(() => machineA.health().upstream?.projects.team?.status !== 'connected', 'A notices the outage');
    // Both machines keep working from their replicas.
    a.context.decide(a.actor, { text: 'A offline' });
    b.context.decide(b.actor, { text: 'B offline' });
    await a.whenStored();
    await b.whenStored();

    const relay2 = await startServer({ dataDir: relayData, token: 'team-secret', port: relayPort });
    await waitFor(() => a.context.decisions().length === 3 && b.context.decisions().length === 3, 'merge after return', 15000);
    expect(a.context.decisions().map((d) => d.text).sort()).toEqual(['A offline', 'B offline', 'from A']);
    await waitFor(() => b.presenceView().sessions.some((s) => s.id === 'alice'), 'presence back', 15000);
    // No duplicates of a session.
    expect(b.presenceView().sessions.filter((s) => s.id === 'alice')).toHaveLength(1);
    const room = await relay2.room('team');
    expect(room.doc.getMap('decisions').size).toBe(3);
  });
});
