/**
 * What each session did (issue 17): a scripted hour of activity injected through the model with
 * its timestamps (no sleeping), then the events recorded where they happen on a real server
 * (joins, lock holds, lock waits, denied edits, deduplicated) and the report op and command.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as Y from 'yjs';
import { SharedContext } from '../src/model/context.js';
import { ActivityTracker, noteDenied, noteLockWait, recordActivity } from '../src/model/activity.js';
import { buildReport, reportLines } from '../src/model/report.js';
import type { LockView, PresenceView, SessionView } from '../src/model/view.js';
import { ApiClient } from '../cli/client.js';
import { CLI, cleanup, startServer, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

const MIN = 60_000;
const sess = (id: string, role: string, startedAt: number, editing: string[] = []): SessionView => ({
  v: 1, kind: 'session', id, name: id, role, agent: 'script', host: 'h', pid: 1, cwd: '/', branch: null, task: null, intent: null,
  startedAt, lastActive: startedAt, hosted: true, clientId: id.length, status: 'active', locks: [], editing: editing.map((path) => ({ path, at: startedAt })),
});
const lock = (id: string, holder: string, path: string, claimedAt: number): LockView => ({
  id, path, mode: 'exclusive', claimedAt, expiresAt: claimedAt + 60 * MIN, capAt: claimedAt + 480 * MIN, confirmed: true, clientId: 1, session: holder, sessionName: holder, role: 'backend', state: 'held', holderStatus: 'active',
});
const view = (sessions: SessionView[], locks: LockView[] = []): PresenceView => ({ sessions, watchers: [], locks });

describe('report over a scripted hour', () => {
  it('tells per session when it was here, its tasks, files, locks and waits on them, refused edits and messages', () => {
    const ctx = new SharedContext(new Y.Doc());
    const t0 = Date.now() - 60 * MIN;
    const at = (m: number) => t0 + m * MIN;
    const tracker = new ActivityTracker([], 10_000, t0);
    const alice = { id: 'alice', name: 'alice', role: 'backend' };
    const bob = { id: 'bob', name: 'bob', role: 'frontend' };
    // 00: alice joins; 02: bob joins; 05: alice locks src/a.ts.
    recordActivity(ctx, tracker.feed(view([sess('alice', 'backend', at(0))]), at(0)));
    recordActivity(ctx, tracker.feed(view([sess('alice', 'backend', at(0)), sess('bob', 'frontend', at(2))]), at(2)));
    recordActivity(ctx, tracker.feed(view([sess('alice', 'backend', at(0), ['src/a.ts']), sess('bob', 'frontend', at(2))], [lock('l1', 'alice', 'src/a.ts', at(5))]), at(5)));
    ctx.record(alice, 'task.claimed', 'rate limiting', 't-1', at(6));
    // 10: bob is refused an edit of src/a.ts (twice: recorded once), then waits 3 min for the lock.
    expect(noteDenied(ctx, bob, 'src/a.ts', { session: 'alice', sessionName: 'alice' }, at(10))).toBe(true);
    expect(noteDenied(ctx, bob, 'src/a.ts', { session: 'alice', sessionName: 'alice' }, at(11))).toBe(false);
    const req = ctx.send(bob, { to: 'alice', text: 'done with src/a.ts soon?', kind: 'request' });
    ctx.send(alice, { to: 'bob', text: 'in a few minutes', replyTo: req.id });
    // 25: alice releases (held 20 min); bob got it after waiting 3 min.
    recordActivity(ctx, tracker.feed(view([sess('alice', 'backend', at(0), ['src/a.ts']), sess('bob', 'frontend', at(2))]), at(25)));
    noteLockWait(ctx, bob, { path: 'src/a.ts', holder: 'alice', holderName: 'alice', ms: 3 * MIN, got: true }, at(25));
    ctx.record(alice, 'task.done', 'rate limiting', 't-1', at(40));
    // 50: alice is gone (recorded once absent past the grace, at her last sighting).
    recordActivity(ctx, tracker.feed(view([sess('bob', 'frontend', at(2))]), at(45)));
    recordActivity(ctx, tracker.feed(view([sess('bob', 'frontend', at(2))]), at(50)));
    // Heartbeats record nothing.
    expect(tracker.feed(view([sess('bob', 'frontend', at(2))]), at(55))).toEqual([]);

    const r = buildReport({ events: ctx.timeline(), messages: ctx.messages(), sessions: [sess('bob', 'frontend', at(2))], since: t0, now: Date.now() });
    const a = r.sessions.find((s) => s.id === 'alice')!;
    const b = r.sessions.find((s) => s.id === 'bob')!;
    expect(a.spans).toEqual([{ from: at(0), to: at(25) }]);
    expect(a.here).toBe(false);
    expect(a.tasksClaimed.map((t) => t.title)).toEqual(['rate limiting']);
    expect(a.tasksDone.map((t) => t.at)).toEqual([at(40)]);
    expect(a.filesEdited).toEqual(['src/a.ts']);
    expect(a.locksHeld).toEqual([{ path: 'src/a.ts', ms: 20 * MIN, at: at(25) }]);
    expect(a.othersWaited).toEqual([{ path: 'src/a.ts', session: 'bob', name: 'bob', ms: 3 * MIN, got: true }]);
    expect(a.deniedOthers).toBe(1);
    expect(a.answered).toBe(1);
    expect(b.spans).toEqual([{ from: at(2), to: null }]);
    expect(b.here).toBe(true);
    expect(b.denied).toEqual([{ path: 'src/a.ts', holder: 'alice', at: at(10) }]);
    expect(b.waited).toEqual([{ path: 'src/a.ts', holder: 'alice', ms: 3 * MIN, got: true }]);
    expect(b.messagesSent).toBe(1);
    expect(b.requestsAnswered).toBe(1);
    // Sessions over time: 1, then 2, then 1 when alice left.
    expect(r.timeline.map(([t, n]) => [(t - t0) / MIN, n])).toEqual([[0, 1], [2, 2], [25, 1]]);
    expect(reportLines(a, Date.now()).join('\n')).toContain('others waited on its locks: bob 3 min on src/a.ts');
    // A narrower window and one session.
    const late = buildReport({ events: ctx.timeline(), messages: [], sessions: [], since: at(30), now: Date.now(), session: 'alice' });
    expect(late.sessions.map((s) => [s.id, s.tasksDone.length, s.locksHeld.length])).toEqual([['alice', 1, 0]]);
    // Wrongly typed data is ignored, never thrown on.
    ctx.record(alice, 'lock.held', 'x', 'src/b.ts', at(41), { path: 5 as never, ms: 'long' as never });
    expect(buildReport({ events: ctx.timeline(), messages: [], sessions: [], since: t0, now: Date.now() }).sessions.find((s) => s.id === 'alice')!.locksHeld).toHaveLength(1);
  });
});

describe('activity recorded on a real server', () => {
  it('joins, lock holds, lock waits and denied edits land in the timeline once; report and `huddle report` show them', async () => {
    const server = await startServer();
    const api = (id: string, role: string) => new ApiClient({ httpUrl: server.url, project: 'rep', session: { id, name: id, role } });
    const alice = api('alice', 'backend');
    const bob = api('bob', 'frontend');
    await alice.op('lock', { paths: ['src/x.ts'], reason: 'refactor' });
    const refused = await bob.op('lock', { paths: ['src/x.ts'], waitMs: 200 });
    expect(refused.status).toBe('held');
    const cwd = tempDir();
    const deny = () => fetch(`${server.url}/hooks/claude-code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hook_event_name: 'PreToolUse', session_id: 'dave', cwd, tool_name: 'Write', tool_input: { file_path: `${cwd}/src/x.ts`, content: 'x' }, huddle: { project: 'rep', role: 'tests' } }),
    }).then((r) => r.json() as Promise<{ hookSpecificOutput?: { permissionDecision?: string } }>);
    expect((await deny()).hookSpecificOutput?.permissionDecision).toBe('deny');
    expect((await deny()).hookSpecificOutput?.permissionDecision).toBe('deny');
    const room = await server.room('rep');
    const ctx = new SharedContext(room.doc);
    // Presence is sampled (at most every 0.5 s): release once the lock has been seen.
    await waitFor(() => ctx.timeline({ types: ['session.joined'] }).length === 3, 'the joins to be recorded');
    await alice.op('unlock', {});
    await waitFor(() => ctx.timeline({ types: ['lock.held'] }).length === 1, 'the lock hold to be recorded');
    expect(ctx.timeline({ types: ['session.joined'] }).map((e) => e.actor).sort()).toEqual(['alice', 'bob', 'dave']);
    expect(ctx.timeline({ types: ['edit.denied'] })).toHaveLength(1);
    expect(ctx.timeline({ types: ['lock.waited'] })).toEqual([expect.objectContaining({ actor: 'bob', data: expect.objectContaining({ holder: 'alice', got: false }) })]);

    const r = await alice.op('report', { sinceMs: 3600_000 });
    const a = r.sessions.find((s) => s.id === 'alice')!;
    expect(a.locksHeld.map((l) => l.path)).toEqual(['src/x.ts']);
    expect(a.othersWaited).toEqual([expect.objectContaining({ name: 'bob', got: false })]);
    expect(a.deniedOthers).toBe(1);
    expect(a.here).toBe(true);

    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [CLI, '--url', server.url, '--project', 'rep', '--session', 'dave', 'report', '--since', '2h'], { cwd, env: { ...process.env, HUDDLE_SESSION: '', CLAUDE_CODE_SESSION_ID: '', NO_COLOR: '1' } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^dave \(tests\), here now/);
    expect(out.stdout).toContain('conflicts avoided: 1 of its edits refused (src/x.ts held by alice)');
    expect(out.stdout).not.toContain('alice (backend)');
  });
});
