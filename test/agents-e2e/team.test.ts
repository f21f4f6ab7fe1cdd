/**
 * A mixed team on one repository, all real binaries against scripted local mocks of their model
 * APIs and one real huddle server (autoLock on: a session locks a file at its first edit):
 * carol (Codex 0.171.0) creates src/codex.ts; dave (Gemini CLI 0.61.0) creates src/gemini.ts and
 * is denied src/codex.ts naming carol; bob (Claude Code 2.1.328) sees carol and dave in his
 * SessionStart context, is denied an edit of src/codex.ts (carol) and a shell write to
 * src/gemini.ts (dave), and creates src/bob.ts; erin (a second Claude Code) is denied src/bob.ts
 * naming bob. Each model's last answer waits until the others are through, so all four sessions
 * are live at once. Every session is counted once (its MCP server links to it), and at the end all
 * are gone and so are the locks their edits took. Only loopback is used.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, cleanup, onCleanup, startServer, tempDir } from '../helpers.js';
import { agentBin, installed, run } from './harness.js';
import { mockAnthropic } from './mock-anthropic.js';
import { mockResponses } from './mock-openai.js';
import { mockGemini } from './mock-gemini.js';
import { listCodexHooks } from '../../cli/codex-trust.js';

const BIN = { claude: agentBin('claude-code', 'claude'), codex: agentBin('codex', 'codex'), gemini: agentBin('gemini', 'gemini') };
const have = installed('mixed-team e2e', Object.values(BIN));

afterEach(cleanup);



/** Waits a model's answer on the rest of the team. A wait that gives up is recorded (the test then fails on it):
 * answering anyway would end that session early and release its locks, and the next check would fail for
 * the wrong reason. The bound is wide: on a loaded 2-core machine the four agents can take a minute. */
