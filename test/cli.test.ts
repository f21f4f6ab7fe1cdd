/**
 * The real `huddle` binary (dist/cli/huddle.js) against a real server on
 * loopback port 0: --json output of every command, exit codes of each error
 * case, `lock -- CMD`, `watch`, two sessions, and the offline replica.
 * Each child runs with a clean environment (no HUDDLE_* / CLAUDE_CODE_*) in a temp folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanup, spawnServer, startServer, tempDir, waitClose, waitExit, waitFor, onCleanup } from './helpers.js';
import type { HuddleServer } from '../relay/server.js';
import { SHAPES } from '../cli/json.js';
import { programFor } from '../cli/program.js';
import type { Command } from 'commander';

let server: HuddleServer;
let cwd: string;
let seq = 0;
const XDG = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-cli-xdg-'));
afterAll(() => fs.rmSync(XDG, { recursive: true, force: true }));

function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HUDDLE_') && !k.startsWith('CLAUDE_CODE_') && k !== 'NO_COLOR') env[k] = v;
  // Never the real home's server file, data folder or cache.
  return { ...env, XDG_STATE_HOME: XDG, XDG_CACHE_HOME: XDG, ...extra };
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
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
  return { name, base, run, ok, j, start: (args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) => start([...base, ...args], opts) };
}

/**
 * Tests that run 10-25 CLI processes one after another: 4-13 s on a 2-core machine,
 * 39 s when it ran at a load of 25; their timeout keeps them far from it (issue 15: no test within 3x).
 */
/** Every key the documented shape lists (cli/json.ts, README "JSON output") is present: null when it has no value. */
function expectShape(kind: keyof typeof SHAPES, o: Record<string, unknown>): void {
  const missing = SHAPES[kind].map((k) => k.replace(/\?$/, '')).filter((k) => !(k in o));
  expect({ kind, missing }).toEqual({ kind, missing: [] });
  for (const k of SHAPES[kind]) if (!k.endsWith('?')) expect({ kind, k, v: o[k] === null }).toEqual({ kind, k, v: false });
}

const MANY_PROCESSES = { timeout: 150_000 };

beforeAll(async () => {
  server = await startServer();
  cwd = tempDir('huddle-cli-');
});
afterAll(cleanup);

