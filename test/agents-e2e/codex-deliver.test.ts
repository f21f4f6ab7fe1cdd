/**
 * Issue 16 with the real Codex CLI (pinned 0.171.0) against the scripted mock Responses API, wired
 * by `huddle init --agent codex`, talking to a real huddle server: a message sent with `huddle send`
 * while the session is in the middle of a multi-step tool loop is in the model's very next request;
 * tool calls with nothing new add nothing; an unanswered request addressed to the session keeps its
 * stopping turn going once, and then it stops. init ran in another checkout than the one Codex runs in,
 * and Codex starts in a subfolder (the hook commands find .huddle/hook.sh from the repository). The folder is trusted in config.toml; the hooks' own
 * review is bypassed with the flag (codex.test.ts takes the user's path for it). Only loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, cleanup, onCleanup, startServer, tempDir } from '../helpers.js';
import { agentBin, installed, run } from './harness.js';
import { isolatedEnv, runCli } from '../cli-run.js';
import { mockResponses } from './mock-openai.js';

const BIN = agentBin('codex', 'codex');
const have = installed('Codex delivery e2e', [BIN]);

afterEach(cleanup);


type Item = Record<string, any>;
const count = (hay: string, needle: string) => hay.split(needle).length - 1;

describe.skipIf(!have)('Codex 0.171.0 delivery while it works (real binary, mock model)', () => {
  it('a message sent mid-loop is in the next request; nothing when nothing is new; a request needing a reply holds the stop once', async () => {
    const server = await startServer();
    const home = tempDir('huddle-codex-home-');
    // init runs in one checkout; Codex runs in another (a teammate's), started in a subfolder: the
    // committed hook commands name no absolute path, and Codex runs hooks in the session's cwd.
    const first = path.join(tempDir(), 'where-init-ran');
    fs.mkdirSync(path.join(first, 'src'), { recursive: true });
    spawnSync('git', ['init', '-q', first]);
    for (const f of ['a', 'b', 'c']) fs.writeFileSync(path.join(first, `src/${f}.ts`), `export const ${f} = 1;\n`);
    fs.mkdirSync(path.join(first, '.huddle'));
    fs.writeFileSync(path.join(first, '.huddle/config.json'), JSON.stringify({ project: 'e2e-codex-deliver' }));
    const init = spawnSync(process.execPath, [CLI, 'init', '--agent', 'codex', '--url', server.url, '--bin', `${process.execPath} ${CLI}`, '--no-guard'], { cwd: first, encoding: 'utf8', env: { ...process.env, HUDDLE_URL: '' } });
    expect(init.status, init.stderr).toBe(0);
    const root = path.join(tempDir(), 'teammate', 'repo');
    fs.mkdirSync(path.dirname(root), { recursive: true });
    fs.renameSync(first, root);
    expect(fs.readFileSync(path.join(root, '.codex/hooks.json'), 'utf8')).not.toContain(first);

    const lead = isolatedEnv({ HUDDLE_URL: server.url, HUDDLE_SESSION: 'lead-1', HUDDLE_NAME: 'lead', HUDDLE_ROLE: 'lead' });
    // Codex's session id is its thread id, known only once SessionStart ran: ask the server.
    const codexSession = async () => {
      const st = (await (await fetch(`${server.url}/api/p/e2e-codex-deliver/state`)).json()) as { sessions: Array<{ id: string; agent: string }> };
      const ids = st.sessions.filter((s) => s.agent === 'codex').map((s) => s.id);
      if (ids.length !== 1) throw new Error(`expected one codex session, got ${JSON.stringify(ids)}`);
      return ids[0]!;
    };
    const errors: string[] = [];
    const send = async (...args: string[]) => {
      try {
        const r = await runCli(['send', await codexSession(), ...args], { cwd: root, env: lead });
        if (r.code !== 0) throw new Error(`huddle send failed: ${r.stderr}`);
      } catch (err) {
        errors.push((err as Error).message);
      }
    };
    const FYI = 'schema moved to v2, read src/schema.ts';
    const REQ = 'which port does your dev server use?';
    const model = await mockResponses([
      { cmd: 'cat a.ts' },
      // Mid-loop: after the first tool ran, while Codex waits for the model.
      { cmd: 'cat b.ts', before: () => send(FYI) },
      { cmd: 'cat c.ts' },
      // Just before the turn ends: a request addressed to this very session.
      { text: 'All done.', before: () => send(REQ, '--needs-reply') },
      { text: 'Port 5173; replying now.' },
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
      `[projects.${JSON.stringify(root)}]`,
      'trust_level = "trusted"',
      '',
    ].join('\n'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, CODEX_HOME: path.join(home, '.codex'), MOCK_API_KEY: 'dummy', HUDDLE_ROLE: 'frontend', HUDDLE_NAME: 'carol', NO_COLOR: '1' };
    const r = await run(BIN, ['exec', '--skip-git-repo-check', '--json', '--sandbox', 'danger-full-access', '--dangerously-bypass-hook-trust', 'Read the files.'], path.join(root, 'src'), env, 60_000);
    if (process.env.HUDDLE_E2E_DEBUG) console.log(JSON.stringify(model.requests.map((q) => (q.input as Item[]).map((i) => [i.type, i.role, JSON.stringify(i.content ?? i.output ?? i.arguments ?? '').slice(0, 400)])), null, 1).slice(0, 30000), r.stdout.slice(-3000), r.stderr.slice(-3000));
    expect(errors).toEqual([]);
    expect(r.code, `${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`).toBe(0);

    const reqs = model.requests.map((q) => q.input as Item[]);
    // Codex resends the whole conversation: what it added since the model's last answer is the tail.
    const added = (i: number) => reqs[i]!.slice(reqs[i - 1]!.length);
    // 4 scripted answers, then exactly one more: the stop was held once, and then allowed.
    expect(reqs.length, JSON.stringify(reqs.slice(1).map((_, i) => added(i + 1))).slice(0, 3000)).toBe(5);
    // After the first tool nothing was new: the call and its output, no huddle text.
    expect(added(1).map((i) => i.type)).toEqual(['function_call', 'function_call_output']);
    expect(JSON.stringify(added(1))).toContain('export const a = 1;');
    expect(JSON.stringify(added(1))).not.toContain('huddle');
    // The message sent while the model was thinking is in the very next request: Codex 0.171.0 puts the
    // PostToolUse additionalContext as a developer message between the call and its output.
    expect(added(2).map((i) => [i.type, i.role ?? null])).toEqual([['function_call', null], ['message', 'developer'], ['function_call_output', null]]);
    const dev = JSON.stringify(added(2)[1]);
    expect(dev).toContain(FYI);
    expect(dev).toContain('huddle team context');
    expect(dev).toContain('from lead');
    // Delivered once: the third tool adds nothing, and the whole conversation holds it once.
    expect(JSON.stringify(added(3))).not.toContain('huddle');
    expect(count(JSON.stringify(reqs[4]), FYI)).toBe(1);
    // Stop `decision:"block"` kept the turn going: Codex sends the reason as a user message (a <hook_prompt>)
    // after the model's last answer, with the request and how to answer it.
    const held = added(4);
    expect(held.map((i) => [i.type, i.role])).toEqual([['message', 'assistant'], ['message', 'user']]);
    expect(JSON.stringify(held[1])).toContain('hook_prompt');
    expect(JSON.stringify(held[1])).toContain(REQ);
    expect(JSON.stringify(held[1])).toContain('huddle send --reply-to');
  }, 90_000);
});
