/**
 * The real Codex CLI (pinned 0.171.0, installed by scripts/install-agents.sh into .cache/agents)
 * against a scripted local mock of the Responses API, wired by `huddle init --agent codex`,
 * talking to a real huddle server. Codex runs project hooks only after two trust steps, and
 * silently skips them otherwise; the test takes the user's path, not a bypass flag: the folder
 * is trusted in config.toml (what "Trust this folder?" / `codex exec --trust` records), `huddle
 * doctor` (asking codex app-server) must then report the hooks untrusted, the hooks are trusted
 * by the hashes Codex reports (what "Trust all and continue" records), and doctor turns green.
 * Then: an apply_patch and a shell write on a file alice holds are denied naming her and the
 * file is unchanged, a free file's patch goes through, the SessionStart context reaches the
 * model, and the session appeared in presence and is gone after SessionEnd. Only loopback is used.
 * Without the binary the suite is skipped with a message (in CI it must be there: it fails).
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, cleanup, onCleanup, startServer, tempDir } from '../helpers.js';
import { agentBin, installed, run } from './harness.js';
import { mockResponses } from './mock-openai.js';
import { listCodexHooks } from '../../cli/codex-trust.js';

const BIN = agentBin('codex', 'codex');
const have = installed('Codex e2e', [BIN]);

afterEach(cleanup);


describe.skipIf(!have)('Codex 0.171.0 (real binary, mock model)', () => {
  it('after the user\'s two trust steps (checked by doctor), denies a patch and a shell write on the locked file naming the holder, lets a free file through, injects context, and the session comes and goes', async () => {
    const server = await startServer();
    const home = tempDir('huddle-codex-home-');
    const root = path.join(tempDir(), 'repo');
    fs.mkdirSync(path.join(root, 'src'), { recursive: true });
    spawnSync('git', ['init', '-q', root]);
    fs.writeFileSync(path.join(root, 'src/locked.ts'), 'export const locked = 1;\n');
    fs.mkdirSync(path.join(root, '.huddle'));
    fs.writeFileSync(path.join(root, '.huddle/config.json'), JSON.stringify({ project: 'e2e-codex' }));
    const init = spawnSync(process.execPath, [CLI, 'init', '--agent', 'codex', '--url', server.url, '--bin', `${process.execPath} ${CLI}`, '--no-guard'], { cwd: root, encoding: 'utf8', env: { ...process.env, HUDDLE_URL: '' } });
    expect(init.status, init.stderr).toBe(0);
    const lock = await fetch(`${server.url}/api/p/e2e-codex/op/lock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: { id: 'alice-1', name: 'alice', role: 'backend' }, paths: ['src/locked.ts'], reason: 'refactoring' }) });
    expect(((await lock.json()) as { ok: boolean }).ok).toBe(true);

    const model = await mockResponses([
      { patch: '*** Begin Patch\n*** Update File: src/locked.ts\n@@\n-export const locked = 1;\n+export const locked = 2;\n*** End Patch\n' },
      { cmd: 'echo hacked > src/locked.ts' },
      { patch: '*** Begin Patch\n*** Add File: src/free.ts\n+export const free = 1;\n*** End Patch\n' },
      { text: 'All done.' },
    ]);
    onCleanup(() => model.close());
    fs.mkdirSync(path.join(home, '.codex'));
    fs.writeFileSync(path.join(home, '.codex/config.toml'), [
      'model = "gpt-5.5"',
      'model_provider = "mock"',
      'check_for_update_on_startup = false',
      '[analytics]',
      'enabled = false',
      '[otel]',
      'exporter = "none"',
      '[model_providers.mock]',
      'name = "mock"',
      `base_url = "${model.url}"`,
      'wire_api = "responses"',
      'env_key = "MOCK_API_KEY"',
      'request_max_retries = 0',
      'stream_max_retries = 0',
      '',
    ].join('\n'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, CODEX_HOME: path.join(home, '.codex'), MOCK_API_KEY: 'dummy', HUDDLE_ROLE: 'frontend', HUDDLE_NAME: 'carol', NO_COLOR: '1' };
    // Async: the server runs in this process, a spawnSync would stall it.
    const doctor = () => run(process.execPath, [CLI, 'doctor', '--url', server.url, '--json'], root, { ...env, HUDDLE_CODEX_BIN: BIN }, 20_000);
    const codexCheck = (r: Awaited<ReturnType<typeof doctor>>) => (JSON.parse(r.stdout) as Array<{ agent: string; ok: boolean; what: string }>).filter((c) => c.agent === 'codex' && !/wired|probe/.test(c.what));
    // Untrusted folder: Codex disables the project's .codex/ layer; doctor says so.
    expect(codexCheck(await doctor())).toMatchObject([{ ok: false, what: expect.stringMatching(/folder is not trusted/) }]);
    fs.appendFileSync(path.join(home, '.codex/config.toml'), `[projects.${JSON.stringify(root)}]\ntrust_level = "trusted"\n`);
    // Trusted folder, hooks not reviewed: Codex lists them as untrusted and would skip them.
    const listed = (await listCodexHooks(BIN, root, env)).filter((h) => h.command.includes('.huddle/hook.sh'));
    expect(listed.map((h) => h.eventName).sort()).toEqual(['postToolUse', 'preToolUse', 'sessionEnd', 'sessionStart', 'stop', 'userPromptSubmit']);
    expect(codexCheck(await doctor())).toMatchObject([{ ok: false, what: expect.stringMatching(/6 Codex hooks not trusted/) }]);
    fs.appendFileSync(path.join(home, '.codex/config.toml'), listed.map((h) => `[hooks.state.${JSON.stringify(h.key)}]\ntrusted_hash = ${JSON.stringify(h.currentHash)}\n`).join(''));
    const green = await doctor();
    expect(codexCheck(green), green.stdout).toMatchObject([{ ok: true }]);
    expect(green.code, green.stdout).toBe(0);

    const seen: string[][] = [];
    const poll = setInterval(async () => {
      const st = (await (await fetch(`${server.url}/api/p/e2e-codex/state`)).json().catch(() => ({ sessions: [] }))) as { sessions: Array<{ id: string; agent: string }> };
      seen.push(st.sessions.filter((s) => s.agent === 'codex').map((s) => s.id));
    }, 100);
    onCleanup(() => clearInterval(poll));
    const r = await run(BIN, ['exec', '--skip-git-repo-check', '--json', '--sandbox', 'danger-full-access', 'Change the files.'], root, env, 60_000);
    clearInterval(poll);
    if (process.env.HUDDLE_E2E_DEBUG) console.log(JSON.stringify(model.requests, null, 1).slice(0, 20000), r.stdout, r.stderr);
    expect(r.code, `${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`).toBe(0);

    // The locked file is unchanged; the free one was written.
    expect(fs.readFileSync(path.join(root, 'src/locked.ts'), 'utf8')).toBe('export const locked = 1;\n');
    expect(fs.readFileSync(path.join(root, 'src/free.ts'), 'utf8')).toBe('export const free = 1;\n');
    expect(model.requests.length).toBeGreaterThanOrEqual(4);
    // The SessionStart context (who holds what) was in the very first request.
    expect(JSON.stringify(model.requests[0])).toContain('alice');
    // huddle's MCP server (.codex/config.toml, loaded in the trusted folder) connected: Codex announces its
    // tools as a deferred namespace behind tool_search, with the server's instructions. Codex does not wait
    // for a server still starting (at load 12 it came after the first request), so any request counts.
    expect(model.requests.some((q) => /mcp__huddle: huddle: shared live context/.test(JSON.stringify(q))), 'huddle MCP tools in some request').toBe(true);
    // The deny reason, naming the holder, went back to the model as the apply_patch output.
    const outputs = (model.requests[1]!.input as Array<Record<string, unknown>>).filter((i) => i.type === 'custom_tool_call_output' && i.call_id === 'call_1');
    expect(outputs.length, JSON.stringify(model.requests[1]).slice(-3000)).toBe(1);
    expect(JSON.stringify(outputs[0])).toMatch(/locked by alice/);
    // The shell write was denied too (Codex reports it as Bash), as the exec_command output.
    const shell = (model.requests[2]!.input as Array<Record<string, unknown>>).filter((i) => i.type === 'function_call_output' && i.call_id === 'call_2');
    expect(shell.length, JSON.stringify(model.requests[2]).slice(-3000)).toBe(1);
    expect(JSON.stringify(shell[0])).toMatch(/locked by alice/);
    // The hook ran as this session: it appeared in presence, and SessionEnd took it away.
    expect(seen.some((ids) => ids.length === 1)).toBe(true);
    // Never two: the MCP server Codex starts links to the hooks' session.
    expect(seen.every((ids) => ids.length <= 1), JSON.stringify(seen.find((ids) => ids.length > 1))).toBe(true);
    const after = (await (await fetch(`${server.url}/api/p/e2e-codex/state`)).json()) as { sessions: Array<{ id: string; agent: string }> };
    expect(after.sessions.filter((s) => s.agent === 'codex')).toEqual([]);
    // A changed hook re-arms the review: Codex no longer counts it as trusted, and doctor says so.
    const hooksFile = path.join(root, '.codex/hooks.json');
    fs.writeFileSync(hooksFile, fs.readFileSync(hooksFile, 'utf8').replace('"timeout": 10', '"timeout": 11'));
    const changed = (await listCodexHooks(BIN, root, env)).filter((h) => h.trustStatus !== 'trusted').map((h) => [h.eventName, h.trustStatus]);
    expect(changed).toEqual([['sessionStart', 'modified']]);
    expect(codexCheck(await doctor())).toMatchObject([{ ok: false, what: expect.stringMatching(/1 of huddle's 6 Codex hooks not trusted \(modified\)/) }]);
  }, 90_000);
});
