/**
 * A hook request names its cwd; the server reads `.huddle/config.json` and git metadata from
 * there only inside a configured hook root or a hosted session's working folder, never above
 * it, symbolic links resolved (relay/hook-config.ts, issue 13 §2). Reads are watched through
 * node:fs itself: a refused cwd must not be touched at all.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, cleanup, startServer, tempDir } from './helpers.js';
import { readKnownRepos, knownReposFile } from '../src/node/known-repos.js';
import type { HuddleServer } from '../relay/server.js';
import { HookConfigs } from '../relay/hook-config.js';
import type { HookEvent } from '../src/agents/event.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await cleanup();
});

function repo(dir: string, project?: string): string {
  fs.mkdirSync(path.join(dir, '.git'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  if (project) {
    fs.mkdirSync(path.join(dir, '.huddle'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.huddle', 'config.json'), JSON.stringify({ project }));
  }
  return dir;
}

async function hook(server: HuddleServer, cwd: string, session = 's-1'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/hooks/claude-code`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      session_id: session, transcript_path: '/tmp/t.jsonl', cwd, permission_mode: 'default', hook_event_name: 'PreToolUse',
      tool_name: 'Edit', tool_input: { file_path: path.join(cwd, 'a.ts'), old_string: 'a', new_string: 'b' }, tool_use_id: 't1',
    }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Every path node:fs was asked about while `fn` ran. */
async function touched(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const note = (p: unknown) => {
    if (typeof p === 'string') seen.push(p);
  };
  const spies = (['existsSync', 'readFileSync', 'statSync', 'lstatSync', 'readdirSync', 'openSync'] as const).map((name) => {
    const orig = fs[name] as (...a: unknown[]) => unknown;
    return vi.spyOn(fs, name).mockImplementation(((...a: unknown[]) => {
      note(a[0]);
      return orig.apply(fs, a);
    }) as never);
  });
  try {
    await fn();
  } finally {
    for (const s of spies) s.mockRestore();
  }
  return seen;
}

