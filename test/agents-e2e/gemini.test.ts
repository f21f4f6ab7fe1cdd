/**
 * The real Gemini CLI (pinned 0.61.0, installed by scripts/install-agents.sh into .cache/agents)
 * against a scripted local mock of the Gemini API (GOOGLE_GEMINI_BASE_URL on 127.0.0.1), wired by
 * `huddle init --agent gemini`, talking to a real huddle server: a `replace` and a shell write
 * (`run_shell_command`) on a file alice holds are denied at BeforeTool naming her and the file is
 * unchanged, a free file's `write_file` goes through and AfterTool records it as being edited, the
 * SessionStart/BeforeAgent context reaches the model, an AfterTool with nothing new adds nothing while a
 * message sent mid-loop comes back with the next tool's result, once, and the session comes and goes; init
 * ran in another checkout than the one Gemini runs in.
 *
 * Offline switches measured on 0.61.0: GOOGLE_GEMINI_BASE_URL alone selects the "gateway" auth type,
 * which `-p` rejects ("Invalid auth method selected."), so the throwaway HOME's settings select
 * `gemini-api-key` (the key is a dummy); the folder is trusted the user's way, in trustedFolders.json,
 * checked by `huddle doctor` (project hooks load only in a trusted one; `gemini -p` refuses an
 * untrusted folder and `--skip-trust` would skip the hooks: a false pass); `-m` avoids the
 * router's extra call; yolo offers the write tools without a prompt. Without the binary the suite
 * is skipped with a message (in CI it must be there: it fails).
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, cleanup, onCleanup, startServer, tempDir } from '../helpers.js';
import { agentBin, installed, run } from './harness.js';
import { isolatedEnv, runCli } from '../cli-run.js';
import { mockGemini } from './mock-gemini.js';

const BIN = agentBin('gemini', 'gemini');
const have = installed('Gemini CLI e2e', [BIN]);

afterEach(cleanup);


type Session = { id: string; agent: string; editing?: Array<{ path: string }> };

describe.skipIf(!have)('Gemini CLI 0.61.0 (real binary, mock model)', () => {
  it('denies replace and a shell write on the locked file naming the holder at BeforeTool, records the free write_file, locks through huddle\'s MCP tool, injects context, and the session comes and goes with its locks', async () => {
    const server = await startServer();
    const home = tempDir('huddle-gemini-home-');
    // init runs in one checkout, Gemini in another (a teammate's): the hook commands name no absolute path.
    const first = path.join(tempDir(), 'where-init-ran');
    fs.mkdirSync(path.join(first, 'src'), { recursive: true });
    spawnSync('git', ['init', '-q', first]);
    fs.writeFileSync(path.join(first, 'src/locked.ts'), 'export const locked = 1;\n');
    fs.mkdirSync(path.join(first, '.huddle'));
    fs.writeFileSync(path.join(first, '.huddle/config.json'), JSON.stringify({ project: 'e2e-gemini' }));
    const init = spawnSync(process.execPath, [CLI, 'init', '--agent', 'gemini', '--url', server.url, '--bin', `${process.execPath} ${CLI}`, '--no-guard'], { cwd: first, encoding: 'utf8', env: { ...process.env, HUDDLE_URL: '' } });
    expect(init.status, init.stderr).toBe(0);
    const root = path.join(tempDir(), 'teammate', 'repo');
    fs.mkdirSync(path.dirname(root), { recursive: true });
    fs.renameSync(first, root);
    expect(fs.readFileSync(path.join(root, '.gemini/settings.json'), 'utf8')).not.toContain(first);
    const lock = await fetch(`${server.url}/api/p/e2e-gemini/op/lock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: { id: 'alice-1', name: 'alice', role: 'backend' }, paths: ['src/locked.ts'], reason: 'refactoring' }) });
    expect(((await lock.json()) as { ok: boolean }).ok).toBe(true);

    const locked = path.join(root, 'src/locked.ts');
    const free = path.join(root, 'src/free.ts');
    let afterWrite: Session[] = [];
    let afterLock: Array<{ path: string; session: string; sessionName: string }> = [];
    const state = async () => (await (await fetch(`${server.url}/api/p/e2e-gemini/state`)).json()) as { sessions: Session[]; locks: typeof afterLock };
    // Delivery between tool calls (issue 16): a message sent while the model thinks, after the write_file.
    const FYI = 'schema moved to v2, read src/schema.ts';
    const errors: string[] = [];
    const lead = isolatedEnv({ HUDDLE_URL: server.url, HUDDLE_SESSION: 'lead-1', HUDDLE_NAME: 'lead', HUDDLE_ROLE: 'lead' });
    const send = async (text: string) => {
      const ids = (await state()).sessions.filter((s) => s.agent === 'gemini').map((s) => s.id);
      const r = await runCli(['send', ids[0] ?? 'none', text], { cwd: root, env: lead });
      if (ids.length !== 1 || r.code !== 0) errors.push(`send to ${JSON.stringify(ids)}: ${r.stderr}`);
    };
    const model = await mockGemini([
      { call: 'replace', args: { file_path: locked, old_string: 'locked = 1', new_string: 'locked = 2', instruction: 'bump it' } },
      { call: 'run_shell_command', args: { command: 'echo hacked > src/locked.ts', description: 'write' } },
      { call: 'write_file', args: { file_path: free, content: 'export const free = 1;\n' } },
      // AfterTool has run once Gemini asks the model again: the edit must be recorded by then.
      { call: 'mcp_huddle_lock', args: { paths: ['src/next.ts'], reason: 'next step' }, before: async () => { afterWrite = (await state()).sessions; await send(FYI); } },
      // The lock taken through huddle's MCP server belongs to the hooks' session (the MCP server linked to it).
      { text: 'All done.', before: async () => { afterLock = (await state()).locks; } },
    ]);
    onCleanup(() => model.close());
    fs.mkdirSync(path.join(home, '.gemini'));
    fs.writeFileSync(path.join(home, '.gemini/settings.json'), JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } }, privacy: { usageStatisticsEnabled: false }, telemetry: { enabled: false }, general: { enableAutoUpdate: false, enableAutoUpdateNotification: false } }));
    const seen: Session[][] = [];
    const poll = setInterval(async () => {
      const st = (await (await fetch(`${server.url}/api/p/e2e-gemini/state`)).json().catch(() => ({ sessions: [] }))) as { sessions: Session[] };
      seen.push(st.sessions.filter((s) => s.agent === 'gemini'));
    }, 100);
    onCleanup(() => clearInterval(poll));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      GEMINI_API_KEY: 'dummy',
      GOOGLE_GEMINI_BASE_URL: model.url,
      HUDDLE_ROLE: 'frontend',
      HUDDLE_NAME: 'dave',
      NO_COLOR: '1',
    };
    // The user's trust step, checked by doctor before and after: the folder in ~/.gemini/trustedFolders.json.
    const doctor = async () => (JSON.parse((await run(process.execPath, [CLI, 'doctor', '--url', server.url, '--json'], root, env, 20_000)).stdout) as Array<{ agent: string; ok: boolean; what: string }>).filter((c) => c.agent === 'gemini' && /trust/.test(c.what));
    expect(await doctor()).toMatchObject([{ ok: false, what: expect.stringMatching(/folder not trusted/) }]);
    fs.writeFileSync(path.join(home, '.gemini/trustedFolders.json'), JSON.stringify({ [root]: 'TRUST_FOLDER' }));
    expect(await doctor()).toMatchObject([{ ok: true }]);
    const r = await run(BIN, ['-p', 'Change the files.', '--output-format', 'json', '--approval-mode', 'yolo', '-m', 'gemini-2.5-flash'], root, env, 60_000);
    clearInterval(poll);
    if (process.env.HUDDLE_E2E_DEBUG) console.log(JSON.stringify(model.requests, null, 1).slice(0, 20000), r.stdout, r.stderr);
    expect(r.code, `${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`).toBe(0);
    expect(errors).toEqual([]);
    // The project hooks were loaded (Gemini warns about them on first sight), not skipped.
    expect(r.stderr).toMatch(/huddle-guard/);

    expect(fs.readFileSync(locked, 'utf8')).toBe('export const locked = 1;\n');
    expect(fs.readFileSync(free, 'utf8')).toBe('export const free = 1;\n');
    expect(model.requests.length).toBeGreaterThanOrEqual(5);
    // huddle's MCP tools were offered to the model (Gemini names them mcp_<server>_<tool>).
    const tools = (model.requests[0]!.tools ?? []).flatMap((t: any) => (t.functionDeclarations ?? []).map((f: any) => f.name));
    expect(tools).toEqual(expect.arrayContaining(['mcp_huddle_status', 'mcp_huddle_lock', 'mcp_huddle_send']));
    // The SessionStart/BeforeAgent context (who holds what) was in the very first request.
    expect(JSON.stringify(model.requests[0])).toContain('alice');
    // Each denial went back to the model as that call's functionResponse, naming the holder.
    const response = (i: number, name: string) => (model.requests[i]!.contents as Array<{ parts: Array<Record<string, any>> }>).flatMap((c) => c.parts).filter((p) => p.functionResponse?.name === name);
    expect(JSON.stringify(response(1, 'replace')), JSON.stringify(model.requests[1]).slice(-3000)).toMatch(/locked by alice/);
    expect(JSON.stringify(response(2, 'run_shell_command')), JSON.stringify(model.requests[2]).slice(-3000)).toMatch(/locked by alice/);
    expect(JSON.stringify(response(3, 'write_file'))).not.toMatch(/locked by/);
    // The hook ran as this session: it appeared, AfterTool recorded the allowed edit, SessionEnd took it away.
    // One session only: the MCP server Gemini starts links to the hooks' session, never a second one.
    expect(seen.some((ss) => ss.length === 1)).toBe(true);
    expect(seen.every((ss) => ss.length <= 1), JSON.stringify(seen.find((ss) => ss.length > 1))).toBe(true);
    const mine = afterWrite.filter((s) => s.agent === 'gemini');
    expect(mine.length, JSON.stringify(afterWrite)).toBe(1);
    expect((mine[0]!.editing ?? []).map((e) => e.path)).toEqual(['src/free.ts']);
    expect(afterLock.filter((l) => l.path === 'src/next.ts').map((l) => [l.session, l.sessionName]), JSON.stringify(afterLock)).toEqual([[mine[0]!.id, 'dave']]);
    expect(JSON.stringify(response(4, 'mcp_huddle_lock'))).toMatch(/src\/next\.ts/);
    // AfterTool with nothing new adds nothing: what Gemini added after the write_file carries no huddle text
    // (AfterTool ran there: it recorded the edit above). Gemini resends the conversation; the tail is new.
    const added = (i: number) => JSON.stringify((model.requests[i]!.contents as unknown[]).slice((model.requests[i - 1]!.contents as unknown[]).length));
    expect(added(3)).toContain('write_file');
    expect(added(3), added(3)).not.toMatch(/hook_context|huddle:|team context/);
    // The message sent mid-loop came back with the next tool's result (AfterTool additionalContext, as <hook_context>), once.
    expect(added(4)).toContain(FYI);
    expect(added(4)).toContain('hook_context');
    expect(JSON.stringify(model.requests[4]!.contents).split(FYI).length - 1).toBe(1);
    // SessionEnd: the session is gone and so is the lock it took through MCP.
    const after = await state();
    expect(after.sessions.filter((s) => s.agent === 'gemini')).toEqual([]);
    expect(after.locks.filter((l) => l.path === 'src/next.ts')).toEqual([]);
  }, 90_000);
});
