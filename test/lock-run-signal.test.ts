/**
 * `huddle lock PATH -- CMD` interrupted before CMD starts (while the lock is being
 * taken or waited for): the command never runs and no lock is left behind. Before
 * 2026-12-02 huddle set its signal handlers only as it started the command, so a
 * Ctrl-C in that moment killed it with its lock request still on the server: the
 * lock was granted to a process that no longer existed and held until its TTL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cleanup, onCleanup, startServer, tempDir, waitClose, waitFor } from './helpers.js';
import { isolatedEnv } from './cli-run.js';

afterAll(cleanup);

type Json = Record<string, any>;

describe('huddle lock -- CMD interrupted before the command starts', () => {
  it('SIGINT during --wait: the command does not run, the lock granted later is released, huddle exits by SIGINT', async () => {
    const server = await startServer();
    const cwd = tempDir();
    const op = async (name: string, body: Json): Promise<Json> =>
      (await (await fetch(`${server.url}/api/p/sig/op/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Json;
    const state = async () => (await (await fetch(`${server.url}/api/p/sig/state`)).json()) as { locks: Json[]; sessions: Json[] };
    const locks = async () => (await state()).locks;
    expect((await op('lock', { session: { id: 'bob', name: 'bob' }, paths: ['f.txt'] })).result.status).toBe('confirmed');

    const ran = path.join(cwd, 'ran');
    const proc = spawn(process.execPath, [CLI, '--url', server.wsUrl, '--project', 'sig', '--session', 'alice', 'lock', 'f.txt', '--wait', '60s', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(ran)}, 'x')`], {
      cwd,
      env: isolatedEnv({ NO_COLOR: '1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup(() => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    const done = waitClose(proc);
    // alice's request is on the server (her session is there), waiting behind bob's lock.
    await waitFor(async () => (await state()).sessions.some((s) => s.id === 'alice'), "alice's lock request to reach the server", 15_000, 50);
    proc.kill('SIGINT');
    await waitFor(() => stderr.includes('not running the command'), 'huddle to say it will not run the command', 10_000);
    // bob lets go: the waiting request is granted now, to a huddle that was interrupted.
    await op('unlock', { session: { id: 'bob', name: 'bob' }, paths: ['f.txt'] });
    const r = await done;
    expect(r.signal).toBe('SIGINT');
    expect(stderr).toContain('released f.txt');
    expect(fs.existsSync(ran)).toBe(false);
    expect(await locks()).toEqual([]);
  });
});
