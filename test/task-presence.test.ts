/**
 * What a session shows it is working on (its presence `task`, the DOING column of `huddle sessions` and
 * `peek`) follows its tasks: set by a claim, cleared when it finishes the task, hands it off or reopens it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../cli/client.js';
import { cleanup, startServer } from './helpers.js';

afterEach(cleanup);

const client = (httpUrl: string, id: string) => new ApiClient({ httpUrl, project: 'doing', token: undefined, session: { id, name: id, role: 'agent' } });

describe('the task a session shows', () => {
  it('is the claimed task until it is done, handed off or reopened', async () => {
    const server = await startServer();
    const amy = client(server.url, 'amy');
    const doing = async () => (await amy.state()).sessions.find((s) => s.id === 'amy')?.task ?? null;
    const ids = [];
    for (const title of ['write the parser', 'fix the login', 'tidy the docs']) ids.push((await amy.op('task.add', { title })).id);
    await amy.op('task.claim', { id: ids[0] });
    expect(await doing()).toBe('write the parser');
    await amy.op('task.done', { id: ids[0] });
    expect(await doing()).toBeNull();
    await amy.op('task.claim', { id: ids[1] });
    await amy.op('handoff', { id: ids[1], to: 'role:backend', summary: 'half done' });
    expect(await doing()).toBeNull();
    await amy.op('task.claim', { id: ids[2] });
    await amy.op('task.reopen', { id: ids[2] });
    expect(await doing()).toBeNull();
    // Finishing another task leaves the one being worked on in place.
    await amy.op('task.claim', { id: ids[2] });
    const other = await amy.op('task.add', { title: 'answer the review' });
    await amy.op('task.done', { id: other.id });
    expect(await doing()).toBe('tidy the docs');
  });
});