describe.concurrent('huddle command', () => {
  it('config --json: each value and where it came from', async () => {
    const r = await start(['--url', 'http://127.0.0.1:9', 'config', '--json'], { env: { HUDDLE_PROJECT: 'from-env', HUDDLE_SESSION: 'agent-7' } }).done;
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c.url).toEqual({ value: 'ws://127.0.0.1:9', source: 'flag' });
    expect(c.project).toEqual({ value: 'from-env', source: 'env' });
    expect(c.session).toEqual({ value: 'agent-7', source: 'env' });
    expect(c.token.source).toBe('default');
    // A config file, below flags and environment.
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, '.huddle'));
    fs.writeFileSync(path.join(dir, '.huddle', 'config.json'), JSON.stringify({ project: 'from-file', role: 'backend' }));
    const c2 = JSON.parse((await start(['config', '--json'], { cwd: dir }).done).stdout);
    expect(c2.project).toEqual({ value: 'from-file', source: 'config' });
    expect(c2.role).toEqual({ value: 'backend', source: 'config' });
    expect(c2.url).toEqual({ value: 'ws://127.0.0.1:4321', source: 'default' });
  });

  it('two sessions see each other in peek, and peek --json is the snapshot', MANY_PROCESSES, async () => {
    const p = project();
    await Promise.all([
      p.ok(['--session', 'a', '--role', 'frontend', 'update', '--task', 'login form']),
      p.ok(['update', '--intent', 'reviewing'], { env: { HUDDLE_SESSION: 'b', HUDDLE_ROLE: 'backend', HUDDLE_AGENT: 'codex' } }),
    ]);
    const [fromA, fromB] = await Promise.all([p.j(['--session', 'a', 'peek']), p.j(['peek'], { env: { HUDDLE_SESSION: 'b' } })]);
    for (const s of [fromA, fromB]) {
      expect(s.project).toBe(p.name);
      expect(s.source).toBe('live');
      const byId = Object.fromEntries(s.sessions.map((x: any) => [x.id, x]));
      expect(byId.a).toMatchObject({ role: 'frontend', task: 'login form', status: 'active' });
      expect(byId.b).toMatchObject({ role: 'backend', intent: 'reviewing', agent: 'codex' });
      for (const k of ['locks', 'tasks', 'decisions', 'interfaces', 'conflicts', 'notes', 'timeline', 'inbox']) expect(s).toHaveProperty(k);
    }
    const sessions = await p.j(['sessions']);
    expect(sessions.map((s: any) => s.id).sort()).toEqual(['a', 'b']);
    // The agent kind of each session: the column and the JSON field.
    expect(Object.fromEntries(sessions.map((s: any) => [s.id, s.agent]))).toEqual({ a: 'script', b: 'codex' });
    const table = (await p.ok(['sessions'])).stdout;
    expect(table).toMatch(/NAME\s+ROLE\s+AGENT\s+STATUS/);
    expect(table).toMatch(/\bb\s+backend\s+codex\s+active/);
    expect(table).toMatch(/\ba\s+frontend\s+script\s+active/);
    const human = await p.ok(['peek']);
    expect(human.stdout).toMatch(/\bb\s+backend\s+codex\s+active/);
    expect(human.stdout).toMatch(/Sessions/);
    expect(human.stdout).toMatch(/login form/);
    expect(human.stdout).not.toMatch(/\x1b\[/); // not a terminal: no colour
  });

  it('lock, locks, unlock; a lock held by another exits 3 with who, since when, why', MANY_PROCESSES, async () => {
    const p = project();
    const got = await p.j(['--session', 'a', 'lock', 'src/api.ts', 'src/db/**', '--reason', 'schema change', '--ttl', '45m']);
    expect(got.status).toBe('confirmed');
    expect(got.paths).toEqual(['src/api.ts', 'src/db/**']);
    expect(got.claims[0].expiresAt - got.claims[0].claimedAt).toBe(45 * 60_000);
    const locks = await p.j(['locks']);
    for (const l of locks) expectShape('lock', l);
    expect(locks.map((l: any) => [l.path, l.by, l.state, l.reason])).toEqual([
      ['src/api.ts', 'a', 'held', 'schema change'],
      ['src/db/**', 'a', 'held', 'schema change'],
    ]);
    const held = await p.run(['--session', 'b', 'lock', 'src/db/users.ts']);
    expect(held.code).toBe(3);
    expect(held.stderr).toMatch(/src\/db\/\*\* is locked by a .* since \d\d:\d\d:\d\d .*"schema change"/);
    const heldJson = await p.run(['--session', 'b', 'lock', 'src/api.ts', '--json']);
    expect(heldJson.code).toBe(3);
    expect(JSON.parse(heldJson.stdout)).toMatchObject({ status: 'held', holder: { by: 'a', path: 'src/api.ts' } });
    const notYours = await p.run(['--session', 'b', 'unlock', 'src/api.ts']);
    expect(notYours.code).toBe(3);
    expect(notYours.stderr).toMatch(/locked by a/);
    expect(await p.j(['--session', 'a', 'unlock', 'src/api.ts'])).toEqual({ released: ['src/api.ts'] });
    const forced = await p.j(['--session', 'b', 'unlock', 'src/db/**', '--force', '--reason', 'gone']);
    expect(forced.forced).toEqual(['src/db/** (a)']);
    expect(await p.j(['locks'])).toEqual([]);
    // a was told.
    const inbox = await p.j(['--session', 'a', 'inbox']);
    expect(inbox.some((m: any) => /released by b/.test(m.text))).toBe(true);
    // --wait: b waits for a's release.
    await p.ok(['--session', 'a', 'lock', 'w.txt']);
    const waiting = p.run(['--session', 'b', 'lock', 'w.txt', '--wait', '10s', '--json']);
    await new Promise((r) => setTimeout(r, 300));
    await p.ok(['--session', 'a', 'unlock', 'w.txt']);
    const w = await waiting;
    expect(w.code).toBe(0);
    expect(JSON.parse(w.stdout).status).toBe('confirmed');
  });

  it('lock PATH -- CMD: exits with the command\'s code and releases when it fails', MANY_PROCESSES, async () => {
    const p = project();
    const r = await p.run(['lock', 'build/**', '--', process.execPath, '-e', 'console.log("inside"); process.exit(7)']);
    expect(r.code).toBe(7);
    expect(r.stdout).toContain('inside');
    expect(await p.j(['locks'])).toEqual([]);
    const missing = await p.run(['lock', 'x', '--', 'no-such-command-here']);
    expect(missing.code).toBe(127);
    expect(await p.j(['locks'])).toEqual([]);
  });

  it('lock PATH -- CMD keeps a lock the session already held before', MANY_PROCESSES, async () => {
    const p = project();
    await p.ok(['lock', 'kept.txt']);
    const r = await p.run(['lock', 'kept.txt', 'temp.txt', '--', process.execPath, '-e', 'process.exit(0)']);
    expect(r.code).toBe(0);
    expect((await p.j(['locks'])).map((l: any) => l.path)).toEqual(['kept.txt']);
  });

  it('lock PATH -- CMD: SIGINT goes to the command, the lock is released, huddle exits by SIGINT', MANY_PROCESSES, async () => {
    const p = project();
    const h = p.start(['lock', 'long.txt', '--', process.execPath, '-e', 'console.log("running"); setInterval(() => {}, 1000)']);
    // The command runs (so huddle has its signal handlers: they are set as it starts the command) and
    // holds the lock. Polled over HTTP, not with a huddle process per look (issue 15); that the lock is
    // released is still checked with huddle locks.
    const locks = async () => ((await (await fetch(`${server.url}/api/p/${p.name}/state`)).json()) as { locks: unknown[] }).locks;
    await waitFor(async () => h.stdout().includes('running') && (await locks()).length === 1, 'the command to run with the lock taken', 10_000, 50);
    h.proc.kill('SIGINT');
    const r = await h.done;
    expect(r.signal).toBe('SIGINT');
    expect(r.stderr).toMatch(/released long.txt/);
    expect(await p.j(['locks'])).toEqual([]);
  });

  it('watch --json sees an event caused by another process', async () => {
    const p = project();
    const w = p.start(['watch', '--json']);
    const seen = () => w.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    // Until the watcher has connected, decisions may go unseen: repeat.
    await waitFor(async () => {
      if (!seen().some((e) => e.type === 'decision')) await p.ok(['--session', 'other', 'decide', 'watched decision']);
      return seen().find((e) => e.type === 'decision');
    }, 'a decision event', 15_000, 200);
    const ev = seen().find((e) => e.type === 'decision');
    expect(ev).toMatchObject({ type: 'decision', by: 'other' });
    expectShape('event', ev);
    expect(ev.summary).toMatch(/watched decision/);
    w.proc.kill('SIGINT');
    expect((await w.done).code).toBe(0);
  });

  it('decisions, interfaces, messages and notes round trip as JSON', MANY_PROCESSES, async () => {
    const p = project();
    const d1 = await p.j(['decide', 'REST, not GraphQL', '--why', 'simpler']);
    expect(d1).toMatchObject({ text: 'REST, not GraphQL', rationale: 'simpler', supersedes: null, supersededBy: null });
    expectShape('decision', d1);
    const d2 = await p.j(['decide', 'REST with OpenAPI', '--supersedes', d1.id]);
    expect(d2.supersedes).toBe(d1.id);
    expect((await p.j(['decisions'])).map((d: any) => d.id)).toEqual([d2.id]);
    expect((await p.j(['decisions', '--all'])).length).toBe(2);
    const plain = await p.ok(['decide', 'plain']);
    expect(plain.stdout).toMatch(/^decision d-\w+ stored\n$/);

    expect(await p.j(['declare', 'UserApi', '--file', 'src/api/users.ts', '--desc', 'users', '--status', 'ready'])).toMatchObject({ name: 'UserApi', status: 'ready', file: 'src/api/users.ts' });
    expect((await p.j(['interfaces'])).map((i: any) => i.name)).toEqual(['UserApi']);

    const m = await p.j(['--session', 'a', 'send', 'role:backend', 'need the schema', '--kind', 'request', '--needs-reply']);
    expect(m).toMatchObject({ to: 'role:backend', kind: 'request', needsReply: true, replyTo: null, by: 'a' });
    expectShape('message', m);
    const inbox = await p.j(['--session', 'b', '--role', 'backend', 'inbox']);
    expect(inbox.map((x: any) => x.id)).toEqual([m.id]);
    expect(await p.j(['--session', 'b', '--role', 'backend', 'inbox'])).toEqual([]); // marked read
    expect((await p.j(['--session', 'b', '--role', 'backend', 'inbox', '--all'])).length).toBe(1);
    expect((await p.j(['--session', 'b', 'send', 'a', 'here it is', '--reply-to', m.id])).replyTo).toBe(m.id);

    expect(await p.j(['note', 'set', 'staging', 'https://staging'])).toMatchObject({ key: 'staging', value: 'https://staging' });
    expect((await p.ok(['note', 'get', 'staging'])).stdout).toBe('https://staging\n');
    expect((await p.j(['note', 'list'])).map((n: any) => n.key)).toEqual(['staging']);
    expect(await p.j(['note', 'delete', 'staging'])).toEqual({ deleted: 'staging' });
    const gone = await p.run(['note', 'get', 'staging']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no note staging/);
  });

  it('tasks, handoff, versions, diff, rollback and timeline as JSON', MANY_PROCESSES, async () => {
    const p = project();
    const t1 = await p.j(['task', 'add', 'Users migration', '--for', 'backend']);
    const t2 = await p.j(['task', 'add', 'Login form', '--for', 'frontend', '--dep', t1.id]);
    expect(t2.deps).toEqual([t1.id]);
    expectShape('task', t1);
    expect(t1).toMatchObject({ assignee: null, detail: null, handoff: null });
    expect((await p.j(['--session', 'a', 'task', 'claim', t1.id])).assignee.id).toBe('a');
    expect((await p.j(['task', 'list', '--for', 'frontend'])).map((t: any) => t.id)).toEqual([t2.id]);
    expect((await p.j(['--session', 'a', 'task', 'list', '--mine'])).map((t: any) => t.id)).toEqual([t1.id]);
    expect((await p.j(['task', 'block', t2.id, '--reason', 'waits for the migration'])).status).toBe('blocked');
    expect((await p.j(['task', 'note', t1.id, 'half done'])).lastNote).toBe('half done');
    const v = await p.j(['snapshot', '--name', 'before']);
    expect(v.name).toBe('before');
    const h = await p.j(['--session', 'a', 'handoff', t1.id, 'role:tests', '--summary', 'over to you', '--file', 'db/m1.sql']);
    expect(h.message).toMatchObject({ kind: 'handoff', to: 'role:tests' });
    expect((await p.j(['task', 'done', t1.id, '--note', 'merged'])).status).toBe('done');
    expect((await p.j(['task', 'list'])).map((t: any) => t.id)).toEqual([t2.id]);
    expect((await p.j(['task', 'list', '--all'])).length).toBe(2);
    expect((await p.j(['task', 'reopen', t1.id])).status).toBe('open');
    expect((await p.j(['history'])).map((x: any) => x.name)).toEqual(['before']);
    const diff = await p.j(['diff', 'before']);
    expect(diff.changes.some((c: any) => c.section === 'tasks' && c.key === t1.id && c.change === 'changed')).toBe(true);
    const rb = await p.j(['rollback', 'before']);
    expect(rb.version.name).toBe('before');
    expect((await p.j(['history'])).length).toBe(2); // the automatic one before the rollback
    const tl = await p.j(['timeline', '--limit', '100']);
    expect(tl.some((e: any) => e.type === 'task.added')).toBe(true);
    for (const e of tl) expectShape('event', e);
    expect(tl.every((e: any) => typeof e.by === 'string' && typeof e.byName === 'string' && !('actor' in e))).toBe(true);
    // --field: a dotted path into the JSON, strings printed plain.
    expect((await p.ok(['task', 'list', '--all', '--json', '--field', '0.title'])).stdout).toBe('Users migration\n');
    expect(JSON.parse((await p.ok(['task', 'list', '--all', '--json', '--field', 'title'])).stdout)).toEqual(['Users migration', 'Login form']);
  });

  it('conflicts: overlapping line ranges are conflicts, the rest overlaps', MANY_PROCESSES, async () => {
    const p = project();
    await Promise.all([
      p.ok(['--session', 'a', 'editing', 'src/x.ts', '--lines', '10-20']),
      p.ok(['--session', 'a', 'editing', 'src/y.ts', '--lines', '1-5']),
    ]);
    await Promise.all([p.ok(['--session', 'b', 'editing', 'src/x.ts', '--lines', '15-30']), p.ok(['--session', 'b', 'editing', 'src/y.ts', '--lines', '50-60'])]);
    const c = await p.j(['conflicts']);
    expect(c.map((x: any) => [x.path, x.conflict, x.overlapping])).toEqual([
      ['src/x.ts', true, [[15, 20]]],
      ['src/y.ts', false, []],
    ]);
    const human = await p.ok(['conflicts']);
    expect(human.stdout).toMatch(/CONFLICT\s+src\/x\.ts\s+lines 15-20/);
    expect(human.stdout).toMatch(/same file\s+src\/y\.ts/);
    expect(human.stdout).toMatch(/1 conflict \(overlapping lines\), 1 file shared/);
  });

  it('bad arguments: usage and exit 1', MANY_PROCESSES, async () => {
    const p = project();
    const cases: Array<[string[], RegExp]> = [
      [['lock', 'a.ts', '--ttl', '30'], /needs a unit/],
      [['lock', 'a.ts', '--wait', 'soon'], /not a duration/],
      [['lock', '../outside.ts'], /outside the repository/],
      [['lock', 'a', '--'], /nothing to run/],
      [['frobnicate'], /unknown command/],
      [['decide'], /missing required argument/],
      [['send', 'all', 'x', '--kind', 'shout'], /--kind must be one of/],
      [['declare', 'X'], /--file/],
      [['unlock'], /--all/],
      [['editing', 'a.ts', '--lines', 'ten'], /not a line/],
      [['task', 'claim', 'no-such-task'], /no task/],
      [['--project', 'bad name', 'peek'], /bad project/],
    ];
    await Promise.all(cases.map(async ([args, re]) => {
      const r = await p.run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toMatch(re);
    }));
  });

  it('--help on every command, with an example', async () => {
    // Every command and subcommand, from the program itself (in-process: one CLI process per command
    // would be 40 of them); a few through the real binary for the exit code and the bundle's lazy groups.
    const program = await programFor([]);
    const all: Array<{ name: string; help: string }> = [];
    const walk = (cmd: Command, prefix: string) => {
      for (const sub of cmd.commands) {
        if (sub.name() === 'help') continue;
        const name = `${prefix}${sub.name()}`;
        let help = sub.helpInformation();
        const after: string[] = [];
        sub.configureOutput({ writeOut: (str) => after.push(str) });
        sub.outputHelp();
        help = after.join('') || help;
        all.push({ name, help });
        walk(sub, `${name} `);
      }
    };
    walk(program, '');
    expect(all.length).toBeGreaterThan(40);
    const missing = all.filter((c) => !/\$ huddle /.test(c.help)).map((c) => c.name);
    expect(missing).toEqual([]);
    await Promise.all(['lock', 'task claim', 'init', 'serve'].map(async (c) => {
      const r = await start([...c.split(' '), '--help']).done;
      expect({ c, code: r.code }).toEqual({ c, code: 0 });
      expect(r.stdout).toMatch(/Usage: huddle/);
      expect(r.stdout).toMatch(/\$ huddle /);
    }));
  });

  it('no server: one clear line with the URL and how to start one, exit 2', async () => {
    const url = 'ws://127.0.0.1:9'; // discard port: nothing listens
    const results = await Promise.all([['peek', '--json'], ['decide', 'x'], ['lock', 'a.ts'], ['watch']].map((a) => start(['--url', url, ...a]).done));
    for (const r of results) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/http:\/\/127\.0\.0\.1:9.*huddle serve/);
      expect(r.stderr).not.toContain("npm start");
    }
  });
});