const gaveUp: string[] = [];
async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 100_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) {
      gaveUp.push(what);
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Session = { id: string; name: string; agent: string };
type Lock = { path: string; sessionName: string };

describe.skipIf(!have)('a mixed team: Codex, Gemini CLI and two Claude Code sessions (real binaries, mock models)', () => {
  it('cannot edit each other\'s locked files, each sees the others, every session counts once, and all is released at the end', async () => {
    const server = await startServer();
    const root = path.join(tempDir(), 'repo');
    fs.mkdirSync(path.join(root, 'src'), { recursive: true });
    spawnSync('git', ['init', '-q', root]);
    fs.mkdirSync(path.join(root, '.huddle'));
    fs.writeFileSync(path.join(root, '.huddle/config.json'), JSON.stringify({ project: 'e2e-team', autoLock: true }));
    const init = spawnSync(process.execPath, [CLI, 'init', '--agent', 'claude-code,codex,gemini', '--url', server.url, '--bin', `${process.execPath} ${CLI}`, '--no-guard'], { cwd: root, encoding: 'utf8', env: { ...process.env, HUDDLE_URL: '' } });
    expect(init.status, init.stderr).toBe(0);
    const file = (f: string) => path.join(root, f);
    const state = async () => (await (await fetch(`${server.url}/api/p/e2e-team/state`)).json()) as { sessions: Session[]; locks: Lock[] };
    const holds = (name: string, p: string) => async () => (await state()).locks.some((l) => l.path === p && l.sessionName === name);
    const done = { gemini: false, bob: false, erin: false };

    // carol (Codex): the user's trust steps, as in codex.test.ts.
    const codexHome = tempDir('huddle-team-codex-');
    const codexModel = await mockResponses([
      { patch: '*** Begin Patch\n*** Add File: src/codex.ts\n+export const codex = 1;\n*** End Patch\n' },
      { text: 'Done.', before: () => waitFor('the others', () => done.gemini && done.bob && done.erin) },
    ]);
    onCleanup(() => codexModel.close());
    fs.mkdirSync(path.join(codexHome, '.codex'));
    fs.writeFileSync(path.join(codexHome, '.codex/config.toml'), `model = "gpt-5.5"\nmodel_provider = "mock"\ncheck_for_update_on_startup = false\n[analytics]\nenabled = false\n[model_providers.mock]\nname = "mock"\nbase_url = "${codexModel.url}"\nwire_api = "responses"\nenv_key = "MOCK_API_KEY"\nrequest_max_retries = 0\nstream_max_retries = 0\n[projects.${JSON.stringify(root)}]\ntrust_level = "trusted"\n`);
    const codexEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: codexHome, CODEX_HOME: path.join(codexHome, '.codex'), MOCK_API_KEY: 'dummy', HUDDLE_ROLE: 'backend', HUDDLE_NAME: 'carol', NO_COLOR: '1' };
    const hooks = (await listCodexHooks(BIN.codex, root, codexEnv)).filter((h) => h.command.includes('.huddle/hook.sh'));
    fs.appendFileSync(path.join(codexHome, '.codex/config.toml'), hooks.map((h) => `[hooks.state.${JSON.stringify(h.key)}]\ntrusted_hash = ${JSON.stringify(h.currentHash)}\n`).join(''));

    // dave (Gemini CLI).
    const geminiHome = tempDir('huddle-team-gemini-');
    fs.mkdirSync(path.join(geminiHome, '.gemini'));
    fs.writeFileSync(path.join(geminiHome, '.gemini/settings.json'), JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } }, privacy: { usageStatisticsEnabled: false }, telemetry: { enabled: false }, general: { enableAutoUpdate: false, enableAutoUpdateNotification: false } }));
    const geminiModel = await mockGemini([
      { call: 'write_file', args: { file_path: file('src/gemini.ts'), content: 'export const gemini = 1;\n' } },
      { call: 'replace', args: { file_path: file('src/codex.ts'), old_string: 'codex = 1', new_string: 'codex = 2', instruction: 'bump' } },
      { text: 'Done.', before: async () => { done.gemini = true; await waitFor('the Claude sessions', () => done.bob && done.erin); } },
    ]);
    onCleanup(() => geminiModel.close());
    const geminiEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: geminiHome, GEMINI_API_KEY: 'dummy', GOOGLE_GEMINI_BASE_URL: geminiModel.url, GEMINI_CLI_TRUST_WORKSPACE: 'true', HUDDLE_ROLE: 'frontend', HUDDLE_NAME: 'dave', NO_COLOR: '1' };

    // bob and erin (Claude Code).
    const bobModel = await mockAnthropic([
      { tool: 'Read', input: { file_path: file('src/codex.ts') } },
      { tool: 'Edit', input: { file_path: file('src/codex.ts'), old_string: 'codex = 1', new_string: 'codex = 3' } },
      { tool: 'Bash', input: { command: 'echo hacked > src/gemini.ts', description: 'write' } },
      { tool: 'Write', input: { file_path: file('src/bob.ts'), content: 'export const bob = 1;\n' } },
      { text: 'Done.' },
    ], { beforeMain: async (i) => { if (i === 4) { done.bob = true; await waitFor('erin', () => done.erin); } } });
    const erinModel = await mockAnthropic([
      { tool: 'Read', input: { file_path: file('src/bob.ts') } },
      { tool: 'Edit', input: { file_path: file('src/bob.ts'), old_string: 'bob = 1', new_string: 'bob = 2' } },
      { text: 'Done.' },
    ], { beforeMain: async (i) => { if (i === 0) await waitFor('bob\'s lock', holds('bob', 'src/bob.ts')); if (i === 2) done.erin = true; } });
    onCleanup(() => bobModel.close());
    onCleanup(() => erinModel.close());
    const claudeEnv = (name: string, url: string): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH, HOME: tempDir(`huddle-team-${name}-`), ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: 'dummy',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1', DISABLE_TELEMETRY: '1', DISABLE_ERROR_REPORTING: '1',
      HUDDLE_ROLE: 'tests', HUDDLE_NAME: name,
    });
    const claude = (name: string, url: string) => run(BIN.claude, ['-p', '--output-format', 'stream-json', '--verbose', '--model', 'claude-sonnet-4-5', '--allowedTools', 'Read,Edit,Write,Bash', '--', 'Change the files.'], root, claudeEnv(name, url), 140_000);

    const seen: Session[][] = [];
    const poll = setInterval(() => void state().then((s) => seen.push(s.sessions)).catch(() => {}), 100);
    onCleanup(() => clearInterval(poll));

    // Codex first; Gemini once carol holds her file; both Claude sessions once dave holds his.
    const carol = run(BIN.codex, ['exec', '--skip-git-repo-check', '--json', '--sandbox', 'danger-full-access', 'Change the files.'], root, codexEnv, 140_000);
    await waitFor('carol\'s lock', holds('carol', 'src/codex.ts'));
    const dave = run(BIN.gemini, ['-p', 'Change the files.', '--output-format', 'json', '--approval-mode', 'yolo', '-m', 'gemini-2.5-flash'], root, geminiEnv, 140_000);
    await waitFor('dave\'s lock', holds('dave', 'src/gemini.ts'));
    const [bob, erin] = await Promise.all([claude('bob', bobModel.url), claude('erin', erinModel.url)]);
    const [c, d] = await Promise.all([carol, dave]);
    clearInterval(poll);
    expect(gaveUp, 'a model answer stopped waiting for the rest of the team').toEqual([]);
    for (const [who, r] of Object.entries({ carol: c, dave: d, bob, erin })) expect(r.code, `${who}: ${r.stderr.slice(-1500)}\n${r.stdout.slice(-1500)}`).toBe(0);

    // Nobody's locked file changed; each one's own file is there.
    expect(fs.readFileSync(file('src/codex.ts'), 'utf8')).toBe('export const codex = 1;\n');
    expect(fs.readFileSync(file('src/gemini.ts'), 'utf8')).toBe('export const gemini = 1;\n');
    expect(fs.readFileSync(file('src/bob.ts'), 'utf8')).toBe('export const bob = 1;\n');

    // Each denial reached that agent's model, naming the holder.
    const geminiReplace = (geminiModel.requests[2]!.contents as Array<{ parts: Array<Record<string, any>> }>).flatMap((x) => x.parts).filter((p) => p.functionResponse?.name === 'replace');
    expect(JSON.stringify(geminiReplace)).toMatch(/locked by carol/);
    const results = (m: typeof bobModel) => (m.main().at(-1)!.messages as Array<{ content: unknown }>).flatMap((x) => (Array.isArray(x.content) ? x.content : [])).filter((x: any) => x.type === 'tool_result').map((x: any) => (typeof x.content === 'string' ? x.content : JSON.stringify(x.content)));
    expect(results(bobModel).filter((t) => /locked by carol/.test(t)).length, results(bobModel).join('\n')).toBe(1);
    expect(results(bobModel).filter((t) => /locked by dave/.test(t)).length, results(bobModel).join('\n')).toBe(1);
    expect(results(erinModel).filter((t) => /locked by bob/.test(t)).length, results(erinModel).join('\n')).toBe(1);
    // Each saw the others already here in its first context.
    expect(JSON.stringify(geminiModel.requests[0])).toContain('carol');
    expect(JSON.stringify(bobModel.main()[0])).toMatch(/carol[\s\S]*dave|dave[\s\S]*carol/);

    // Every session counted once (never a second one for its MCP server), all four live at once.
    const names = ['carol', 'dave', 'bob', 'erin'];
    for (const ss of seen) for (const n of names) expect(ss.filter((s) => s.name === n).length, JSON.stringify(ss)).toBeLessThanOrEqual(1);
    expect(seen.some((ss) => names.every((n) => ss.some((s) => s.name === n))), JSON.stringify(seen.at(-1))).toBe(true);
    expect(seen.every((ss) => ss.every((s) => names.includes(s.name))), JSON.stringify(seen.find((ss) => ss.some((s) => !names.includes(s.name))))).toBe(true);
    // All gone, and the locks their edits took with them.
    const end = await state();
    expect(end.sessions).toEqual([]);
    expect(end.locks).toEqual([]);
  }, 170_000);
});
