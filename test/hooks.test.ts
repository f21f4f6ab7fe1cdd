import { afterEach, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { CLI, cleanup, sleep, startServer, tempDir } from './helpers.js';
import { bashWrites } from '../src/model/bash-writes.js';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { newSessionState } from '../src/model/session.js';
import type { HuddleServer } from '../relay/server.js';

afterEach(async () => {
  vi.useRealTimers();
  await cleanup();
});

type Reply = { status: number; body: Record<string, any> };

async function hook(server: HuddleServer, payload: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${server.url}/hooks/claude-code`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function op(server: HuddleServer, project: string, name: string, session: Record<string, unknown>, args: Record<string, unknown> = {}) {
  const res = await fetch(`${server.url}/api/p/${project}/op/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, ...args }) });
  const j = (await res.json()) as { ok: boolean; result: any; error?: string };
  if (!j.ok) throw new Error(j.error);
  return j.result;
}

/** A repository with a .huddle/config.json, as huddle init leaves it. */
function repo(config: Record<string, unknown> = {}): string {
  const root = path.join(tempDir(), 'repo');
  fs.mkdirSync(path.join(root, '.git'), { recursive: true });
  fs.writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  fs.mkdirSync(path.join(root, '.huddle'));
  fs.writeFileSync(path.join(root, '.huddle', 'config.json'), JSON.stringify({ project: 'hooks1', ...config }));
  fs.mkdirSync(path.join(root, 'src'));
  fs.writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a = 1;\n');
  fs.writeFileSync(path.join(root, 'src', 'b.ts'), 'line1\nline2\nline3\n');
  return root;
}

const base = (session: string, cwd: string, event: string) => ({ session_id: session, transcript_path: '/tmp/t.jsonl', cwd, permission_mode: 'default', hook_event_name: event });
const edit = (session: string, cwd: string, file: string) => ({ ...base(session, cwd, 'PreToolUse'), tool_name: 'Edit', tool_input: { file_path: file, old_string: 'a', new_string: 'b' }, tool_use_id: 'toolu_1' });
const bash = (session: string, cwd: string, command: string) => ({ ...base(session, cwd, 'PreToolUse'), tool_name: 'Bash', tool_input: { command, description: 'x' }, tool_use_id: 'toolu_2' });

