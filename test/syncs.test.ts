/**
 * Sync points (issue 17) against a real server: a participant whose real session process is
 * killed shows as missing and blocks the follow-up until it is dropped; task participants
 * arrive when their task is done; malformed records are skipped and counted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ApiClient } from '../cli/client.js';
import { CLI, ROOT, cleanup, spawnJsonLines, startServer, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

const PEER = path.join(ROOT, 'dist/test/fixtures/dash-peer.js');
const client = (url: string, id: string, role = 'backend') => new ApiClient({ httpUrl: url, project: 'syncs', session: { id, name: id, role } });

function cli(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, HUDDLE_SESSION: '', CLAUDE_CODE_SESSION_ID: '', NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sync points', () => {
  it('a participant whose process dies is missing, not done, and blocks the follow-up until dropped', async () => {
    const server = await startServer();
    const carolProc = spawnJsonLines(PEER, [server.wsUrl, 'syncs', 'carol-1', 'carol', 'frontend', '']);
    await waitFor(() => carolProc.lines.some((l) => l.ready), 'carol to join');
    const lead = client(server.url, 'lead', 'lead');
    const alice = client(server.url, 'alice');
    const bob = client(server.url, 'bob');
    await alice.op('touch');
    await bob.op('touch');

    const created = await lead.op('sync.create', { name: 'auth-pay', sessions: ['alice', 'bob', 'carol'], then: 'integrate auth and payments', role: 'backend' });
    // Names resolve to the live sessions' ids.
    expect(created.participants.map((p) => [p.id, p.state])).toEqual([['alice', 'waiting'], ['bob', 'waiting'], ['carol-1', 'waiting']]);
    await expect(lead.op('sync.done', { name: 'auth-pay', summary: 'x' })).rejects.toThrow(/not a participant/);

    await alice.op('sync.done', { name: 'auth-pay', summary: 'login endpoints done', files: ['src/auth/api.ts'] });
    const two = await bob.op('sync.done', { name: 'auth-pay', summary: 'charges API done', files: ['src/pay/charge.ts', 'src/pay/refund.ts'] });
    expect(two.status).toBe('open');
    expect(two.counts).toMatchObject({ done: 2, waiting: 1, missing: 0 });

    carolProc.p.kill('SIGKILL');
    const missing = await waitFor(async () => {
      const s = await lead.op('sync.show', { name: 'auth-pay' });
      return s.participants.find((p) => p.name === 'carol')?.state === 'missing' ? s : null;
    }, 'carol to show as missing');
    // The others being done does not complete it: missing is not done.
    expect(missing!.status).toBe('open');
    expect(missing!.counts).toMatchObject({ done: 2, missing: 1 });
    expect((await lead.op('task.list', {})).some((t) => t.title === 'integrate auth and payments')).toBe(false);

    const cwd = tempDir();
    const shown = await cli(['--url', server.url, '--project', 'syncs', 'sync', 'show', 'auth-pay'], cwd);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/missing\s+carol/);

    const dropped = await cli(['--url', server.url, '--project', 'syncs', '--session', 'lead', 'sync', 'drop', 'auth-pay', 'carol', '--reason', 'session died', '--json'], cwd);
    expect(dropped.code, dropped.stderr).toBe(0);
    const done = JSON.parse(dropped.stdout) as { status: string; followUp: string; participants: Array<{ name: string; state: string }> };
    expect(done.status).toBe('complete');
    expect(done.participants.map((p) => p.state)).toEqual(['done', 'done', 'dropped']);

    const follow = (await lead.op('task.list', {})).find((t) => t.id === done.followUp)!;
    expect(follow).toMatchObject({ title: 'integrate auth and payments', role: 'backend', status: 'open' });
    expect(follow.detail).toContain('alice: login endpoints done (files: src/auth/api.ts)');
    expect(follow.detail).toContain('bob: charges API done (files: src/pay/charge.ts, src/pay/refund.ts)');
    expect(follow.detail).toContain('dropped: carol');
    // Whoever waits is told: the creator and the participants.
    for (const who of [alice, bob]) expect((await who.op('inbox', {})).some((m) => m.text.includes('auth-pay is complete') && m.taskId === done.followUp)).toBe(true);
  });

  it('task participants arrive when their task is done; malformed records are skipped and counted', async () => {
    const server = await startServer();
    const a = client(server.url, 'a');
    const t1 = await a.op('task.add', { title: 'schema', role: 'backend' });
    const t2 = await a.op('task.add', { title: 'ui', role: 'frontend' });
    await a.op('sync.create', { name: 'release', tasks: [t1.id, t2.id], notify: 'role:lead' });
    await a.op('task.claim', { id: t1.id });
    await a.op('task.done', { id: t1.id, note: 'migration 12 applied' });
    expect((await a.op('sync.show', { name: 'release' })).status).toBe('open');
    await a.op('task.done', { id: t2.id, note: 'form shipped' });
    const s = await a.op('sync.show', { name: 'release' });
    expect(s.status).toBe('complete');
    const lead = client(server.url, 'lead-1', 'lead');
    expect((await lead.op('inbox', {})).map((m) => m.text)).toEqual([expect.stringContaining('release is complete')]);

    const room = await server.room('syncs');
    room.doc.getMap('syncs').set('bad', 5 as never);
    const list = await a.op('sync.list', {});
    expect(list.ignored).toBe(1);
    expect(list.syncs.map((x) => x.name)).toEqual(['release']);
  });
});
