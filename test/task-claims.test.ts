/**
 * Another session's claimed task, through the real `huddle` command and the
 * operation API against a real server: a claim says who holds it and how to
 * take it over; --take takes it and tells the holder; done, block and reopen
 * of it tell the holder too; nobody is told about their own task.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, startServer, tempDir } from './helpers.js';
import { isolatedEnv, runCli } from './cli-run.js';
import type { HuddleServer } from '../relay/server.js';

afterEach(cleanup);

async function setup(): Promise<{ server: HuddleServer; huddle: (session: string, ...args: string[]) => ReturnType<typeof runCli>; inbox: (session: string) => Promise<Array<{ text: string; byName: string; taskId?: string }>> }> {
  const server = await startServer();
  const cwd = tempDir();
  const env = isolatedEnv();
  const huddle = (session: string, ...args: string[]) => runCli(['--url', server.wsUrl, '--project', 'claims', '--session', session, ...args], { cwd, env });
  const inbox = async (session: string) => {
    const r = await huddle(session, 'inbox', '--all', '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  return { server, huddle, inbox };
}

describe('claims on another session\'s task', () => {
  it('claim refuses with the holder and --take; --take takes it over and tells the holder', async () => {
    const { huddle, inbox } = await setup();
    const t = JSON.parse((await huddle('ann', 'task', 'add', 'Users migration', '--json')).stdout);
    expect((await huddle('ann', 'task', 'claim', t.id)).code).toBe(0);

    const refused = await huddle('bob', 'task', 'claim', t.id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^huddle: task t-\w+ is claimed by ann; claim it with --take to take it over \(ann is told\)/);
    expect(await inbox('ann')).toEqual([]);

    const taken = await huddle('bob', 'task', 'claim', t.id, '--take');
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stdout).toContain('taken over from ann (told)');
    expect(taken.stderr).toContain('was claimed by ann; they were told');
    const list = JSON.parse((await huddle('bob', 'task', 'list', '--json')).stdout);
    expect(list[0]).toMatchObject({ status: 'claimed', assignee: { id: 'bob' } });
    const told = await inbox('ann');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ byName: 'bob', taskId: t.id });
    expect(told[0].text).toMatch(/^bob took over your task "Users migration" \(t-\w{6}\)$/);
    // The timeline says it was a take-over.
    const tl = JSON.parse((await huddle('bob', 'timeline', '--json')).stdout);
    expect(tl.some((e: { type: string; summary: string }) => e.type === 'task.claimed' && e.summary === 'Users migration (taken over from ann)')).toBe(true);
  });

  it('done, block and reopen of another\'s claimed task tell the holder; one\'s own tell nobody', async () => {
    const { huddle, inbox } = await setup();
    const add = async (title: string) => JSON.parse((await huddle('ann', 'task', 'add', title, '--json')).stdout).id as string;
    const [a, b, c, own] = [await add('A'), await add('B'), await add('C'), await add('Own')];
    for (const id of [a, b, c, own]) expect((await huddle('ann', 'task', 'claim', id)).code).toBe(0);

    const done = await huddle('lead', 'task', 'done', a, '--note', 'merged in #42');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('claimed by ann (told)');
    expect((await huddle('lead', 'task', 'block', b, '--reason', 'waits for the API')).code).toBe(0);
    expect((await huddle('lead', 'task', 'reopen', c)).stdout).toContain('claimed by ann (told)');
    expect((await huddle('ann', 'task', 'done', own)).stdout).not.toContain('told');

    const texts = (await inbox('ann')).map((m) => m.text);
    expect(texts).toHaveLength(3);
    expect(texts[0]).toMatch(/^lead marked done your task "A" \(t-\w{6}\): merged in #42$/);
    expect(texts[1]).toMatch(/^lead marked blocked your task "B" \(t-\w{6}\): waits for the API$/);
    expect(texts[2]).toMatch(/^lead reopened your task "C" \(t-\w{6}\)$/);
    // The done task keeps its assignee: the credit stays with who claimed it.
    const all = JSON.parse((await huddle('lead', 'task', 'list', '--all', '--json')).stdout);
    expect(all.find((t: { id: string }) => t.id === a)).toMatchObject({ status: 'done', assignee: { id: 'ann' } });
  });

  it('the operation API: take is a typed argument, the refusal a 409 conflict', async () => {
    const { server, huddle } = await setup();
    const t = JSON.parse((await huddle('ann', 'task', 'add', 'X', '--json')).stdout);
    await huddle('ann', 'task', 'claim', t.id);
    const post = (body: unknown) => fetch(`${server.url}/api/p/claims/op/task.claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const refused = await post({ session: { id: 'bob' }, id: t.id });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ ok: false, code: 'conflict' });
    expect((await post({ session: { id: 'bob' }, id: t.id, take: 'yes' })).status).toBe(400);
    const taken = await post({ session: { id: 'bob' }, id: t.id, take: true });
    expect(taken.status).toBe(200);
    expect((await taken.json()).result.assignee.id).toBe('bob');
  });
});
