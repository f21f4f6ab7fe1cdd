/**
 * The record commands' --json round trips through the real `huddle` binary: decisions, interfaces,
 * messages, notes, tasks, handoffs, versions, diff, rollback and the timeline, some forty processes.
 * In `npm run test:integration` (CI runs it), not `npm test`: issue 15 moves the slow many-process
 * paths out of the quick suite; the commands' other cases stay in test/cli.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MANY_PROCESSES, cliHarness, expectShape } from './cli-harness.js';

const { project } = cliHarness();

describe.concurrent('huddle record commands as JSON', { timeout: 90_000 }, () => {
  it('decisions, interfaces, messages and notes round trip as JSON', MANY_PROCESSES, async () => {
    const p = project();
    // Four sections of the document that do not meet: each chain runs alongside the others.
    const decisions = async () => {
      const d1 = await p.j(['decide', 'REST, not GraphQL', '--why', 'simpler']);
      expect(d1).toMatchObject({ text: 'REST, not GraphQL', rationale: 'simpler', supersedes: null, supersededBy: null });
      expectShape('decision', d1);
      const d2 = await p.j(['decide', 'REST with OpenAPI', '--supersedes', d1.id]);
      expect(d2.supersedes).toBe(d1.id);
      const [current, all] = await Promise.all([p.j(['decisions']), p.j(['decisions', '--all'])]);
      expect(current.map((d: any) => d.id)).toEqual([d2.id]);
      expect(all.length).toBe(2);
      const plain = await p.ok(['decide', 'plain']);
      expect(plain.stdout).toMatch(/^decision d-\w+ stored\n$/);
    };
    const interfaces = async () => {
      expect(await p.j(['declare', 'UserApi', '--file', 'src/api/users.ts', '--desc', 'users', '--status', 'ready'])).toMatchObject({ name: 'UserApi', status: 'ready', file: 'src/api/users.ts' });
      expect((await p.j(['interfaces'])).map((i: any) => i.name)).toEqual(['UserApi']);
    };
    const messages = async () => {
      const m = await p.j(['--session', 'a', 'send', 'role:backend', 'need the schema', '--kind', 'request', '--needs-reply']);
      expect(m).toMatchObject({ to: 'role:backend', kind: 'request', needsReply: true, replyTo: null, by: 'a' });
      expectShape('message', m);
      const inbox = await p.j(['--session', 'b', '--role', 'backend', 'inbox']);
      expect(inbox.map((x: any) => x.id)).toEqual([m.id]);
      // Marked read: nothing unread is left (looked at over the API, which marks nothing).
      expect(await p.api('inbox', { id: 'b', role: 'backend' }, { markRead: false })).toEqual([]);
      const [all, reply] = await Promise.all([
        p.j(['--session', 'b', '--role', 'backend', 'inbox', '--all']),
        p.j(['--session', 'b', 'send', 'a', 'here it is', '--reply-to', m.id]),
      ]);
      expect(all.map((x: any) => x.id)).toEqual([m.id]);
      expect(reply.replyTo).toBe(m.id);
    };
    const notes = async () => {
      expect(await p.j(['note', 'set', 'staging', 'https://staging'])).toMatchObject({ key: 'staging', value: 'https://staging' });
      const [got, list] = await Promise.all([p.ok(['note', 'get', 'staging']), p.j(['note', 'list'])]);
      expect(got.stdout).toBe('https://staging\n');
      expect(list.map((n: any) => n.key)).toEqual(['staging']);
      expect(await p.j(['note', 'delete', 'staging'])).toEqual({ deleted: 'staging' });
      const gone = await p.run(['note', 'get', 'staging']);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/no note staging/);
    };
    await Promise.all([decisions(), interfaces(), messages(), notes()]);
  });

  it('tasks, handoff, versions, diff, rollback and timeline as JSON', MANY_PROCESSES, async () => {
    const p = project();
    const t1 = await p.j(['task', 'add', 'Users migration', '--for', 'backend']);
    const t2 = await p.j(['task', 'add', 'Login form', '--for', 'frontend', '--dep', t1.id]);
    expect(t2.deps).toEqual([t1.id]);
    expectShape('task', t1);
    expect(t1).toMatchObject({ assignee: null, detail: null, handoff: null });
    // Steps that do not depend on each other run alongside.
    const [mine, forFrontend, blocked, noted] = await Promise.all([
      (async () => {
        expect((await p.j(['--session', 'a', 'task', 'claim', t1.id])).assignee.id).toBe('a');
        return p.j(['--session', 'a', 'task', 'list', '--mine']);
      })(),
      p.j(['task', 'list', '--for', 'frontend']),
      p.j(['task', 'block', t2.id, '--reason', 'waits for the migration']),
      p.j(['task', 'note', t1.id, 'half done']),
    ]);
    expect(mine.map((t: any) => t.id)).toEqual([t1.id]);
    expect(forFrontend.map((t: any) => t.id)).toEqual([t2.id]);
    expect(blocked.status).toBe('blocked');
    expect(noted.lastNote).toBe('half done');
    const v = await p.j(['snapshot', '--name', 'before']);
    expect(v.name).toBe('before');
    const h = await p.j(['--session', 'a', 'handoff', t1.id, 'role:tests', '--summary', 'over to you', '--file', 'db/m1.sql']);
    expect(h.message).toMatchObject({ kind: 'handoff', to: 'role:tests' });
    expect((await p.j(['task', 'done', t1.id, '--note', 'merged'])).status).toBe('done');
    const [open, all, history] = await Promise.all([
      p.j(['task', 'list']),
      // --all counts the done one; --field: a dotted path into the JSON, over each element of a list.
      p.ok(['task', 'list', '--all', '--json', '--field', 'title']),
      p.j(['history']),
    ]);
    expect(open.map((t: any) => t.id)).toEqual([t2.id]);
    expect(JSON.parse(all.stdout)).toEqual(['Users migration', 'Login form']);
    expect(history.map((x: any) => x.name)).toEqual(['before']);
    expect((await p.j(['task', 'reopen', t1.id])).status).toBe('open');
    const diff = await p.j(['diff', 'before']);
    expect(diff.changes.some((c: any) => c.section === 'tasks' && c.key === t1.id && c.change === 'changed')).toBe(true);
    const rb = await p.j(['rollback', 'before']);
    expect(rb.version.name).toBe('before');
    // Read over the API (`huddle history` is checked above): the automatic version before the rollback.
    expect((await p.api('history', 'reader')).length).toBe(2);
    const [tl, first] = await Promise.all([
      p.j(['timeline', '--limit', '100']),
      // A string it picks is printed plain.
      p.ok(['task', 'list', '--all', '--json', '--field', '0.title']),
    ]);
    expect(tl.some((e: any) => e.type === 'task.added')).toBe(true);
    for (const e of tl) expectShape('event', e);
    expect(tl.every((e: any) => typeof e.by === 'string' && typeof e.byName === 'string' && !('actor' in e))).toBe(true);
    expect(first.stdout).toBe('Users migration\n');
  });
});