describe('watch across a server restart', () => {
  it('reconnects when the server comes back and shows later events', async () => {
    const dataDir = path.join(tempDir('huddle-watch-'), 'data');
    const s1 = await spawnServer(dataDir);
    const base = ['--url', s1.wsUrl, '--project', 'w'];
    const w = start([...base, 'watch', '--json']);
    const seen = () => w.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    await waitFor(async () => {
      if (!seen().some((e) => e.type === 'decision')) await start([...base, '--session', 'x', 'decide', 'before']).done;
      return seen().some((e) => e.type === 'decision');
    }, 'first event', 15_000, 200);
    s1.proc.kill('SIGKILL');
    await waitExit(s1.proc);
    const s2 = await spawnServer(dataDir, ['--port', String(s1.port)]);
    await waitFor(async () => {
      if (!seen().some((e) => e.type === 'decision' && /after/.test(e.summary))) await start(['--url', s2.wsUrl, '--project', 'w', '--session', 'x', 'decide', 'after']).done;
      return seen().some((e) => e.type === 'decision' && /after/.test(e.summary));
    }, 'event after the restart', 20_000, 300);
    w.proc.kill('SIGINT');
    const r = await w.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/went away; reconnecting/);
  });
});

describe('offline replica', () => {
  it('reads the last stored state marked offline, stores writes locally, and the server serves them later', async () => {
    const dir = tempDir('huddle-offline-');
    const dataDir = path.join(dir, '.huddle', 'data');
    const s1 = await startServer({ dataDir });
    const base = ['--url', s1.wsUrl, '--project', 'off'];
    const r1 = await start([...base, 'decide', 'made online'], { cwd: dir }).done;
    expect(r1.code).toBe(0);
    await s1.close();
    const offline = await start([...base, 'peek', '--json'], { cwd: dir }).done;
    expect(offline.code).toBe(0);
    const snap = JSON.parse(offline.stdout);
    expect(snap.source).toBe('offline');
    expect(typeof snap.asOf).toBe('number');
    expect(snap.decisions.map((d: any) => d.text)).toEqual(['made online']);
    const human = await start([...base, 'peek'], { cwd: dir }).done;
    expect(human.stdout).toMatch(/OFFLINE, as of/);
    const w = await start([...base, 'decide', 'made offline'], { cwd: dir }).done;
    expect(w.code).toBe(0);
    expect(w.stdout).toMatch(/stored locally only \(server offline\)/);
    // Presence needs a server.
    expect((await start([...base, 'lock', 'a.ts'], { cwd: dir }).done).code).toBe(2);
    const s2 = await startServer({ dataDir });
    const after = await start(['--url', s2.wsUrl, '--project', 'off', 'decisions', '--json'], { cwd: dir }).done;
    expect(JSON.parse(after.stdout).map((d: any) => d.text)).toEqual(['made online', 'made offline']);
  });
});
