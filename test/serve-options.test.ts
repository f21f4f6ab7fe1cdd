/** `huddle serve` options: declared once, tokens that hold, environment booleans parsed. */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, ROOT, cleanup, onCleanup, spawnServer, tempDir, waitClose } from './helpers.js';
import { SERVE_OPTIONS, parseBool } from '../relay/options.js';

afterEach(cleanup);

async function post(url: string, op: string, body: unknown, token?: string): Promise<number> {
  const res = await fetch(`${url}/api/p/opts/op/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

/** `huddle serve ARGS` that is expected to refuse to start: its exit code and stderr (killed after 10 s). */
async function serveRefused(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string }> {
  const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  onCleanup(() => void p.kill('SIGKILL'));
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d));
  const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
  const { code } = await waitClose(p);
  clearTimeout(t);
  return { status: code, stderr };
}

describe('huddle serve options', () => {
  it('--token after serve is the server\'s token: an unauthenticated write is refused', async () => {
    const s = await spawnServer(path.join(tempDir(), 'data'), ['--token', 'sekrit']);
    expect(s.output()).toContain('token required');
    expect(await post(s.url, 'decide', { text: 'no token' })).toBe(401);
    expect(await post(s.url, 'decide', { text: 'with token' }, 'sekrit')).toBe(200);
  });

  it('--token with --read-token starts; the read token may not write', async () => {
    const s = await spawnServer(path.join(tempDir(), 'data'), ['--token', 'rw-tok', '--read-token', 'ro-tok']);
    expect(await post(s.url, 'decide', { text: 'x' }, 'ro-tok')).toBe(403);
    expect(await post(s.url, 'decide', { text: 'x' }, 'rw-tok')).toBe(200);
  });

  it('HUDDLE_INSECURE=0, false or empty keeps insecure mode off; other values are refused clearly', async () => {
    // Each its own data folder: they run at once.
    const data = () => path.join(tempDir(), 'data');
    // 192.0.2.1 (TEST-NET) is never bound: if insecure mode were on, listening would fail differently.
    // Each spelling of "off" is parseBool's (below); through the real command: a false word and an empty value.
    const offs = ['0', ''];
    const [bad, ...runs] = await Promise.all([
      serveRefused(['--data', data()], { ...process.env, HUDDLE_INSECURE: 'maybe' }),
      ...offs.map((v) => serveRefused(['--data', data(), '--host', '192.0.2.1'], { ...process.env, HUDDLE_INSECURE: v, HUDDLE_TOKEN: '' })),
    ]);
    runs.forEach((r, i) => {
      expect(r.status, `HUDDLE_INSECURE=${offs[i]}`).toBe(1);
      expect(r.stderr).toContain('refusing to listen on 192.0.2.1');
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('HUDDLE_INSECURE must be');
  });

  it('--store with --upstream (flag or HUDDLE_UPSTREAM) is a usage error: a node of the team relay is not a machine server', async () => {
    const data = () => path.join(tempDir(), 'data');
    // Port 1 is closed: without the check this would fail later, on the database, with another message.
    const store = 'postgres://huddle@127.0.0.1:1/nowhere';
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HUDDLE_')) clean[k] = v;
    const cases = [
      [['--store', store, '--upstream', 'ws://127.0.0.1:9'], {}],
      [['--store', store], { HUDDLE_UPSTREAM: 'wss://relay.example' }],
      [[], { HUDDLE_STORE: store, HUDDLE_UPSTREAM: 'wss://relay.example' }],
    ] as Array<[string[], NodeJS.ProcessEnv]>;
    const results = await Promise.all(cases.map(([args, env]) => serveRefused(['--data', data(), ...args], { ...clean, ...env })));
    for (const [i, r] of results.entries()) {
      const args = cases[i][0];
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^huddle: --store and --upstream do not go together: .*not a machine server/m);
      expect(r.stderr).not.toMatch(/cannot open the store/);
    }
  });

  it('parseBool reads 1/true/yes/on and 0/false/no/off/empty, and nothing else', () => {
    for (const v of ['1', 'true', 'YES', 'on']) expect(parseBool(v, 'X')).toBe(true);
    for (const v of ['0', 'false', 'No', 'off', '', ' ']) expect(parseBool(v, 'X')).toBe(false);
    expect(() => parseBool('2', 'X')).toThrow(/X must be/);
  });

  it('the README documents every server option with its flag and environment variable', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const o of SERVE_OPTIONS) {
      expect(readme, o.flag).toContain('`' + o.flag.split(' ')[0] + '`');
      if (o.env) expect(readme, o.env).toContain(o.env);
    }
  });
});
