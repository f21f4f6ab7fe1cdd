import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { HuddlePeer } from '../src/peer/peer.js';
import { walDir } from '../src/store/wal.js';
import { ApiClient, ApiFailure, UnreachableError } from '../cli/client.js';
import { cleanup, onCleanup, startServer, waitFor } from './helpers.js';
import type { Snapshot } from '../src/model/snapshot.js';

afterEach(cleanup);

function client(httpUrl: string, id: string, role = 'agent', token?: string) {
  return new ApiClient({ httpUrl, project: 'api', token, session: { id, name: id, role } });
}

describe('HTTP API and hosted sessions', () => {
  it('a hosted session and an embedded peer see each other and respect each other’s locks', async () => {
    const server = await startServer();
    const peer = await HuddlePeer.join({ url: server.wsUrl, project: 'api', session: { id: 'embedded', name: 'emb', role: 'backend' }, heartbeatMs: 200 });
    onCleanup(() => peer.close());
    const a = client(server.url, 'hosted-a', 'frontend');
    const r = await a.op('lock', { paths: ['src/a.ts'], reason: 'refactor' });
    expect(r.status).toBe('confirmed');
    await waitFor(() => peer.presenceView().locks.some((l) => l.session === 'hosted-a' && l.state === 'held'), 'peer sees hosted lock');
    expect(peer.presenceView().sessions.find((s) => s.id === 'hosted-a')).toMatchObject({ hosted: true, role: 'frontend' });
    expect((await peer.lock(['src/a.ts'])).status).toBe('held');
    expect((await peer.lock(['src/b.ts'])).status).toBe('confirmed');
    await waitFor(async () => (await a.state()).locks.some((l) => l.session === 'embedded'), 'api sees embedded lock');
    const held = await a.op('lock', { paths: ['src'] });
    expect(held).toMatchObject({ status: 'held', holder: { session: 'embedded' } });
    // Ending the hosted session frees its lock for everyone at once.
    await a.op('end');
    await waitFor(() => !peer.presenceView().sessions.some((s) => s.id === 'hosted-a'), 'hosted session gone');
    expect((await peer.lock(['src/a.ts'])).status).toBe('confirmed');
  });

  it('writes are stored before the answer; reads do not host a session; errors have clear statuses', async () => {
    const server = await startServer();
    const a = client(server.url, 'writer');
    const d = await a.op('decide', { text: 'use pnpm', rationale: 'workspaces' });
    const room = await server.room('api');
    // Stored: in the write-ahead log at least (LevelDB follows in the background).
    const inLog = readdirSync(walDir(server.config.dataDir)).length > 0;
    expect(inLog || server.persistence.stats('api').records > 0).toBe(true);
    expect((room.doc.getMap('decisions').get(d.id) as { text: string }).text).toBe('use pnpm');
    const reader = client(server.url, 'reader');
    await reader.op('decisions');
    const snap: Snapshot = await reader.state();
    expect(snap.sessions.map((s) => s.id)).toEqual(['writer']);
    expect(snap.decisions.map((x) => x.text)).toEqual(['use pnpm']);
    await expect(a.op('decide', {})).rejects.toMatchObject({ status: 400 });
    await expect(a.op('task.claim', { id: 'nope' })).rejects.toMatchObject({ status: 404 });
    await expect(a.op('no-such-op' as never)).rejects.toBeInstanceOf(ApiFailure);
    await expect(a.op('lock', { paths: ['../etc'] })).rejects.toMatchObject({ status: 400 });
    const bad = new ApiClient({ httpUrl: server.url, project: 'bad name!', token: undefined, session: { id: 'x' } });
    await expect(bad.op('decide', { text: 'x' })).rejects.toMatchObject({ status: 400 });
    const gone = new ApiClient({ httpUrl: 'http://127.0.0.1:1', project: 'api', token: undefined, session: { id: 'x' } });
    await expect(gone.state()).rejects.toBeInstanceOf(UnreachableError);
  });

  it('tokens: none refused, read token reads but may not write', async () => {
    const server = await startServer({ token: 'rw', readToken: 'ro' });
    await expect(client(server.url, 'x').state()).rejects.toMatchObject({ status: 401 });
    await client(server.url, 'x', 'agent', 'rw').op('decide', { text: 'ok' });
    const ro = client(server.url, 'y', 'agent', 'ro');
    expect((await ro.state()).decisions).toHaveLength(1);
    await expect(ro.op('decide', { text: 'no' })).rejects.toMatchObject({ status: 403 });
  });

  it('the event stream reports sessions, locks and document events', async () => {
    const server = await startServer();
    const watcher = client(server.url, 'watcher');
    const events: Array<{ type: string; summary: string }> = [];
    const ac = new AbortController();
    const done = watcher.events((e) => events.push(e), ac.signal);
    await new Promise((r) => setTimeout(r, 100));
    const a = client(server.url, 'alice');
    await a.op('lock', { paths: ['x.ts'] });
    await a.op('decide', { text: 'ship it' });
    await a.op('unlock', { paths: ['x.ts'] });
    await waitFor(() => ['session.joined', 'lock.taken', 'decision', 'lock.released'].every((t) => events.some((e) => e.type === t)), 'events');
    ac.abort();
    await done;
  });

  it('a concurrent claim of an embedded peer loses to a claim already stored', async () => {
    const server = await startServer();
    const a = client(server.url, 'api-claimer');
    const t = await a.op('task.add', { title: 'contested' });
    const peer = await HuddlePeer.join({ url: server.wsUrl, project: 'api', session: { id: 'peer' }, heartbeatMs: 200 });
    onCleanup(() => peer.close());
    await waitFor(() => peer.context.tasksMap.has(t.id), 'peer sees task');
    // The peer claims while the API claim is in flight: the peer has not seen it.
    const [apiRes, peerRes] = await Promise.allSettled([a.op('task.claim', { id: t.id }), peer.claimTask(t.id)]);
    const room = await server.room('api');
    await waitFor(() => peer.context.task(t.id).assignee?.id === (room.doc.getMap('tasks').get(t.id) as { get(k: string): { id: string } }).get('assignee').id, 'converged');
    const winner = peer.context.task(t.id).assignee!.id;
    if (winner === 'peer') {
      expect(peerRes.status === 'fulfilled' && peerRes.value.won).toBe(true);
      expect(apiRes.status).toBe('rejected');
    } else {
      expect(winner).toBe('api-claimer');
      expect(peerRes.status === 'fulfilled' && peerRes.value.won).toBe(false);
    }
  });
});
