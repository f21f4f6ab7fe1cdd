/**
 * Issue 15, checked as a new user would after it was declared done: what still did not hold.
 * - the short version id that `huddle history` prints (`v-96fd8e`) names the version for diff and rollback;
 * - a handoff message, and a rollback's timeline entry, show short ids and right plurals;
 * - `watch --json` names the server's activity (lock.held, lock.waited) as `timeline --json` does,
 *   not `other`, and reports a join once;
 * - `sessions --json` and `conflicts --json` have a documented shape; an edit's unknown line ranges
 *   are null, never absent;
 * - `--json` pads only complete records: `next`'s task summaries and `lock`'s claims get no null
 *   where the documented shape promises a value (`lock --json` gives its claims their holder);
 * - peek's inbox marks a request as `huddle inbox` does;
 * - a bare `huddle sync` lists its subcommands and exits 0, like `task` and `note`;
 * - list commands label their columns (`decisions`, `history`...); the prose of `next` and `report`
 *   is wrapped to the terminal's width.
 */
import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedContext } from '../src/model/context.js';
import { shortId } from '../src/model/ids.js';
import { timelineEvent } from '../src/model/snapshot.js';
import { suggestText, type Suggestions } from '../src/model/suggest.js';
import { publicJson, SHAPES } from '../cli/json.js';
import { wrap } from '../cli/format.js';
import { apiOp, cleanup, followEvents, sleep, startServer, tempDir, waitFor } from './helpers.js';
import { isolatedEnv, runCli } from './cli-run.js';

afterEach(cleanup);

const me = { id: 's1', name: 'one', role: 'backend' };

describe('short ids and plurals in what people read', () => {
  it('diff and rollback take the short version id history shows; the rollback entry says "1 change"', () => {
    const ctx = new SharedContext(new Y.Doc());
    const v = ctx.snapshot(me, {});
    ctx.decide(me, { text: 'REST' });
    expect(ctx.diff(shortId(v.id)).changes.map((c) => c.change)).toEqual(['added']);
    ctx.rollback(me, shortId(v.id));
    const entry = ctx.timeline({ limit: 5 }).find((e) => e.type === 'rollback');
    expect(entry?.summary).toBe(`to ${shortId(v.id)} (1 change)`);
  });

  it('next says "1 more waits", "2 more wait"', () => {
    const s = (tasks: Suggestions['tasks'], waiting: number): string => suggestText({ me: { id: 'b', name: 'bob', role: 'frontend' }, tasks, waiting, others: [], freeAreas: [], busyAreas: [] });
    const one = [{ id: 't-mx5k87r800-0047edbdbe1ed1c4', title: 'Write UI' }];
    expect(s(one, 1)).toContain('1 more for frontend waits on dependencies.');
    expect(s(one, 2)).toContain('2 more for frontend wait on dependencies.');
    expect(s([], 1)).toContain('(1 waits on dependencies)');
  });

  it('a handoff message names the task by its short id', () => {
    const ctx = new SharedContext(new Y.Doc());
    const t = ctx.addTask(me, { title: 'Users migration' });
    const { message } = ctx.handoff(me, t.id, { to: 'bob', summary: 'half done' });
    expect(message.text).toBe(`Handoff of task "Users migration" (${shortId(t.id)}): half done`);
  });
});

describe('prose fits the terminal', () => {
  it('next and report lines wrap at spaces under a hanging indent', () => {
    const line = 'Open for frontend, dependencies done, nobody on them: t-0047ed Write API, t-771a76 Write UI.';
    const text = `For bob (frontend):\n${line}\n  ${line}`;
    const lines = wrap(text, 80).split('\n');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines[0]).toBe('For bob (frontend):');
    expect(lines[2]).toMatch(/^  \S/);
    expect(lines[4]).toMatch(/^    \S/);
    expect(lines.join(' ').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
    expect(wrap(text, Infinity)).toBe(text); // a pipe: as it is
  });
});

describe('one JSON vocabulary', () => {
  it('watch names the server\'s activity as the timeline does', () => {
    const ev = (type: string) => timelineEvent({ at: 1, type, actor: 'a', actorName: 'A', summary: 's' });
    expect(ev('lock.held')).toMatchObject({ type: 'lock.held', summary: 'A: s' });
    expect(ev('lock.waited').type).toBe('lock.waited');
    expect(ev('edit.denied').type).toBe('edit.denied');
  });

  it('summaries that are not whole records are not padded with nulls', () => {
    const summary = { id: 't-mx5k87r800-0047edbdbe1ed1c4', title: 'Write API' };
    expect(publicJson({ tasks: [summary] })).toEqual({ tasks: [summary] });
    const claim = { id: 'l-mx5k87r800-0047edbdbe1ed1c4', path: 'a.ts', mode: 'exclusive', claimedAt: 1, expiresAt: 2, capAt: 3, confirmed: true };
    expect(publicJson(claim)).toEqual(claim);
    // Sessions and conflicts have a documented shape too; an edit's unknown line ranges are null, not absent.
    const session = { v: 1, kind: 'session', id: 'a', name: 'A', role: 'r', agent: 'script', host: 'h', pid: 1, cwd: '/', startedAt: 1, lastActive: 1, hosted: false, status: 'active', locks: [], editing: [{ path: 'a.ts', at: 1 }] };
    expect(publicJson(session)).toMatchObject({ branch: null, task: null, intent: null, editing: [{ path: 'a.ts', ranges: null, at: 1 }] });
    const conflict = { path: 'a.ts', sessions: [{ id: 'a', name: 'A', role: 'r', at: 1 }, { id: 'b', name: 'B', role: 'r', ranges: [[1, 2]], at: 1 }], conflict: false, overlapping: [] };
    expect((publicJson(conflict) as { sessions: unknown[] }).sessions).toEqual([{ ...conflict.sessions[0], ranges: null }, conflict.sessions[1]]);
    // A whole task still gets every documented key.
    const task = { ...summary, status: 'open', deps: [], createdAt: 1, updatedAt: 1, by: 'a', byName: 'A' };
    expect(publicJson(task)).toMatchObject({ detail: null, role: null, assignee: null, handoff: null });
  });
});

