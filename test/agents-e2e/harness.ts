/**
 * What every real-agent e2e test shares: where the pinned CLIs are (scripts/install-agents.sh),
 * the rule that CI must run them (a missing CLI fails there and only skips locally), and running
 * one as a child that is killed at its timeout or when the test ends.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, onCleanup } from '../helpers.js';

export const AGENTS_DIR = process.env.HUDDLE_AGENTS_DIR ?? path.join(ROOT, '.cache/agents');

/** The installed binary of an agent: `agentBin('codex', 'codex')` is .cache/agents/codex/node_modules/.bin/codex. */
export function agentBin(folder: string, bin: string): string {
  return path.join(AGENTS_DIR, folder, 'node_modules/.bin', bin);
}

/** Whether every binary is there; in CI a missing one is an error, locally the test is skipped with a warning. */
export function installed(what: string, bins: string[]): boolean {
  const missing = bins.filter((b) => !fs.existsSync(b));
  if (missing.length === 0) return true;
  if (process.env.CI) throw new Error(`${what}: ${missing.join(', ')} not installed: run scripts/install-agents.sh (CI must run these tests)`);
  console.warn(`SKIPPED: ${what}: ${missing.join(', ')} missing; run scripts/install-agents.sh`);
  return false;
}

export type RunResult = { code: number | null; stdout: string; stderr: string };

/** Run an agent CLI to its end (stdin closed), killed at `timeoutMs` or when the test ends first. */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    onCleanup(() => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    });
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}
