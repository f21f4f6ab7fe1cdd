/**
 * Child processes and temp folders of the benchmark: start huddle's server or
 * the reference server on 127.0.0.1 port 0, read their memory, stop them, and
 * make sure every child is killed and every temp folder removed when the bench
 * ends, also on an error or a signal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const HUDDLE_CLI = path.join(ROOT, 'dist/cli/huddle.js');
export const REF_SERVER = path.join(ROOT, 'dist/bench/ref-server.js');

export type ServerKind = 'huddle' | 'reference';
export const SERVER_KINDS: ServerKind[] = ['huddle', 'reference'];

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function isAlive(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

/** SIGKILL every child still running. Synchronous, so it also works in an 'exit' handler. */
export function killAll(): void {
  for (const proc of children) {
    if (isAlive(proc)) {
      try {
        proc.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

export function removeTempDirs(): void {
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
  tempDirs.clear();
}

let installed = false;
/** Kill children and remove temp folders on exit, on SIGINT/SIGTERM/SIGHUP and on a crash. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    killAll();
    removeTempDirs();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, killing child processes\n`);
      killAll();
      removeTempDirs();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: uncaught exception: ${err.stack ?? err.message}\n`);
    killAll();
    removeTempDirs();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: unhandled rejection: ${(err as Error)?.stack ?? String(err)}\n`);
    killAll();
    removeTempDirs();
    process.exit(1);
  });
}

/** Have killAll (and so the cleanup on errors, signals and exit) kill this child too. */
export function trackChild<T extends ChildProcess>(proc: T): T {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

export function makeTempDir(prefix = 'huddle-bench-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Resident set size of a process in KiB, from /proc/PID/status (VmRSS). */
export function rssKb(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/PID/stat (100 ticks per second). */
export function cpuMs(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

/** Start measuring CPU use of a server child and of this process; the returned function reports percent of one core. */
export function cpuMeter(pid: number): () => { serverPct: number; benchPct: number; wallMs: number } {
  const w0 = performance.now();
  const s0 = cpuMs(pid);
  const b0 = process.cpuUsage();
  return () => {
    const wallMs = performance.now() - w0;
    const b = process.cpuUsage(b0);
    let serverMs = NaN;
    try {
      serverMs = cpuMs(pid) - s0;
    } catch {
      /* exited */
    }
    return { serverPct: (serverMs / wallMs) * 100, benchPct: ((b.user + b.system) / 1000 / wallMs) * 100, wallMs };
  };
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function waitExit(proc: ChildProcess, timeoutMs = Infinity): Promise<ExitInfo | null> {
  if (!isAlive(proc)) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  return new Promise((resolve) => {
    const t = Number.isFinite(timeoutMs) ? setTimeout(() => resolve(null), timeoutMs) : null;
    proc.once('exit', (code, signal) => {
      if (t) clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

export interface ServerProc {
  kind: ServerKind;
  proc: ChildProcess;
  pid: number;
  port: number;
  /** http://127.0.0.1:PORT */
  httpUrl: string;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  dataDir: string;
  /** Milliseconds from spawn until it printed where it listens. */
  startMs: number;
  /** The last 64 KiB of its stdout and stderr. */
  output(): string;
  rssKb(): number;
  /**
   * Send `signal` and wait up to `timeoutMs` for the exit; SIGKILL after that.
   * Resolves with how it ended and how long the stop took.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ exit: ExitInfo; ms: number; forced: boolean }>;
}

/** The environment minus YPERSISTENCE, which would make @y/websocket-server open its own LevelDB on import. */
function withoutYPersistence(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { YPERSISTENCE: _ignored, ...rest } = env;
  return rest;
}

export interface StartOptions {
  /** huddle's --log-level; default warn (the bench output stays readable). */
  logLevel?: string;
  extraArgs?: string[];
}

/** Start a server child on 127.0.0.1 port 0 with its LevelDB in `dataDir`; resolves once it listens. */
/** Extra node flags for the huddle child, e.g. HUDDLE_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (NODE_OPTIONS refuses --cpu-prof). */
function benchNodeArgs(): string[] {
  return (process.env.HUDDLE_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

export async function startServer(kind: ServerKind, dataDir: string, opts: StartOptions = {}): Promise<ServerProc> {
  fs.mkdirSync(dataDir, { recursive: true });
  const t0 = performance.now();
  const proc =
    kind === 'huddle'
      ? spawn(
          process.execPath,
          [...benchNodeArgs(), HUDDLE_CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, '--log-level', opts.logLevel ?? 'warn', ...(opts.extraArgs ?? [])],
          { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
        )
      : spawn(process.execPath, [REF_SERVER, ...(opts.extraArgs ?? [])], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...withoutYPersistence(process.env), REF_PERSISTENCE_DIR: dataDir, HOST: '127.0.0.1', PORT: '0' },
        });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65536) out = out.slice(-65536);
  };
  proc.stdout!.on('data', append);
  proc.stderr!.on('data', append);

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanupListeners();
      if (isAlive(proc)) proc.kill('SIGKILL');
      reject(new Error(`${kind} server did not start within 20 s:\n${out}`));
    }, 20_000);
    const check = () => {
      const m = /listening on http:\/\/[^\s:]+:(\d+)/.exec(out);
      if (m) {
        cleanupListeners();
        resolve(Number(m[1]));
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanupListeners();
      reject(new Error(`${kind} server exited (code ${code}, signal ${signal}) before listening:\n${out}`));
    };
    const cleanupListeners = () => {
      clearTimeout(timer);
      proc.stdout!.off('data', check);
      proc.off('exit', onExit);
    };
    proc.stdout!.on('data', check);
    proc.on('exit', onExit);
  });
  const startMs = performance.now() - t0;

  return {
    kind,
    proc,
    pid: proc.pid!,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    dataDir,
    startMs,
    output: () => out,
    rssKb: () => rssKb(proc.pid!),
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000) {
      const s0 = performance.now();
      if (!isAlive(proc)) return { exit: { code: proc.exitCode, signal: proc.signalCode }, ms: 0, forced: false };
      proc.kill(signal);
      let exit = await waitExit(proc, timeoutMs);
      let forced = false;
      if (!exit) {
        forced = true;
        proc.kill('SIGKILL');
        exit = (await waitExit(proc, 5000)) ?? { code: null, signal: 'SIGKILL' };
      }
      return { exit, ms: performance.now() - s0, forced };
    },
  };
}

/** GET a JSON document from a server child (127.0.0.1 only). */
export async function getJson<T>(url: string, timeoutMs = 120_000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}