describe('the huddle command against a real server', () => {
  it('sync alone, lock --json, diff by short id, labelled columns, and watch events named as in the timeline', { timeout: 90_000 }, async () => {
    const server = await startServer();
    const cwd = tempDir();
    const env = isolatedEnv({ COLUMNS: '80' });
    const huddle = (...args: string[]) => runCli(['--url', server.wsUrl, '--project', 'p15', '--session', 'ann', '--role', 'backend', ...args], { cwd, env });
    // What the commands under test need, and what is not theirs to do, goes through the API: a request, not a process (issue 15).
    const ann = { id: 'ann', name: 'ann', role: 'backend' };
    const api = <T = any>(op: string, args: Record<string, unknown> = {}, session: Record<string, unknown> = ann) => apiOp<T>(server.url, 'p15', op, session, args);

    const sync = await huddle('sync');
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(/Commands:[\s\S]*create[\s\S]*wait/);

    // Follow /events as `huddle watch --json` does, from before the session joins.
    const events: Array<{ type: string; session?: string }> = [];
    const ac = new AbortController();
    await followEvents(server.url, 'p15', ac.signal, (ev) => events.push(ev as { type: string; session?: string }));

    const lock = await huddle('lock', 'src/a.ts', '--json');
    const lockedAt = Date.now();
    expect(lock.code, lock.stderr).toBe(0);
    const claim = JSON.parse(lock.stdout).claims[0];
    expect(claim).toMatchObject({ path: 'src/a.ts', by: 'ann', byName: 'ann', role: 'backend', state: 'held', holderStatus: 'active', reason: null });
    // The server looks at presence at most every 500 ms: a lock it never saw held leaves no lock.held. Its
    // first look records ann's join; one after the lock was confirmed saw it held (or a later one will, within 500 ms).
    await waitFor(() => events.some((e) => e.type === 'lock.taken'), 'lock.taken on /events', 15_000);
    const joined = await waitFor(async () => (await api<Array<{ type: string; actor: string; at: number }>>('timeline', {}, { id: 'reader' })).find((e) => e.type === 'session.joined' && e.actor === 'ann'), 'the server to see ann', 15_000, 50);
    if (joined!.at < lockedAt) await sleep(600);
    await api('unlock', { paths: ['src/a.ts'] });
    await waitFor(() => events.some((e) => e.type === 'lock.held'), 'lock.held on /events', 15_000);
    expect(events.filter((e) => e.type === 'other')).toEqual([]);
    // (/events is the server's stream: `session` is what `watch --json` prints as `by`.)
    expect(events.filter((e) => e.type === 'session.joined' && e.session === 'ann'), JSON.stringify(events)).toHaveLength(1);
    ac.abort();

    const [, v] = await Promise.all([api('editing', { path: 'src/b.ts' }), api<{ id: string }>('snapshot')]);
    await Promise.all([
      api('decide', { text: 'REST, not GraphQL', rationale: 'simpler' }),
      // A request shows as one in peek's inbox too, as in `huddle inbox`.
      api('send', { to: 'ann', text: 'which status codes?', needsReply: true }, { id: 'bob', name: 'bob' }),
    ]);
    const [sessions, diff, decisions, history, peek] = await Promise.all([huddle('sessions', '--json'), huddle('diff', shortId(v.id)), huddle('decisions'), huddle('history'), huddle('peek')]);

    const annJson = (JSON.parse(sessions.stdout) as Array<Record<string, unknown>>).find((x) => x.id === 'ann')!;
    for (const k of SHAPES.session) expect({ k, present: k.replace(/\?$/, '') in annJson }).toEqual({ k, present: true });
    expect(annJson.editing).toEqual([expect.objectContaining({ path: 'src/b.ts', ranges: null })]);

    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('added: REST, not GraphQL');

    expect(decisions.stdout.split('\n')[0]).toMatch(/^ID\s+WHEN\s+BY\s+DECISION$/);
    expect(history.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+SAVED\s+WHEN\s+BY\s+SUMMARY$/);
    for (const out of [decisions.stdout, history.stdout]) for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    expect(peek.stdout).toMatch(/Inbox[\s\S]*fyi \(needs reply\)\s+bob/);
  });
});