describe('Claude Code hooks', () => {
  it('denies edits and Bash writes of a file another session locked; allows the rest without output', async () => {
    const server = await startServer();
    const root = repo();
    const A = { id: 'sess-A', name: 'alice', role: 'backend' };
    expect((await hook(server, { ...base(A.id, root, 'SessionStart'), source: 'startup', model: 'claude' }, { 'X-Huddle-Role': 'backend', 'X-Huddle-Name': 'alice' })).status).toBe(200);
    // A locks src/a.ts through the API, as `huddle lock src/a.ts` does.
    const r = await op(server, 'hooks1', 'lock', A, { paths: ['src/a.ts'], reason: 'refactoring auth' });
    expect(r.status).toBe('confirmed');

    const B = 'sess-B';
    await hook(server, { ...base(B, root, 'SessionStart'), source: 'startup' });
    const denied = await hook(server, edit(B, root, path.join(root, 'src/a.ts')));
    expect(denied.status).toBe(200);
    const out = denied.body.hookSpecificOutput;
    expect(out.hookEventName).toBe('PreToolUse');
    expect(out.permissionDecision).toBe('deny');
    expect(out.permissionDecisionReason).toContain('src/a.ts');
    expect(out.permissionDecisionReason).toContain('alice');
    expect(out.permissionDecisionReason).toContain('role backend');
    expect(out.permissionDecisionReason).toContain('refactoring auth');
    expect(out.permissionDecisionReason).toMatch(/since \d\d:\d\d UTC/);

    // Relative to a subfolder cwd, too.
    const fromSub = await hook(server, edit(B, path.join(root, 'src'), 'a.ts'));
    expect(fromSub.body.hookSpecificOutput?.permissionDecision).toBe('deny');

    expect(await hook(server, edit(B, root, path.join(root, 'src/b.ts')))).toEqual({ status: 200, body: {} });
    // A's own edit is allowed.
    expect((await hook(server, edit(A.id, root, path.join(root, 'src/a.ts')))).body).toEqual({});

    for (const cmd of ['echo x > src/a.ts', 'sed -i s/a/b/ src/a.ts', 'cat x | tee -a src/a.ts', 'cd src && rm a.ts', 'git checkout -- src/a.ts', 'cp /tmp/x src/', 'git stash']) {
      const b = await hook(server, bash(B, root, cmd));
      expect(b.body.hookSpecificOutput?.permissionDecision, cmd).toBe('deny');
      expect(b.body.hookSpecificOutput.permissionDecisionReason, cmd).toContain('alice');
    }
    for (const cmd of ['cat src/a.ts', 'echo x > src/b.ts', 'grep -r a src > /dev/null', 'npm test 2>&1', 'sed s/a/b/ src/a.ts']) {
      expect((await hook(server, bash(B, root, cmd))).body, cmd).toEqual({});
    }

    // A's session ends: the lock goes with it.
    expect((await hook(server, { ...base(A.id, root, 'SessionEnd'), reason: 'other' })).body).toEqual({});
    expect((await hook(server, edit(B, root, path.join(root, 'src/a.ts')))).body).toEqual({});
    expect((await hook(server, bash(B, root, 'echo x > src/a.ts'))).body).toEqual({});
  });

  it('allows the edit once the holder goes stale (no sign of life for 10 minutes)', async () => {
    const server = await startServer();
    const root = repo();
    await hook(server, { ...base('A', root, 'SessionStart'), source: 'startup' });
    await op(server, 'hooks1', 'lock', { id: 'A', name: 'alice', role: 'backend' }, { paths: ['src/a.ts'] });
    expect((await hook(server, edit('B', root, path.join(root, 'src/a.ts')))).body.hookSpecificOutput.permissionDecision).toBe('deny');
    // Bounded: move the clock (Date only; timers stay real) past the 10-minute stale threshold.
    vi.setSystemTime(Date.now() + 11 * 60_000);
    expect((await hook(server, edit('B', root, path.join(root, 'src/a.ts')))).body).toEqual({});
  });

  it('a forced release of a peer\'s lock frees the file at the next edit; other document writes keep the denial (the hook view is reused)', async () => {
    const server = await startServer();
    const root = repo({ project: 'hooks-forced' });
    // Time stands still (Date only): the hook's view is never rebuilt for age, only when what it shows changes.
    vi.useFakeTimers({ toFake: ['Date'] });
    const room = await server.room('hooks-forced');
    // A peer connected elsewhere (not hosted here) holds src/a.ts; its state stays as it is after the force.
    const peer = new Awareness(new Y.Doc());
    const now = Date.now();
    const lock = { id: 'l-carol', path: 'src/a.ts', mode: 'exclusive' as const, claimedAt: now - 1000, expiresAt: now + 600_000, capAt: now + 3600_000, confirmed: true, reason: 'peer work' };
    peer.setLocalState({ huddle: { ...newSessionState({ id: 'sess-C', name: 'carol', role: 'frontend' }, { host: 'elsewhere', pid: 7, cwd: '/x' }, now - 5000, false), locks: [lock] } });
    applyAwarenessUpdate(room.awareness, encodeAwarenessUpdate(peer, [peer.clientID]), 'test-peer');
    const B = { id: 'sess-B', name: 'bob', role: 'backend' };
    await hook(server, { ...base(B.id, root, 'SessionStart'), source: 'startup' });
    const denied = await hook(server, edit(B.id, root, path.join(root, 'src/a.ts')));
    expect(denied.body.hookSpecificOutput?.permissionDecision).toBe('deny');
    expect(denied.body.hookSpecificOutput.permissionDecisionReason).toContain('carol');
    // A document write that is no forced release (a message) leaves the lock in force.
    await op(server, 'hooks-forced', 'send', B, { to: 'carol', text: 'may I edit src/a.ts?' });
    expect((await hook(server, edit(B.id, root, path.join(root, 'src/a.ts')))).body.hookSpecificOutput?.permissionDecision).toBe('deny');
    // Forced free: the next edit goes ahead although carol's presence still lists the claim.
    const f = await op(server, 'hooks-forced', 'unlock', B, { paths: ['src/a.ts'], force: true, reason: 'carol is away' });
    expect(f.forced).toEqual(['src/a.ts (carol)']);
    // (The op answers once the release is durable; a few tries at most, counted, not timed: Date stands still.)
    let answer: Reply | undefined;
    for (let i = 0; i < 50; i++) {
      answer = await hook(server, edit(B.id, root, path.join(root, 'src/a.ts')));
      if (answer.body.hookSpecificOutput?.permissionDecision !== 'deny') break;
      await sleep(20);
    }
    expect(answer?.body).toEqual({});
    expect((room.awareness.getStates().get(peer.clientID) as { huddle: { locks: unknown[] } }).huddle.locks).toHaveLength(1);
    peer.destroy();
  });

  it('warn policy allows with a warning; off says nothing; autoLock locks at the first edit', async () => {
    const server = await startServer();
    const warnRoot = repo({ enforce: 'warn' });
    await op(server, 'hooks1', 'lock', { id: 'A', name: 'alice', role: 'backend' }, { paths: ['src/**'] });
    const w = await hook(server, edit('B', warnRoot, path.join(warnRoot, 'src/a.ts')));
    expect(w.body.hookSpecificOutput.permissionDecision).toBeUndefined();
    expect(w.body.hookSpecificOutput.additionalContext).toContain('alice');

    const offRoot = repo({ enforce: 'off', project: 'hooks2' });
    await op(server, 'hooks2', 'lock', { id: 'A', name: 'alice', role: 'backend' }, { paths: ['src/a.ts'] });
    expect((await hook(server, edit('B', offRoot, path.join(offRoot, 'src/a.ts')))).body).toEqual({});

    const autoRoot = repo({ autoLock: true, project: 'hooks3' });
    expect((await hook(server, edit('C', autoRoot, path.join(autoRoot, 'src/b.ts')))).body).toEqual({});
    const d = await hook(server, edit('D', autoRoot, path.join(autoRoot, 'src/b.ts')));
    expect(d.body.hookSpecificOutput.permissionDecision).toBe('deny');
    expect(d.body.hookSpecificOutput.permissionDecisionReason).toContain('auto-lock');
    await hook(server, { ...base('C', autoRoot, 'SessionEnd'), reason: 'other' });
    expect((await hook(server, edit('D', autoRoot, path.join(autoRoot, 'src/b.ts')))).body).toEqual({});
  });

  it('SessionStart injects a compact summary (under 2,000 characters with 20 sessions and 200 decisions)', async () => {
    const server = await startServer();
    const root = repo({ role: 'frontend' });
    for (let i = 0; i < 20; i++) {
      const s = { id: `agent-${i}-${'x'.repeat(30)}`, name: `agent-${i}`, role: i % 2 ? 'backend' : 'frontend', task: `task number ${i} with a fairly long description of the work`, intent: 'refactor the module and update its tests' };
      await op(server, 'hooks1', 'update', s, { task: s.task, intent: s.intent });
      await op(server, 'hooks1', 'lock', s, { paths: [`src/mod${i}/**`], reason: `working on module ${i}` });
    }
    for (let i = 0; i < 200; i++) await op(server, 'hooks1', 'decide', { id: 'agent-0', name: 'agent-0', role: 'frontend' }, { text: `Decision ${i}: use approach ${i} for the data layer, because of reasons that take a while to explain`, rationale: 'why not' });
    await op(server, 'hooks1', 'send', { id: 'agent-1', name: 'agent-1', role: 'backend' }, { to: 'role:frontend', text: 'The /users endpoint now returns paginated results.' });
    await op(server, 'hooks1', 'task.add', { id: 'agent-1', name: 'agent-1', role: 'backend' }, { title: 'Build the users page', role: 'frontend' });

    const r = await hook(server, { ...base('me-session', root, 'SessionStart'), source: 'startup' });
    const text: string = r.body.hookSpecificOutput.additionalContext;
    expect(r.body.hookSpecificOutput.hookEventName).toBe('SessionStart');
    expect(text.length).toBeLessThanOrEqual(2000);
    expect(text).toContain('project hooks1');
    expect(text).toContain('role frontend');
    expect(text).toContain('agent-');
    expect(text).toContain('Decision 199');
    expect(text).toContain('paginated');
    expect(text).toContain('Build the users page');
    expect(text).toMatch(/Locks held by others/);

    // Nothing changed since: the next prompt gets nothing.
    expect((await hook(server, { ...base('me-session', root, 'UserPromptSubmit'), prompt: 'go on' })).body).toEqual({});
  });

  it('UserPromptSubmit injects only what changed, and nothing when nothing did', async () => {
    const server = await startServer();
    const root = repo();
    const A = { id: 'A', name: 'alice', role: 'backend' };
    await op(server, 'hooks1', 'decide', A, { text: 'Old decision' });
    await hook(server, { ...base('B', root, 'SessionStart'), source: 'startup' });
    const prompt = () => hook(server, { ...base('B', root, 'UserPromptSubmit'), prompt: 'next' });
    expect((await prompt()).body).toEqual({});

    await op(server, 'hooks1', 'decide', A, { text: 'Use REST, not GraphQL' });
    await op(server, 'hooks1', 'send', A, { to: 'all', text: 'Heads up: schema change at noon' });
    const r1 = (await prompt()).body.hookSpecificOutput;
    expect(r1.hookEventName).toBe('UserPromptSubmit');
    expect(r1.additionalContext).toContain('Use REST, not GraphQL');
    expect(r1.additionalContext).toContain('schema change');
    expect(r1.additionalContext).not.toContain('Old decision');
    expect((await prompt()).body).toEqual({});

    // B edits src/b.ts (the lines come from Claude Code's own structuredPatch); then A locks it: the change is reported once.
    fs.writeFileSync(path.join(root, 'src/b.ts'), 'line1\nchanged\nline3\n');
    const structuredPatch = [{ oldStart: 2, oldLines: 1, newStart: 2, newLines: 1, lines: ['-line2', '+changed'] }];
    await hook(server, { ...base('B', root, 'PostToolUse'), tool_name: 'Edit', tool_input: { file_path: path.join(root, 'src/b.ts'), old_string: 'line2', new_string: 'changed' }, tool_response: { filePath: path.join(root, 'src/b.ts'), success: true, structuredPatch } });
    const state = (await (await fetch(`${server.url}/api/p/hooks1/state`)).json()) as { sessions: Array<{ id: string; editing: Array<{ path: string; ranges?: number[][] }> }> };
    expect(state.sessions.find((s) => s.id === 'B')?.editing).toEqual([expect.objectContaining({ path: 'src/b.ts', ranges: [[2, 2]] })]);
    await op(server, 'hooks1', 'lock', A, { paths: ['src/b.ts'], reason: 'schema' });
    const r2 = (await prompt()).body.hookSpecificOutput;
    expect(r2.additionalContext).toContain('src/b.ts');
    expect(r2.additionalContext).toContain('alice');
    expect((await prompt()).body).toEqual({});
    await op(server, 'hooks1', 'unlock', A, { paths: ['src/b.ts'] });
    expect((await prompt()).body.hookSpecificOutput.additionalContext).toContain('no longer locked');
  });

  it('refuses bad input with a clear error (a non-2xx answer, which Claude Code treats as non-blocking)', async () => {
    const server = await startServer();
    // Issue 13: a body that is not declared application/json is refused before it is read.
    const plain = await fetch(`${server.url}/hooks/claude-code`, { method: 'POST', body: '{}' });
    expect(plain.status).toBe(415);
    const bad = await fetch(`${server.url}/hooks/claude-code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'not json' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/not a JSON object/);
    const missing = await hook(server, { hook_event_name: 'PreToolUse', cwd: '/tmp' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/session_id/);
  });
});

function run(args: string[], input: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, HUDDLE_URL: '', HUDDLE_SESSION: '', CLAUDE_CODE_SESSION_ID: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
    p.stdin.end(input);
  });
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('huddle hook (command hook)', () => {
  it('forwards stdin JSON to the server and prints its answer; prints nothing when there is nothing to say', async () => {
    const server = await startServer();
    const root = repo();
    await op(server, 'hooks1', 'lock', { id: 'A', name: 'alice', role: 'backend' }, { paths: ['src/a.ts'] });
    const env = { HUDDLE_URL: server.url };
    const denied = await run(['hook'], JSON.stringify(edit('B', root, path.join(root, 'src/a.ts'))), env);
    expect(denied.code).toBe(0);
    const out = JSON.parse(denied.stdout);
    expect(out.hookSpecificOutput.permissionDecision).toBe('deny');
    expect(out.hookSpecificOutput.permissionDecisionReason).toContain('alice');

    const allowed = await run(['hook'], JSON.stringify(edit('B', root, path.join(root, 'src/b.ts'))), env);
    expect(allowed).toMatchObject({ code: 0, stdout: '' });

    // Role from the environment; CLAUDE_ENV_FILE gets the session for later `huddle` commands.
    const envFile = path.join(tempDir(), 'env');
    const start = await run(['hook'], JSON.stringify({ ...base('C', root, 'SessionStart'), source: 'startup' }), { ...env, HUDDLE_ROLE: 'tests', CLAUDE_ENV_FILE: envFile });
    expect(JSON.parse(start.stdout).hookSpecificOutput.additionalContext).toContain('role tests');
    expect(fs.readFileSync(envFile, 'utf8')).toBe('export HUDDLE_SESSION=C\n');
  });

  it('fails open when no server is reachable: exit 0, no output, one line on stderr', async () => {
    const root = repo();
    const port = await freePort();
    const r = await run(['hook'], JSON.stringify(edit('B', root, path.join(root, 'src/a.ts'))), { HUDDLE_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no huddle server reachable/);
    const garbage = await run(['hook'], 'not json', { HUDDLE_URL: `http://127.0.0.1:${port}` });
    expect(garbage).toMatchObject({ code: 0, stdout: '' });
  });
});

describe('Bash write detection', () => {
  const targets = (cmd: string) => bashWrites(cmd).map((w) => (w.cd.length ? `${w.cd.join('/')}:` : '') + w.target);
  it.each([
    ['echo x > src/a.ts', ['src/a.ts']],
    ['echo x >> src/a.ts', ['src/a.ts']],
    ['echo x 2> err.log 1>/dev/null', ['err.log']],
    ['cmd &> out.txt', ['out.txt']],
    ['cmd 2>&1 | tee -a log.txt other.txt', ['log.txt', 'other.txt']],
    ["sed -i 's/a/b/' src/a.ts src/b.ts", ['src/a.ts', 'src/b.ts']],
    ['sed -i.bak -e s/a/b/ src/a.ts', ['src/a.ts']],
    ['sed s/a/b/ src/a.ts', []],
    ['perl -pi -e "s/a/b/" src/a.ts', ['src/a.ts']],
    ['cp a.ts b.ts', ['b.ts']],
    ['cp -r x y dest/', ['dest/x', 'dest/y', 'dest/']],
    ['mv old.ts new.ts', ['new.ts', 'old.ts']],
    ['rm -rf build src/a.ts', ['build', 'src/a.ts']],
    ['touch a b', ['a', 'b']],
    ['cd src && echo 1 > a.ts', ['src:a.ts']],
    ['git checkout -- src/a.ts', ['src/a.ts']],
    ['git checkout HEAD~1 -- src/a.ts src/b.ts', ['src/a.ts', 'src/b.ts']],
    ['git restore src/a.ts', ['src/a.ts']],
    ['git reset --hard', ['**']],
    ['sudo FOO=1 tee /etc/x < in', ['/etc/x']],
    ['dd if=/dev/zero of=disk.img bs=1M count=1', ['disk.img']],
    ['echo "a > b" > "my file.txt"', ['my file.txt']],
    ['cat > notes.md <<EOF', ['notes.md']],
    ['echo $X > $OUT', []],
    ['npx prettier --write src/a.ts', ['src/a.ts']],
    ['ls -la; cat a.ts | grep x', []],
  ])('%s', (cmd, expected) => {
    expect(targets(cmd)).toEqual(expected);
  });
});
