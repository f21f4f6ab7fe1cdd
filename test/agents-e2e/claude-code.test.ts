/**
 * The real Claude Code (pinned 2.1.328, installed by scripts/install-agents.sh into .cache/agents)
 * against a scripted local mock of the Messages API, wired by `huddle init`, talking to a real
 * huddle server: a locked file's edit and shell write are denied naming the holder and the file
 * is unchanged, a free file's write goes through, the SessionStart context reaches the model,
 * the session appears while it runs and disappears at its end. Only loopback is used.
 * Without the binary the suite is skipped with a message (in CI it must be there: it fails).
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, cleanup, onCleanup, startServer, tempDir } from '../helpers.js';
import { agentBin, installed, run } from './harness.js';
import { mockAnthropic } from './mock-anthropic.js';

const BIN = agentBin('claude-code', 'claude');
const have = installed('Claude Code e2e', [BIN]);

afterEach(cleanup);


describe.skipIf(!have)('Claude Code 2.1.328 (real binary, mock model)', () => {
  it('denies the locked file (edit and shell) naming the holder, lets a free file through, injects context, and the session comes and goes', async () => {
    const server = await startServer();
    const home = tempDir('huddle-cc-home-');
    const root = path.join(tempDir(), 'repo');
    fs.mkdirSync(path.join(root, 'src'), { recursive: true });
    spawnSync('git', ['init', '-q', root]);
    fs.writeFileSync(path.join(root, 'src/locked.ts'), 'export const locked = 1;\n');
    fs.mkdirSync(path.join(root, '.huddle'));
    fs.writeFileSync(path.join(root, '.huddle/config.json'), JSON.stringify({ project: 'e2e-cc' }));
    const init = spawnSync(process.execPath, [CLI, 'init', '--agent', 'claude-code', '--url', server.url, '--bin', `${process.execPath} ${CLI}`, '--no-guard'], { cwd: root, encoding: 'utf8', env: { ...process.env, HUDDLE_URL: '' } });
    expect(init.status, init.stderr).toBe(0);
    const lock = await fetch(`${server.url}/api/p/e2e-cc/op/lock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: { id: 'alice-1', name: 'alice', role: 'backend' }, paths: ['src/locked.ts'], reason: 'refactoring' }) });
    expect(((await lock.json()) as { ok: boolean }).ok).toBe(true);

    const locked = path.join(root, 'src/locked.ts');
    const free = path.join(root, 'src/free.ts');
    const model = await mockAnthropic([
      { tool: 'Read', input: { file_path: locked } },
      { tool: 'Edit', input: { file_path: locked, old_string: 'locked = 1', new_string: 'locked = 2' } },
      { tool: 'Bash', input: { command: 'echo hacked > src/locked.ts', description: 'write' } },
      { tool: 'Write', input: { file_path: free, content: 'export const free = 1;\n' } },
      { text: 'All done.' },
    ]);
    onCleanup(() => model.close());
    const seen: string[][] = [];
    const poll = setInterval(async () => {
      const st = (await (await fetch(`${server.url}/api/p/e2e-cc/state`)).json().catch(() => ({ sessions: [] }))) as { sessions: Array<{ id: string; agent: string }> };
      seen.push(st.sessions.filter((s) => s.agent === 'claude-code').map((s) => s.id));
    }, 100);
    onCleanup(() => clearInterval(poll));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      ANTHROPIC_BASE_URL: model.url,
      ANTHROPIC_API_KEY: 'dummy',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      HUDDLE_ROLE: 'frontend',
      HUDDLE_NAME: 'bob',
    };
    const r = await run(BIN, ['-p', '--output-format', 'stream-json', '--verbose', '--model', 'claude-sonnet-4-5', '--allowedTools', 'Read,Edit,Write,Bash', '--debug-file', path.join(home, 'debug.log'), '--', 'Change the files.'], root, env, 90_000);
    clearInterval(poll);
    expect(r.code, `${r.stderr}\n${r.stdout.slice(-2000)}`).toBe(0);

    // The locked file is unchanged; the free one was written.
    expect(fs.readFileSync(locked, 'utf8')).toBe('export const locked = 1;\n');
    expect(fs.readFileSync(free, 'utf8')).toBe('export const free = 1;\n');
    // What reached the model: the SessionStart summary (names the holder), the deny reasons as tool results.
    const main = model.main();
    expect(main.length).toBeGreaterThanOrEqual(5);
    // The SessionStart context (who holds what) was in the very first request.
    expect(JSON.stringify(main[0])).toContain('alice');
    const all = JSON.stringify(main.at(-1));
    expect(all).toContain('src/locked.ts');
    expect(all).toMatch(/huddle/);
    const results = (main.at(-1)!.messages as Array<{ role: string; content: unknown }>).flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((c: any) => c.type === 'tool_result');
    const text = (c: any) => (typeof c.content === 'string' ? c.content : JSON.stringify(c.content));
    const editResult = results.find((c: any) => c.tool_use_id === 'toolu_2' || text(c).includes('locked = 2'));
    const denials = results.filter((c: any) => /locked by alice/.test(text(c)));
    expect(denials.length, JSON.stringify(results).slice(0, 3000)).toBeGreaterThanOrEqual(2);
    expect(editResult).toBeDefined();
    // The hook ran as this session: it appeared (with role and name) and is gone after SessionEnd.
    expect(seen.some((ids) => ids.length === 1)).toBe(true);
    const after = (await (await fetch(`${server.url}/api/p/e2e-cc/state`)).json()) as { sessions: Array<{ id: string; agent: string }> };
    expect(after.sessions.filter((s) => s.agent === 'claude-code')).toEqual([]);
  }, 120_000);
});
