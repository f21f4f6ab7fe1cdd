/** Work suggestions (issue 17): pure rules, then a real server whose suggestions follow tasks and locks. */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ApiClient } from '../cli/client.js';
import { areaOf, pathHints, suggest, suggestText } from '../src/model/suggest.js';
import { CLI, cleanup, startServer, tempDir } from './helpers.js';
import type { Task } from '../src/model/context.js';

afterEach(cleanup);

const task = (id: string, o: Partial<Task> = {}): Task => ({ id, title: id, status: 'open', assignee: null, deps: [], createdAt: 0, updatedAt: 0, by: 'x', byName: 'x', ...o });

describe('suggestions, pure', () => {
  it('areas are folders, two deep in source containers; path hints come from task text', () => {
    expect(areaOf('src/payments/api.ts')).toBe('src/payments');
    expect(areaOf('src/index.ts')).toBe('src');
    expect(areaOf('relay/hooks.ts')).toBe('relay');
    expect(areaOf('src/components/**')).toBe('src/components');
    expect(areaOf('README.md')).toBeNull();
    expect(areaOf('node_modules/x/y.js')).toBeNull();
    expect(pathHints('Refund flow in src/payments/ (see https://x.y/z), role:backend')).toEqual(['src/payments/x']);
  });

  it('lists only open, unclaimed tasks for the role whose dependencies are done', () => {
    const tasks = [task('t-a', { role: 'backend' }), task('t-b', { role: 'backend', deps: ['t-a'] }), task('t-c', { role: 'frontend' }), task('t-d'), task('t-e', { role: 'backend', status: 'claimed', assignee: { id: 'z', name: 'z', at: 0 } })];
    const s = suggest({ me: { id: 'me', name: 'me', role: 'backend' }, tasks, sessions: [], locks: [] });
    expect(s.tasks.map((t) => t.id)).toEqual(['t-a', 't-d']);
    expect(s.waiting).toBe(1);
    const done = suggest({ me: { id: 'me', name: 'me', role: 'backend' }, tasks: [{ ...tasks[0], status: 'done' }, tasks[1]], sessions: [], locks: [] });
    expect(done.tasks.map((t) => t.id)).toEqual(['t-b']);
    expect(suggestText(done)).toContain('nobody on them: t-b');
  });
});

function client(url: string, id: string, role: string) {
  return new ApiClient({ httpUrl: url, project: 'sugg', session: { id, name: id, role } });
}

describe('suggestions from a real server', () => {
  it('change as tasks are claimed and done and as locks come and go; SessionStart and `huddle next` show them', async () => {
    const server = await startServer();
    const carol = client(server.url, 'carol', 'frontend');
    const alice = client(server.url, 'alice', 'backend');
    const areas = ['src/payments', 'src/components', 'web'];
    const t1 = await carol.op('task.add', { title: 'rate limiting', role: 'backend' });
    const t2 = await carol.op('task.add', { title: 'refunds', role: 'backend', deps: [t1.id] });
    await carol.op('update', { task: 'the login form' });
    await carol.op('lock', { paths: ['src/components/**'], reason: 'login form' });

    let s = await alice.op('next', { areas });
    expect(s.presenceKnown).toBe(true);
    expect(s.tasks.map((t) => t.id)).toEqual([t1.id]);
    expect(s.waiting).toBe(1);
    expect(s.others).toEqual([expect.objectContaining({ name: 'carol', role: 'frontend', task: 'the login form', holds: ['src/components/**'] })]);
    expect(s.freeAreas).toEqual(['src/payments/', 'web/']);
    expect(s.busyAreas).toEqual([{ area: 'src/components/', by: ['carol'] }]);
    expect(suggestText(s)).toContain('carol (frontend) is on the login form and holds src/components/**.');

    // alice takes t1: nothing free for backend until it is done, then t2 is.
    await alice.op('task.claim', { id: t1.id });
    const bob = client(server.url, 'bob', 'backend');
    s = await bob.op('next', { areas });
    expect(s.tasks).toEqual([]);
    expect(s.others.map((o) => o.name).sort()).toEqual(['alice', 'carol']);
    await alice.op('task.done', { id: t1.id });
    s = await bob.op('next', { areas });
    expect(s.tasks.map((t) => t.id)).toEqual([t2.id]);

    // carol lets go: her folder is free; bob edits in payments: that one is busy.
    await carol.op('unlock', {});
    await carol.op('declare', { name: 'LoginForm', file: 'web/login.ts' });
    await bob.op('editing', { path: 'src/payments/refund.ts' });
    s = await alice.op('next', { areas });
    expect(s.freeAreas).toEqual(['src/components/', 'web/']);
    expect(s.busyAreas).toEqual([{ area: 'src/payments/', by: ['bob'] }]);

    // The SessionStart injection carries the same facts within its budget (areas seen: edits, locks, interfaces).
    const cwd = tempDir();
    const hook = await fetch(`${server.url}/hooks/claude-code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hook_event_name: 'SessionStart', source: 'startup', session_id: 'dave', cwd, huddle: { project: 'sugg', role: 'backend' } }),
    });
    const text = ((await hook.json()) as { hookSpecificOutput: { additionalContext: string } }).hookSpecificOutput.additionalContext;
    expect(text).toContain('Where this session could help');
    expect(text).toContain(`nobody on them: ${t2.id.split('-')[0]}-${t2.id.split('-')[2].slice(0, 6)} refunds`);
    expect(text).toContain('Nobody is editing or holding web/.');
    expect(text.length).toBeLessThanOrEqual(2000);

    // `huddle next --json` adds the repository's own folders, listed by the CLI.
    fs.mkdirSync(path.join(cwd, 'src', 'billing'), { recursive: true });
    fs.mkdirSync(path.join(cwd, 'docs'));
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [CLI, '--url', server.url, '--project', 'sugg', '--session', 'erin', '--role', 'backend', 'next', '--json'], { cwd, env: { ...process.env, HUDDLE_SESSION: '', CLAUDE_CODE_SESSION_ID: '' } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { freeAreas: string[]; tasks: Array<{ id: string }> };
    expect(j.freeAreas).toEqual(['docs/', 'src/billing/', 'web/']);
    expect(j.tasks.map((t) => t.id)).toEqual([t2.id]);
  });
});
