/**
 * The real opencode (pinned opencode-ai 1.18.33, installed by scripts/install-agents.sh into
 * .cache/agents) against a scripted local mock of the Chat Completions API on 127.0.0.1, wired by
 * `huddle init --agent opencode` (the `.opencode/plugins/huddle.ts` plugin and the MCP entry in
 * opencode.json), talking to a real huddle server: an `edit` and a shell write (`bash`) on a file
 * alice holds are denied by the plugin's `tool.execute.before` naming her and the file is
 * unchanged, a free file's `write` goes through and `tool.execute.after` records it as being
 * edited, the plugin's system-prompt context reaches the model, a lock taken through huddle's MCP
 * tool belongs to the plugin's session, and the session comes and goes (with its locks) when
 * opencode exits, and again when `run --continue` resumes it.
 *
 * Offline switches measured on 1.18.33 (checked with the whole run inside `unshare -n`, only
 * loopback up): the model is a custom provider on the bundled `@ai-sdk/openai-compatible` package
 * (no download) in the throwaway config dir; OPENCODE_DISABLE_MODELS_FETCH (models.dev catalog),
 * _AUTOUPDATE, _DEFAULT_PLUGINS (npm auth plugins), _LSP_DOWNLOAD, _SHARE, _CLAUDE_CODE (reads
 * ~/.claude). opencode also installs `@opencode-ai/plugin` with npm into every config dir
 * (~/.config/opencode, .opencode) at start unless that dir has a node_modules folder and a
 * package-lock.json naming it; without network that install hangs the start, so the test seeds
 * both, as a previous online run would have left them (huddle's plugin imports nothing). opencode
 * sends no session event when `run` exits: the plugin ends its sessions from its `dispose` hook.
 * Without the binary the suite is skipped with a message (in CI it must be there: it fails).
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, cleanup, onCleanup, startServer, tempDir } from '../helpers.js';
import { agentBin, installed, run } from './harness.js';
import { mockChat } from './mock-chat.js';

const BIN = agentBin('opencode', 'opencode');
const have = installed('opencode e2e', [BIN]);

afterEach(cleanup);


/** What a previous (online) opencode start leaves in a config dir, so this one installs nothing. */
function seedConfigDir(dir: string): void {
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({ packages: { '': { dependencies: { '@opencode-ai/plugin': '1.18.33' } } } }));
}

type Session = { id: string; agent: string; name?: string; editing?: Array<{ path: string }> };
type Lock = { path: string; session: string; sessionName: string };

