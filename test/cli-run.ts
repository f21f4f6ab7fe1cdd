/** The huddle command as a child process, in an environment that never reaches the real home. */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, onCleanup, tempDir, waitClose } from './helpers.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** HOME and XDG_STATE_HOME in a temp folder; no HUDDLE_* or CLAUDE_CODE_* from the test runner. */
export function isolatedEnv(extra: NodeJS.ProcessEnv = {}, home = tempDir('huddle-home-')): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HUDDLE_') && !k.startsWith('CLAUDE_CODE_') && !k.startsWith('XDG_')) env[k] = v;
  return { ...env, HOME: home, XDG_STATE_HOME: path.join(home, '.local', 'state'), NO_COLOR: '1', ...extra };
}

export function runCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliRun> {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d) => (stdout += d));
  proc.stderr!.on('data', (d) => (stderr += d));
  const t = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  onCleanup(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return waitClose(proc).then(({ code }) => {
    clearTimeout(t);
    return { code, stdout, stderr };
  });
}
