/**
 * Another session's claimed task, through the real `huddle` command and the
 * operation API against a real server: a claim says who holds it and how to
 * take it over; --take takes it and tells the holder; done, block and reopen
 * of it tell the holder too; nobody is told about their own task.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apiOp, cleanup, startServer, tempDir } from './helpers.js';
import { isolatedEnv, runCli } from './cli-run.js';
import type { HuddleServer } from '../relay/server.js';

afterEach(cleanup);

type Message = { text: string; byName: string; taskId?: string };

/**
 * The commands under test run as real `huddle` processes; the tasks they act on are made, and what
 * they did is read back, through the server's API: a request each, not a process (issue 15).
 */
async function setup(): Promise<{
  server: HuddleServer;
  huddle: (session: string, ...args: string[]) => ReturnType<typeof runCli>;
  api: <T = any>(session: string, op: string, args?: Record<string, unknown>) => Promise<T>;
  add: (title: string) => Promise<string>;
  inbox: (session: string) => Promise<Message[]>;
}> {
  const server = await startServer();
  const cwd = tempDir();
  const env = isolatedEnv();
  const huddle = (session: string, ...args: string[]) => runCli(['--url', server.wsUrl, '--project', 'claims', '--session', session, ...args], { cwd, env });
  const api = <T = any>(session: string, op: string, args: Record<string, unknown> = {}) => apiOp<T>(server.url, 'claims', op, { id: session, name: session }, args);
  // ann's tasks, claimed by ann.
  const add = async (title: string) => {
    const t = await api<{ id: string }>('ann', 'task.add', { title });
    await api('ann', 'task.claim', { id: t.id });
    return t.id;
  };
  const inbox = (session: string) => api<Message[]>(session, 'inbox', { all: true, markRead: false });
  return { server, huddle, api, add, inbox };
}

describe('claims on another session\'s task', () => {
  it('claim refuses with the holder and --take; --take takes it over and tells the holder', async () => {
    const { huddle, api, add, inbox } = await setup();
    const id = await add('Users migration');

    const refused = await huddle('bob', 'task', 'claim', id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^huddle: task t-\w+ is claimed by ann; claim it with --take to take it over \(ann is told\)/);
    expect(await inbox('ann')).toEqual([]);

    const taken = await huddle('bob', 'task', 'claim', id, '--take');
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stdout).toContain('taken over from ann (told)');
    expect(taken.stderr).toContain('was claimed by ann; they were told');
    const [list, told, tl] = await Promise.all([api('bob', 'task.list'), inbox('ann'), api('bob', 'timeline', {})]);
    expect(list[0]).toMatchObject({ status: 'claimed', assignee: { id: 'bob' } });
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ byName: 'bob', taskId: id });
    expect(told[0].text).toMatch(/^bob took over your task "Users migration" \(t-\w{6}\)$/);
    // The timeline says it was a take-over.
    expect(tl.some((e: { type: string; summary: string }) => e.type === 'task.claimed' && e.summary === 'Users migration (taken over from ann)')).toBe(true);
  });

  it('done, block and reopen of another\'s claimed task tell the holder; one\'s own tell nobody', async () => {
    const { huddle, api, add, inbox } = await setup();
    const [a, b, c, own] = [await add('A'), await add('B'), await add('C'), await add('Own')];

    // Each on a task of its own: at once. The messages to ann are then in no set order.
    const [done, blocked, reopened, ownDone] = await Promise.all([
      huddle('lead', 'task', 'done', a, '--note', 'merged in #42'),
      huddle('lead', 'task', 'block', b, '--reason', 'waits for the API'),
      huddle('lead', 'task', 'reopen', c),
      huddle('ann', 'task', 'done', own),
    ]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('claimed by ann (told)');
    expect(blocked.code, blocked.stderr).toBe(0);
    expect(reopened.stdout).toContain('claimed by ann (told)');
    expect(ownDone.code, ownDone.stderr).toBe(0);
    expect(ownDone.stdout).not.toContain('told');

    const texts = (await inbox('ann')).map((m) => m.text).sort();
    expect(texts).toHaveLength(3);
    expect(texts[0]).toMatch(/^lead marked blocked your task "B" \(t-\w{6}\): waits for the API$/);
    expect(texts[1]).toMatch(/^lead marked done your task "A" \(t-\w{6}\): merged in #42$/);
    expect(texts[2]).toMatch(/^lead reopened your task "C" \(t-\w{6}\)$/);
    // The done task keeps its assignee: the credit stays with who claimed it.
    const all = await api('lead', 'task.list');
    expect(all.find((t: { id: string }) => t.id === a)).toMatchObject({ status: 'done', assignee: { id: 'ann' } });
  });

  it('the operation API: take is a typed argument, the refusal a 409 conflict', async () => {
    const { server, add } = await setup();
    const id = await add('X');
    const post = (body: unknown) => fetch(`${server.url}/api/p/claims/op/task.claim`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const refused = await post({ session: { id: 'bob' }, id });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ ok: false, code: 'conflict' });
    expect((await post({ session: { id: 'bob' }, id, take: 'yes' })).status).toBe(400);
    const taken = await post({ session: { id: 'bob' }, id, take: true });
    expect(taken.status).toBe(200);
    expect((await taken.json()).result.assignee.id).toBe('bob');
  });
});
