/**
 * The `huddle` binary (dist/cli/huddle.js) as tests run it: a clean environment (no HUDDLE_* /
 * CLAUDE_CODE_*, a temp state and cache folder), a shared server on loopback port 0 per test file, and
 * a fresh project per test. Shared by test/cli.test.ts and test/cli-roundtrip.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect } from 'vitest';
import { CLI, apiOp, apiState, cleanup, startServer, tempDir, waitClose, onCleanup } from './helpers.js';
import type { HuddleServer } from '../relay/server.js';
import { SHAPES } from '../cli/json.js';

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Every key the documented shape lists (cli/json.ts, README "JSON output") is present: null when it has no value. */
export function expectShape(kind: keyof typeof SHAPES, o: Record<string, unknown>): void {
  const missing = SHAPES[kind].map((k) => k.replace(/\?$/, '')).filter((k) => !(k in o));
  expect({ kind, missing }).toEqual({ kind, missing: [] });
  for (const k of SHAPES[kind]) if (!k.endsWith('?')) expect({ kind, k, v: o[k] === null }).toEqual({ kind, k, v: false });
}

/** Tests that run many CLI processes: their timeout keeps them far from it on a loaded 2-core machine (issue 15: no test within 3x). */
export const MANY_PROCESSES = { timeout: 150_000 };

/** Call at the top of a test file: its server starts before the file's tests and stops after them. */
export function cliHarness() {
  let server: HuddleServer;
  let cwd: string;
  let seq = 0;
  const XDG = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-cli-xdg-'));
  beforeAll(async () => {
    server = await startServer();
    cwd = tempDir('huddle-cli-');
  });
  afterAll(async () => {
    await cleanup();
    fs.rmSync(XDG, { recursive: true, force: true });
  });

  function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HUDDLE_') && !k.startsWith('CLAUDE_CODE_') && k !== 'NO_COLOR') env[k] = v;
    // Never the real home's server file, data folder or cache.
    return { ...env, XDG_STATE_HOME: XDG, XDG_CACHE_HOME: XDG, ...extra };
  }

  function start(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): { proc: ChildProcess; done: Promise<Run>; stdout: () => string } {
    const proc = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? cwd, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d) => (stdout += d));
    proc.stderr!.on('data', (d) => (stderr += d));
    onCleanup(() => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    const done = waitClose(proc).then(({ code, signal }) => ({ code, signal, stdout, stderr }));
    return { proc, done, stdout: () => stdout };
  }

  /** A fresh project on the shared server, and a runner bound to it. */
  function project() {
    const name = `p${++seq}`;
    const base = ['--url', server.wsUrl, '--project', name];
    const run = (args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) => start([...base, ...args], opts).done;
    const ok = async (args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) => {
      const r = await run(args, opts);
      if (r.code !== 0) throw new Error(`huddle ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return r;
    };
    const j = async <T = any>(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<T> => JSON.parse((await ok([...args, '--json'], opts)).stdout) as T;
    // Setup and read-backs around the command under test go through the HTTP API: a request, not a process (issue 15).
    const api = <T = any>(op: string, session: string | Record<string, unknown>, args: Record<string, unknown> = {}) => apiOp<T>(server.url, name, op, session, args);
    const state = () => apiState(server.url, name);
    return { name, base, run, ok, j, api, state, start: (args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) => start([...base, ...args], opts) };
  }

  return { project, start };
}
