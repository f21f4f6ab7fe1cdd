/**
 * Issue 12, "locks and sessions survive a server restart": a real `huddle serve`
 * child killed with SIGKILL and started again on the same data folder.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { editOf, hookOf, hookRepo as repo } from './fixtures/claude-hook-payloads.js';
import { cleanup, spawnServer, tempDir, waitExit, waitFor } from './helpers.js';

afterEach(cleanup);

type Json = Record<string, any>;

async function post(url: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Json };
}


/** A journal record as a previous run would have left it. */
function journaled(project: string, id: string, lastSeen: number, lockPath: string): string {
  const claim = { id: `l-${id}`, path: lockPath, mode: 'exclusive', claimedAt: lastSeen, expiresAt: Date.now() + 3600_000, capAt: Date.now() + 7200_000, confirmed: true };
  const s = { p: project, id, name: id, role: 'backend', agent: 'claude-code', host: 'h', pid: 0, cwd: '/', branch: null, task: 'migrations', intent: null, startedAt: lastSeen, lastActive: lastSeen, lastSeen, locks: [claim] };
  return JSON.stringify({ op: 'put', s }) + '\n';
}

describe('hosted sessions survive a server restart', () => {
  it('kill -9 and restart on the same data folder: locks still deny; an already stale session is not revived', async () => {
    const data = path.join(tempDir(), 'data');
    const root = repo('restart1');
    let server = await spawnServer(data);
    const hooks = () => `${server.url}/hooks/claude-code`;
    const api = (op: string) => `${server.url}/api/p/restart1/op/${op}`;

    // A holds src/db/migrations/** for 2 h, as `huddle lock ... --ttl 2h` in that session does.
    expect((await post(hooks(), hookOf('sess-A', root, 'SessionStart', { source: 'startup' }))).status).toBe(200);
    const lock = await post(api('lock'), { session: { id: 'sess-A', name: 'alice', role: 'backend', agent: 'claude-code' }, paths: ['src/db/migrations/**'], ttlMs: 2 * 3600_000, reason: 'schema change' });
    expect(lock.body.result.status).toBe('confirmed');
    await post(api('update'), { session: { id: 'sess-A' }, task: 'rewrite migrations' });
    await post(hooks(), hookOf('sess-B', root, 'SessionStart', { source: 'startup' }));
    // The journal holds A's lock once the lock call has returned (lock changes are written at once).
    const file = path.join(data, 'sessions.journal');
    await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('rewrite migrations'), 'the journal to hold A', 3000);

    server.proc.kill('SIGKILL');
    await waitExit(server.proc);
    // Two sessions a previous run left: C active a minute ago, D silent for two hours (past the 30 min window).
    fs.appendFileSync(file, journaled('restart1', 'sess-C', Date.now() - 60_000, 'docs/**') + journaled('restart1', 'sess-D', Date.now() - 2 * 3600_000, 'old/**'));

    server = await spawnServer(data);
    const denied = await post(hooks(), editOf('sess-B', root, path.join(root, 'src/db/migrations/001.sql')));
    expect(denied.status).toBe(200);
    expect(denied.body.hookSpecificOutput?.permissionDecision).toBe('deny');
    expect(denied.body.hookSpecificOutput.permissionDecisionReason).toMatch(/locked by alice .*schema change/);
    expect(await post(hooks(), editOf('sess-B', root, path.join(root, 'docs/x.md')))).toMatchObject({ status: 200, body: { hookSpecificOutput: { permissionDecision: 'deny' } } });
    expect((await post(hooks(), editOf('sess-B', root, path.join(root, 'old/x.md')))).body).toEqual({});

    const state = (await (await fetch(`${server.url}/api/p/restart1/state`)).json()) as Json;
    const byId = new Map<string, Json>(state.sessions.map((s: Json) => [s.id, s]));
    expect(byId.get('sess-A')).toMatchObject({ task: 'rewrite migrations', name: 'alice' });
    expect(byId.has('sess-C')).toBe(true);
    expect(byId.has('sess-D')).toBe(false);
    const a = state.locks.find((l: Json) => l.session === 'sess-A');
    expect(a).toMatchObject({ path: 'src/db/migrations/**', reason: 'schema change', state: 'held', confirmed: true });
    // The lock keeps its original claim time and TTL.
    expect(a.expiresAt - a.claimedAt).toBeGreaterThan(3600_000);

    // A graceful stop keeps them too; the journal stays small (rewritten at start, D forgotten).
    server.proc.kill('SIGTERM');
    expect((await waitExit(server.proc)).code).toBe(0);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain('sess-D');
    expect(text.trim().split('\n').length).toBeLessThan(10);
    server = await spawnServer(data);
    expect((await post(hooks(), editOf('sess-B', root, path.join(root, 'src/db/migrations/002.sql')))).body.hookSpecificOutput?.permissionDecision).toBe('deny');
    // A session that ends is gone for good.
    await post(hooks(), hookOf('sess-A', root, 'SessionEnd'));
    server.proc.kill('SIGKILL');
    await waitExit(server.proc);
    server = await spawnServer(data);
    expect((await post(hooks(), editOf('sess-B', root, path.join(root, 'src/db/migrations/003.sql')))).body).toEqual({});
  });
});