describe('hook roots', () => {
  it('a session hosted in a subfolder keeps finding the .huddle/ above it (its own folder never becomes the ceiling)', () => {
    const base = tempDir('huddle-roots-sub-');
    const root = repo(path.join(base, 'repo'), 'sub-project');
    const sub = path.join(root, 'src');
    fs.mkdirSync(sub);
    // Codex runs hooks in the session's cwd; once hosted, that folder is among the hosted ones.
    const ev = { agent: 'codex', kind: 'stop', session: 'cx-1', cwd: sub } as unknown as HookEvent;
    const inRoot = new HookConfigs({ roots: () => [base], hostedFolders: () => [sub] });
    expect(inRoot.resolve(ev).project).toBe('sub-project');
    // Outside every root, a hosted folder opens the cwd; the outermost hosted one counts.
    const hostedOnly = new HookConfigs({ roots: () => [path.join(base, 'unrelated')], hostedFolders: () => [sub, root] });
    expect(hostedOnly.resolve(ev).project).toBe('sub-project');
  });

  it('resolves a cwd inside a hook root, refuses one outside without reading anything there', async () => {
    const base = tempDir('huddle-roots-');
    const allowed = path.join(base, 'allowed');
    const outside = path.join(base, 'outside');
    repo(path.join(allowed, 'app'), 'inside-project');
    repo(path.join(outside, 'secret'), 'outside-project');
    const server = await startServer({ hookRoots: [allowed] });

    const ok = await hook(server, path.join(allowed, 'app'));
    expect(ok.status).toBe(200);
    expect(server.loadedRooms()).toContain('inside-project');

    const seen = await touched(async () => {
      const refused = await hook(server, path.join(outside, 'secret'));
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatch(/outside the folders this server answers hooks for.*--hook-root/);
      // The whole file system is not a repository either.
      expect((await hook(server, '/')).status).toBe(403);
      expect((await hook(server, '/etc')).status).toBe(403);
      // Nor is a folder that climbs out with ..
      expect((await hook(server, path.join(allowed, '..', 'outside', 'secret'))).status).toBe(403);
    });
    expect(seen.filter((p) => p.startsWith(outside) || p.startsWith('/etc') || p === '/.huddle/config.json' || p === '/.git')).toEqual([]);
    expect(server.loadedRooms()).not.toContain('outside-project');
  });

  it('follows symbolic links before deciding, and never climbs above the root', async () => {
    const base = tempDir('huddle-roots-');
    const allowed = path.join(base, 'allowed');
    const outside = path.join(base, 'outside');
    repo(path.join(outside, 'secret'), 'outside-project');
    fs.mkdirSync(allowed, { recursive: true });
    fs.symlinkSync(path.join(outside, 'secret'), path.join(allowed, 'link'));
    // A config above the root names a project; a repository under the root has none of its own.
    const inner = path.join(allowed, 'inner');
    repo(path.join(inner, 'plain'));
    fs.mkdirSync(path.join(allowed, '.huddle'));
    fs.writeFileSync(path.join(allowed, '.huddle', 'config.json'), JSON.stringify({ project: 'above-root' }));
    const server = await startServer({ hookRoots: [inner] });

    const seen = await touched(async () => expect((await hook(server, path.join(allowed, 'link'))).status).toBe(403));
    expect(seen.filter((p) => p.startsWith(outside) || p.includes(`${path.sep}link${path.sep}`))).toEqual([]);

    const seenPlain = await touched(async () => expect((await hook(server, path.join(inner, 'plain'))).status).toBe(200));
    expect(server.loadedRooms()).not.toContain('above-root');
    expect(server.loadedRooms()).toContain('plain');
    expect(seenPlain.filter((p) => p.startsWith(path.join(allowed, '.huddle')))).toEqual([]);
  });

  it('a hosted session\'s working folder counts, and * restores lookups anywhere', async () => {
    const base = tempDir('huddle-roots-');
    const elsewhere = repo(path.join(base, 'elsewhere'), 'hosted-project');
    const server = await startServer({ hookRoots: [path.join(base, 'nothing-here')] });
    expect((await hook(server, elsewhere, 's-2')).status).toBe(403);
    // A CLI command run there hosts its session, with its working folder.
    const res = await fetch(`${server.url}/api/p/hosted-project/op/touch`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: { id: 's-2', cwd: elsewhere } }),
    });
    expect(res.status).toBe(200);
    const again = await hook(server, elsewhere, 's-2');
    expect(again.status).toBe(200);
    // A session hosted with the file system's root (or a parent of the home) as its folder opens nothing.
    for (const cwd of ['/', path.dirname(base)]) {
      await fetch(`${server.url}/api/p/hosted-project/op/touch`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: { id: `broad-${cwd}`, cwd } }),
      });
    }
    expect((await hook(server, '/etc', 's-3')).status).toBe(403);
    expect((await hook(server, repo(path.join(base, 'other'), 'other-project'), 's-3')).status).toBe(403);
    expect(server.loadedRooms()).not.toContain('other-project');

    const any = await startServer({ hookRoots: ['*'] });
    expect((await hook(any, elsewhere)).status).toBe(200);
    expect(any.loadedRooms()).toContain('hosted-project');
  });

  it('a repository wired with huddle init counts: the user\'s own list, which no request can add to', async () => {
    const base = tempDir('huddle-roots-');
    const state = path.join(base, 'state');
    const wired = repo(path.join(base, 'srv', 'app'));
    const prev = process.env.XDG_STATE_HOME;
    process.env.XDG_STATE_HOME = state;
    try {
      const server = await startServer({ hookRoots: [path.join(base, 'nothing-here')] });
      expect((await hook(server, wired)).status).toBe(403);
      const init = spawnSync(process.execPath, [CLI, 'init', '--agent', 'claude-code'], { cwd: wired, encoding: 'utf8', env: { ...process.env, XDG_STATE_HOME: state } });
      expect(init.status, init.stderr).toBe(0);
      expect(readKnownRepos(knownReposFile({ XDG_STATE_HOME: state }))).toContain(fs.realpathSync(wired));
      const ok = await hook(server, wired);
      expect(ok.status).toBe(200);
      // Hook requests never add to it.
      expect(readKnownRepos(knownReposFile({ XDG_STATE_HOME: state }))).toEqual([fs.realpathSync(wired)]);
      // Wrongly typed entries in the file are ignored, not thrown on.
      fs.writeFileSync(path.join(state, 'huddle', 'repos.json'), JSON.stringify({ repos: [5, null, 'relative/x', { a: 1 }, wired] }));
      expect(readKnownRepos(path.join(state, 'huddle', 'repos.json'))).toEqual([wired]);
    } finally {
      if (prev === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = prev;
    }
  });
});