describe.skipIf(!have)('opencode 1.18.33 (real binary, mock model)', () => {
  it('the plugin denies an edit and a shell write on the locked file naming the holder, records the free write, injects context, links huddle\'s MCP lock to its session, and the session comes and goes with its locks', async () => {
    const server = await startServer();
    const home = tempDir('huddle-opencode-home-');
    const root = path.join(tempDir(), 'repo');
    fs.mkdirSync(path.join(root, 'src'), { recursive: true });
    spawnSync('git', ['init', '-q', root]);
    fs.writeFileSync(path.join(root, 'src/locked.ts'), 'export const locked = 1;\n');
    fs.mkdirSync(path.join(root, '.huddle'));
    fs.writeFileSync(path.join(root, '.huddle/config.json'), JSON.stringify({ project: 'e2e-opencode' }));
    const init = spawnSync(process.execPath, [CLI, 'init', '--agent', 'opencode', '--url', server.url, '--bin', `${process.execPath} ${CLI}`, '--no-guard'], { cwd: root, encoding: 'utf8', env: { ...process.env, HUDDLE_URL: '' } });
    expect(init.status, init.stderr).toBe(0);
    expect(fs.existsSync(path.join(root, '.opencode/plugins/huddle.ts'))).toBe(true);
    const lock = await fetch(`${server.url}/api/p/e2e-opencode/op/lock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: { id: 'alice-1', name: 'alice', role: 'backend' }, paths: ['src/locked.ts'], reason: 'refactoring' }) });
    expect(((await lock.json()) as { ok: boolean }).ok).toBe(true);

    const locked = path.join(root, 'src/locked.ts');
    const free = path.join(root, 'src/free.ts');
    const state = async () => (await (await fetch(`${server.url}/api/p/e2e-opencode/state`)).json()) as { sessions: Session[]; locks: Lock[] };
    let afterWrite: Session[] = [];
    let afterLock: Lock[] = [];
    let resumed: Session[] = [];
    const model = await mockChat([
      { call: 'edit', args: { filePath: locked, oldString: 'locked = 1', newString: 'locked = 2' } },
      { call: 'bash', args: { command: 'echo hacked > src/locked.ts', description: 'write' } },
      { call: 'write', args: { filePath: free, content: 'export const free = 1;\n' } },
      // tool.execute.after has run once opencode asks the model again: the edit is recorded by then.
      { call: 'huddle_lock', args: { paths: ['src/next.ts'], reason: 'next step' }, before: async () => { afterWrite = (await state()).sessions; } },
      { text: 'All done.', before: async () => { afterLock = (await state()).locks; } },
      // The second run (--continue) resumes the session: opencode announces nothing, the plugin hosts it on first sight.
      { text: 'Resumed.', before: async () => { resumed = (await state()).sessions; } },
    ]);
    onCleanup(() => model.close());

    const config = path.join(home, '.config');
    fs.mkdirSync(path.join(config, 'opencode'), { recursive: true });
    fs.writeFileSync(path.join(config, 'opencode/opencode.json'), JSON.stringify({
      $schema: 'https://opencode.ai/config.json',
      model: 'mock/mock-model',
      small_model: 'mock/mock-model',
      autoupdate: false,
      share: 'disabled',
      provider: { mock: { npm: '@ai-sdk/openai-compatible', name: 'Mock', options: { baseURL: model.url, apiKey: 'dummy' }, models: { 'mock-model': { name: 'Mock', tool_call: true } } } },
    }));
    seedConfigDir(path.join(config, 'opencode'));
    seedConfigDir(path.join(root, '.opencode'));

    const seen: Session[][] = [];
    const poll = setInterval(async () => {
      const st = (await (await fetch(`${server.url}/api/p/e2e-opencode/state`)).json().catch(() => ({ sessions: [] }))) as { sessions: Session[] };
      seen.push(st.sessions.filter((s) => s.agent === 'opencode'));
    }, 100);
    onCleanup(() => clearInterval(poll));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      XDG_CONFIG_HOME: config,
      XDG_DATA_HOME: path.join(home, '.local/share'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_STATE_HOME: path.join(home, '.local/state'),
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
      OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
      OPENCODE_DISABLE_SHARE: '1',
      OPENCODE_DISABLE_CLAUDE_CODE: '1',
      HUDDLE_ROLE: 'frontend',
      HUDDLE_NAME: 'erin',
      NO_COLOR: '1',
    };
    const r = await run(BIN, ['run', '--format', 'json', '--print-logs', 'Change the files.'], root, env, 60_000);
    clearInterval(poll);
    if (process.env.HUDDLE_E2E_DEBUG) console.log(JSON.stringify(model.requests, null, 1).slice(0, 20000), r.stdout, r.stderr);
    expect(r.code, `${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`).toBe(0);
    // opencode installed nothing (npm would have written a package.json into the config dir).
    expect(fs.existsSync(path.join(root, '.opencode/package.json'))).toBe(false);

    expect(fs.readFileSync(locked, 'utf8')).toBe('export const locked = 1;\n');
    expect(fs.readFileSync(free, 'utf8')).toBe('export const free = 1;\n');
    expect(model.requests.length).toBeGreaterThanOrEqual(5);
    // huddle's MCP tools were offered to the model (opencode names them <server>_<tool>).
    const tools = (model.requests[0]!.tools as Array<{ function: { name: string } }>).map((t) => t.function.name);
    expect(tools).toEqual(expect.arrayContaining(['edit', 'write', 'bash', 'huddle_status', 'huddle_lock', 'huddle_send']));
    // The plugin's system-prompt context (who holds what) was in the very first request.
    const system = (i: number) => JSON.stringify((model.requests[i]!.messages as Array<{ role: string }>).filter((m) => m.role === 'system'));
    expect(system(0)).toContain('alice');
    // Each denial went back to the model as that call's tool result, naming the holder.
    const result = (i: number, call: string) => JSON.stringify((model.requests[i]!.messages as Array<{ role: string; tool_call_id?: string }>).filter((m) => m.role === 'tool' && m.tool_call_id === call));
    expect(result(1, 'call_1'), JSON.stringify(model.requests[1]).slice(-3000)).toMatch(/locked by alice/);
    expect(result(2, 'call_2'), JSON.stringify(model.requests[2]).slice(-3000)).toMatch(/locked by alice/);
    expect(result(3, 'call_3')).not.toMatch(/locked by/);
    expect(result(3, 'call_3')).not.toBe('[]');
    // The plugin ran as this session: it appeared (one only: the MCP server links to it), the
    // allowed write was recorded, and the MCP lock is that session's.
    expect(seen.some((ss) => ss.length === 1)).toBe(true);
    expect(seen.every((ss) => ss.length <= 1), JSON.stringify(seen.find((ss) => ss.length > 1))).toBe(true);
    const mine = afterWrite.filter((s) => s.agent === 'opencode');
    expect(mine.length, JSON.stringify(afterWrite)).toBe(1);
    expect(mine[0]!.id).toMatch(/^ses_/);
    expect((mine[0]!.editing ?? []).map((e) => e.path)).toEqual(['src/free.ts']);
    expect(afterLock.filter((l) => l.path === 'src/next.ts').map((l) => [l.session, l.sessionName]), JSON.stringify(afterLock)).toEqual([[mine[0]!.id, 'erin']]);
    expect(result(4, 'call_4')).toMatch(/src\/next\.ts/);
    // opencode exited: the plugin's dispose hook ended the session, and its lock went with it.
    const after = await state();
    expect(after.sessions.filter((s) => s.agent === 'opencode')).toEqual([]);
    expect(after.locks.filter((l) => l.path === 'src/next.ts')).toEqual([]);
    expect(after.locks.filter((l) => l.path === 'src/locked.ts').map((l) => l.sessionName)).toEqual(['alice']);

    // Resumed: the same session is back while opencode runs, and gone again when it exits.
    const again = await run(BIN, ['run', '--continue', '--format', 'json', 'Go on.'], root, env, 60_000);
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    expect(model.requests.length).toBe(6);
    expect(resumed.filter((s) => s.agent === 'opencode').map((s) => s.id)).toEqual([mine[0]!.id]);
    expect((await state()).sessions.filter((s) => s.agent === 'opencode')).toEqual([]);
  }, 180_000);
});
