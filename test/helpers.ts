/** Shared test fixtures: real servers on port 0, temp LevelDB folders, stock y-websocket clients. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import WebSocket, { WebSocketServer } from 'ws';
import { HuddleServer } from '../relay/server.js';
import type { ServerConfig } from '../relay/config.js';
import { silentLogger } from '../relay/log.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const CLI = path.join(ROOT, 'dist/cli/huddle.js');

const cleanups: Array<() => Promise<void> | void> = [];

/** Run every registered cleanup (call from afterEach). */
export async function cleanup(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch {
      /* best effort */
    }
  }
}

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** A plain ws server on loopback port 0 (a scripted relay or owner), closed at cleanup. Resolves with its port. */
export async function listenWs(wss: WebSocketServer = new WebSocketServer({ host: '127.0.0.1', port: 0 })): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  await new Promise<void>((r) => wss.once('listening', () => r()));
  onCleanup(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }));
  const port = (wss.address() as { port: number }).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/**
 * Follow a project's /events stream as `huddle watch --json` does: `onEvent` gets each event
 * (the JSON of a `data:` line). Resolves once the stream is open; ends when `signal` aborts.
 */
export async function followEvents(url: string, project: string, signal: AbortSignal, onEvent: (ev: Record<string, any>) => void): Promise<void> {
  const res = await fetch(`${url}/api/p/${project}/events`, { signal });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += dec.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (chunk.startsWith('data: ')) onEvent(JSON.parse(chunk.slice(6)));
        }
      }
    } catch {
      /* the server was killed, or the signal aborted */
    }
  })();
}

export function tempDir(prefix = 'huddle-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An in-process server on a loopback port 0 with its own LevelDB folder. */
export async function startServer(config: Partial<ServerConfig> = {}): Promise<HuddleServer> {
  const server = new HuddleServer({ port: 0, dataDir: config.dataDir ?? path.join(tempDir(), 'data'), ...config }, { logger: silentLogger });
  await server.listen();
  onCleanup(() => server.close());
  return server;
}

export interface ServerChild {
  proc: ChildProcess;
  port: number;
  url: string;
  wsUrl: string;
  output: () => string;
}

/** `huddle serve` as a real child process; resolves once it prints where it listens. */
export async function spawnServer(dataDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<ServerChild> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dataDir, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  onCleanup(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15000);
    const check = () => {
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    };
    proc.stdout!.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`server exited with ${code}: ${out}`));
    });
  });
  return { proc, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, output: () => out };
}

/**
 * Resolves when the process has exited AND its stdio streams are closed. Use it (not 'exit',
 * which can fire before the last output is read) whenever the output is checked.
 */
export function waitClose(proc: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
}

export function waitExit(proc: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
}

/** A stock y-websocket 3.1 client, unchanged but for the Node WebSocket. */
export function stockClient(wsUrl: string, room: string, opts: { params?: Record<string, string>; connect?: boolean } = {}) {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(wsUrl, room, doc, {
    // Node 20 has no global WebSocket: pass ws (the type is the DOM one y-websocket declares).
    WebSocketPolyfill: WebSocket as never,
    params: opts.params,
    connect: opts.connect ?? true,
    disableBc: true,
  });
  onCleanup(() => {
    provider.destroy();
    doc.destroy();
  });
  return { doc, provider, awareness: provider.awareness };
}

export function synced(provider: WebsocketProvider, timeout = 5000): Promise<void> {
  if (provider.synced) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('not synced in time')), timeout);
    provider.once('sync', (s: boolean) => {
      if (s) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

/** Poll until `fn` returns truthy; fails after `timeout` ms with `what`. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeout = 5000, interval = 10): Promise<T> {
  const until = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw WebSocket to a room; resolves once open. */
export function rawSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'nodebuffer';
    ws.on('error', reject);
    ws.on('open', () => resolve(ws));
    onCleanup(() => ws.terminate());
  });
}

export function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** The document a (stopped) server left in `dataDir`, write-ahead log included. */
export async function readStoredDoc(dataDir: string, project: string): Promise<Y.Doc> {
  const { DocStore } = await import('../src/store/doc-store.js');
  const { openDataDir } = await import('../src/store/wal.js');
  const store = new DocStore(dataDir);
  await openDataDir(dataDir, store);
  try {
    const loaded = await store.load(project);
    const doc = new Y.Doc();
    if (loaded.update) Y.applyUpdate(doc, loaded.update);
    return doc;
  } finally {
    await store.close();
  }
}

/** A node script as a child process whose stdout is JSON lines, collected as they come. */
export function spawnJsonLines(script: string, args: string[]): { p: ChildProcess; lines: Array<Record<string, unknown>> } {
  const p = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  onCleanup(() => void p.kill('SIGKILL'));
  const lines: Array<Record<string, unknown>> = [];
  let buf = '';
  p.stdout!.on('data', (d) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  return { p, lines };
}

/**
 * One operation through the server's HTTP API (POST /api/p/:project/op/:op), as `session` (an id,
 * or the session object): for a test's setup and read-backs around the command it runs as a real
 * `huddle` process, at the cost of a request instead of a process (issue 15). Throws on a refusal.
 */
export async function apiOp<T = any>(url: string, project: string, op: string, session: string | Record<string, unknown> | null, args: Record<string, unknown> = {}): Promise<T> {
  const who = typeof session === 'string' ? { id: session } : session;
  const res = await fetch(`${url}/api/p/${project}/op/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...(who ? { session: who } : {}), ...args }) });
  const body = (await res.json()) as { ok?: boolean; result?: T };
  if (!res.ok || !body.ok) throw new Error(`${op} on ${project}: ${res.status} ${JSON.stringify(body)}`);
  return body.result as T;
}

/** A project's snapshot as GET /api/p/:project/state gives it (what `huddle peek --json` shows). */
export async function apiState<T = any>(url: string, project: string): Promise<T> {
  const res = await fetch(`${url}/api/p/${project}/state`);
  if (!res.ok) throw new Error(`state of ${project}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
