/**
 * A lock request that waits for a holder (`huddle lock --wait`) and whose asker hangs up (Ctrl-C, a
 * killed agent) claims nothing once the holder lets go: the server stops waiting when the request's
 * connection closes. Before, the wait went on and the lock was granted to nobody, held until its TTL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../cli/client.js';
import { cleanup, startServer, waitFor } from './helpers.js';

afterEach(cleanup);

const client = (httpUrl: string, id: string) => new ApiClient({ httpUrl, project: 'waits', token: undefined, session: { id, name: id, role: 'agent' } });

describe('a waiting lock request whose asker hangs up', () => {
  it('stops waiting: the freed lock goes to the next asker, not to the one that left', async () => {
    const server = await startServer();
    const holder = client(server.url, 'holder');
    const quitter = client(server.url, 'quitter');
    const next = client(server.url, 'next');
    expect((await holder.op('lock', { paths: ['src/a.ts'] })).status).toBe('confirmed');
    // Waits up to 20 s for the holder; the client gives up after 300 ms and closes its connection.
    await expect(quitter.op('lock', { paths: ['src/a.ts'], waitMs: 20_000 }, { timeoutMs: 300 })).rejects.toThrow();
    await holder.op('unlock', { paths: ['src/a.ts'] });
    await waitFor(async () => !(await next.state()).locks.some((l) => l.session === 'holder'), 'the holder released');
    const r = await next.op('lock', { paths: ['src/a.ts'], waitMs: 3000 });
    expect(r).toMatchObject({ status: 'confirmed' });
    expect((await next.state()).locks.filter((l) => l.path === 'src/a.ts').map((l) => l.session)).toEqual(['next']);
  });
});
