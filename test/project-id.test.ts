/**
 * Issue 12, "the same repository is the same project": real `git worktree add` and real clones
 * meet in one project; lock paths are relative to each checkout; unknown recipients are warned about.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { apiOp, cleanup, startServer, tempDir } from './helpers.js';
import { isolatedEnv, runCli } from './cli-run.js';
import { normalizeRemote, originUrl } from '../src/node/project-id.js';

afterEach(cleanup);

type Json = Record<string, any>;

describe('project identity', () => {
  it('normalizes remote URLs: ssh and https forms of one repository are the same', () => {
    for (const u of ['git@github.com:acme/app.git', 'https://github.com/acme/app.git', 'https://user@GitHub.com/acme/app/', 'ssh://git@github.com:22/acme/app.git', 'git+ssh://git@github.com/acme/app']) {
      expect(normalizeRemote(u)).toBe('github.com/acme/app');
    }
    expect(normalizeRemote('/srv/git/app.git')).toBeNull();
    expect(normalizeRemote('file:///srv/git/app.git')).toBeNull();
    expect(originUrl('[core]\n\tbare = false\n[remote "upstream"]\n\turl = x:y\n[remote "origin"]\n\turl = git@h:a/b.git\n\tfetch = +refs/heads/*\n')).toBe('git@h:a/b.git');
  });

  it('worktrees and clones of one repository meet; the same file in two worktrees is the same lock', async () => {
    const server = await startServer();
    const base = tempDir();
    const env = isolatedEnv({ HUDDLE_URL: server.wsUrl, GIT_CONFIG_NOSYSTEM: '1' });
    const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, env, stdio: 'pipe' }).toString();
    const app = path.join(base, 'app');
    fs.mkdirSync(path.join(app, 'src'), { recursive: true });
    fs.writeFileSync(path.join(app, 'src', 'a.ts'), 'export const a = 1;\n');
    git(base, 'init', '-q', '-b', 'main', app);
    git(app, 'add', '.');
    git(app, 'commit', '-qm', 'first');
    const wt = path.join(base, 'app-wt1');
    git(app, 'worktree', 'add', '-q', '-b', 'wt1', wt);
    const project = async (cwd: string) => JSON.parse((await runCli(['config', '--json'], { cwd, env })).stdout).project as Json;

    // No remote: the git common directory (the main checkout), whatever the worktree's folder is called.
    const [inApp, inWt] = await Promise.all([project(app), project(path.join(wt, 'src'))]);
    expect(inApp).toMatchObject({ value: 'app', source: 'default', derivedFrom: 'git-common-dir' });
    expect(inWt).toMatchObject({ value: 'app', derivedFrom: 'git-common-dir' });

    // A lock taken in the main checkout denies the same file edited in the worktree.
    const lock = await runCli(['lock', 'src/a.ts', '--reason', 'refactor'], { cwd: app, env: { ...env, HUDDLE_SESSION: 'sess-main', HUDDLE_NAME: 'main-agent' } });
    expect(lock.code).toBe(0);
    const res = await fetch(`${server.url}/hooks/claude-code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ session_id: 'sess-wt', cwd: wt, hook_event_name: 'PreToolUse', tool_name: 'Edit', tool_input: { file_path: path.join(wt, 'src', 'a.ts'), old_string: 'a', new_string: 'b' } }),
    });
    const out = ((await res.json()) as Json).hookSpecificOutput;
    expect(out?.permissionDecision).toBe('deny');
    expect(out.permissionDecisionReason).toContain('src/a.ts is locked by main-agent');

    // With an origin, clones under other names (ssh here, https there) are one project, worktrees too.
    git(app, 'remote', 'add', 'origin', 'git@github.com:acme/app.git');
    const clone = path.join(base, 'elsewhere', 'my-checkout');
    fs.mkdirSync(path.dirname(clone));
    git(base, 'clone', '-q', app, clone);
    git(clone, 'remote', 'set-url', 'origin', 'https://github.com/acme/app.git');
    const [ids, human] = await Promise.all([Promise.all([app, wt, clone].map(project)), runCli(['config'], { cwd: clone, env })]);
    for (const id of ids) expect(id).toMatchObject({ value: 'github.com-acme-app', derivedFrom: 'origin', identity: 'github.com/acme/app' });
    expect(human.stdout).toMatch(/project\s+github\.com-acme-app\s+default: origin github\.com\/acme\/app/);
  });

  it('huddle send to a session or role that does not exist warns', async () => {
    const server = await startServer();
    const cwd = tempDir();
    fs.mkdirSync(path.join(cwd, '.huddle'));
    fs.writeFileSync(path.join(cwd, '.huddle', 'config.json'), JSON.stringify({ project: 'send1' }));
    const env = isolatedEnv({ HUDDLE_URL: server.wsUrl });
    // The session that is here, through the API (what is tested is send's warning).
    await apiOp(server.url, 'send1', 'update', { id: 'backend-1', role: 'backend' }, { task: 'api' });
    // Each send from the same person at the keyboard; the warnings depend on who is here, which they do not change.
    const typo = await runCli(['send', 'backnd-1', 'which status code?'], { cwd, env });
    expect(typo.code).toBe(0);
    expect(typo.stderr).toContain('warning: no session "backnd-1" is here or has been seen in this project (here: ');
    const [role, ...fine] = await Promise.all([['role:frontnd', 'ready'], ['backend-1', 'hi'], ['role:backend', 'hi'], ['all', 'hi']].map(([to, text]) => runCli(['send', to, text], { cwd, env })));
    expect(role.stderr).toContain('warning: no session here has role "frontnd" (roles here: backend, human)');
    for (const r of fine) expect(r.stderr).toBe('');
  });
});
