/**
 * Issue 12, "one server per machine, found without flags": `huddle serve` keeps its data in the
 * per-user state folder and says where it listens there; commands and hooks find it; a second
 * server on the same folder names the first. HOME and XDG_STATE_HOME are temp folders.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, cleanup, onCleanup, tempDir, waitClose, waitExit, waitFor } from './helpers.js';
import { isolatedEnv, runCli } from './cli-run.js';

afterEach(cleanup);

function serve(env: NodeJS.ProcessEnv, cwd: string) {
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  onCleanup(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return { proc, out: () => out };
}

function hook(input: Record<string, unknown>, env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; stdout: string }> {
  const proc = spawn(process.execPath, [CLI, 'hook'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  proc.stdout!.on('data', (d) => (stdout += d));
  proc.stdin!.end(JSON.stringify(input));
  return waitClose(proc).then(({ code }) => ({ code, stdout }));
}

describe('one server per machine, found without flags', () => {
  it('serve writes where it listens into the per-user state folder; commands and hooks find it; a second serve names it', async () => {
    const home = tempDir('huddle-home-');
    const env = isolatedEnv({}, home);
    const stateDir = path.join(home, '.local', 'state', 'huddle');
    const project = path.join(tempDir(), 'app');
    fs.mkdirSync(path.join(project, '.git'), { recursive: true });
    fs.writeFileSync(path.join(project, '.git', 'HEAD'), 'ref: refs/heads/main\n');

    // Started in some other folder: the data goes to the user's state folder, not under the cwd.
    const elsewhere = tempDir();
    const first = serve(env, elsewhere);
    const file = path.join(stateDir, 'server.json');
    await waitFor(() => /listening on/.test(first.out()), 'the server to listen', 15000);
    const info = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(info).toMatchObject({ pid: first.proc.pid, data: stateDir });
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fs.existsSync(path.join(elsewhere, '.huddle'))).toBe(false);
    expect(first.out()).toContain(`data in ${stateDir}`);

    // A command in the project, with no URL anywhere, talks to it (port 0: not the default 4321).
    const conf = await runCli(['config', '--json'], { cwd: project, env });
    expect(JSON.parse(conf.stdout).url).toMatchObject({ value: info.url.replace(/^http/, 'ws'), source: 'discovered' });
    const lock = await runCli(['lock', 'src/a.ts'], { cwd: project, env });
    expect(lock.code).toBe(0);
    const peek = await runCli(['locks', '--json'], { cwd: project, env });
    expect(JSON.parse(peek.stdout).map((l: { path: string }) => l.path)).toEqual(['src/a.ts']);
    // So does a Claude Code command hook.
    const h = await hook({ session_id: 'sess-H', cwd: project, hook_event_name: 'SessionStart', source: 'startup' }, env, project);
    expect(h.code).toBe(0);
    expect(JSON.parse(h.stdout).hookSpecificOutput.additionalContext).toContain('src/a.ts');

    // A second server on the same folder refuses and names the first one's address.
    const second = serve(env, elsewhere);
    const exit = await waitExit(second.proc);
    expect(exit.code).toBe(1);
    expect(second.out()).toContain(`in use by the huddle server at ${info.url} (pid ${first.proc.pid})`);

    // Shut down: the file goes with it. Killed: the file stays, but is known stale (its pid is gone).
    first.proc.kill('SIGTERM');
    expect((await waitExit(first.proc)).code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    const third = serve(env, elsewhere);
    await waitFor(() => /listening on/.test(third.out()), 'the server to listen', 15000);
    third.proc.kill('SIGKILL');
    await waitExit(third.proc);
    expect(fs.existsSync(file)).toBe(true);
    const gone = await runCli(['config', '--json'], { cwd: project, env });
    expect(JSON.parse(gone.stdout).url).toMatchObject({ value: 'ws://127.0.0.1:4321', source: 'default' });
    const down = await runCli(['lock', 'src/b.ts'], { cwd: project, env: { ...env, HUDDLE_URL: 'ws://127.0.0.1:9' } });
    expect(down.code).toBe(2);
    expect(down.stderr).toContain('huddle serve');
    expect(down.stderr).not.toContain('npm start');
  });
});
