/**
 * Issue 16 with the real Claude Code (pinned 2.1.328) against the scripted mock Messages API, wired
 * by `huddle init`, talking to a real huddle server: a message sent with `huddle send` while the
 * session is in the middle of a multi-step tool loop is in the model's very next request; tool calls
 * with nothing new add nothing; an unanswered request addressed to the session keeps its stopping turn
 * going once, and then it stops. Only loopback is used; it takes a few seconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { CLI, cleanup, onCleanup, startServer, tempDir } from '../helpers.js';
import { agentBin, installed, run } from './harness.js';
import { isolatedEnv, runCli } from '../cli-run.js';
import { mockAnthropic } from './mock-anthropic.js';

const BIN = agentBin('claude-code', 'claude');
const have = installed('Claude Code delivery e2e', [BIN]);

afterEach(cleanup);


/** What the agent added to the conversation since the model's last answer: the last user message. */
function lastUser(body: Record<string, any>): string {
  const msgs = body.messages as Array<{ role: string; content: unknown }>;
  return JSON.stringify(msgs.filter((m) => m.role === 'user').at(-1));
}

const count = (hay: string, needle: string) => hay.split(needle).length - 1;

describe.skipIf(!have)('Claude Code 2.1.328 delivery while it works (real binary, mock model)', () => {
  it('a message sent mid-loop is in the next request; nothing when nothing is new; a request needing a reply holds the stop once', async () => {
    const server = await startServer();
    const home = tempDir('huddle-cc-home-');
    const root = path.join(tempDir(), 'repo');
    fs.mkdirSync(path.join(root, 'src'), { recursive: true });
    spawnSync('git', ['init', '-q', root]);
    for (const f of ['a', 'b', 'c']) fs.writeFileSync(path.join(root, `src/${f}.ts`), `export const ${f} = 1;\n`);
    fs.mkdirSync(path.join(root, '.huddle'));
    fs.writeFileSync(path.join(root, '.huddle/config.json'), JSON.stringify({ project: 'e2e-deliver' }));
    const init = spawnSync(process.execPath, [CLI, 'init', '--agent', 'claude-code', '--url', server.url, '--bin', `${process.execPath} ${CLI}`, '--no-guard'], { cwd: root, encoding: 'utf8', env: { ...process.env, HUDDLE_URL: '' } });
    expect(init.status, init.stderr).toBe(0);

    const sid = crypto.randomUUID();
    const lead = isolatedEnv({ HUDDLE_URL: server.url, HUDDLE_SESSION: 'lead-1', HUDDLE_NAME: 'lead', HUDDLE_ROLE: 'lead' });
    const send = async (...args: string[]) => {
      const r = await runCli(['send', sid, ...args], { cwd: root, env: lead });
      if (r.code !== 0) throw new Error(`huddle send failed: ${r.stderr}`);
    };
    const FYI = 'schema moved to v2, read src/schema.ts';
    const REQ = 'which port does your dev server use?';
    const errors: string[] = [];
    const file = (f: string) => ({ tool: 'Read', input: { file_path: path.join(root, `src/${f}.ts`) } });
    const model = await mockAnthropic([file('a'), file('b'), file('c'), { text: 'All done.' }, { text: 'Port 5173; replying now.' }], {
      beforeMain: async (i) => {
        try {
          // Mid-loop: after the first tool ran, while Claude Code waits for the model.
          if (i === 1) await send(FYI);
          // Just before the turn ends: a request addressed to this very session.
          if (i === 3) await send(REQ, '--needs-reply');
        } catch (err) {
          errors.push((err as Error).message);
        }
      },
    });
    onCleanup(() => model.close());
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
    const r = await run(BIN, ['-p', '--output-format', 'stream-json', '--verbose', '--model', 'claude-sonnet-4-5', '--session-id', sid, '--allowedTools', 'Read', '--debug-file', path.join(home, 'debug.log'), '--', 'Read the files.'], root, env, 60_000);
    expect(errors).toEqual([]);
    expect(r.code, `${r.stderr}\n${r.stdout.slice(-2000)}`).toBe(0);

    const main = model.main();
    // 4 scripted answers, then exactly one more: the stop was held once, and then allowed.
    expect(main.length, JSON.stringify(main.map(lastUser)).slice(0, 3000)).toBe(5);
    // After the first Read nothing was new: the tool result carries no huddle text.
    expect(lastUser(main[1])).toContain('tool_result');
    expect(lastUser(main[1])).not.toContain('huddle');
    // The message sent while the model was thinking is in the very next request (with the second Read's result), fenced and attributed.
    const next = lastUser(main[2]);
    expect(next).toContain(FYI);
    expect(next).toContain('huddle team context');
    expect(next).toContain('from lead');
    // Delivered once: the third Read adds nothing, and the whole conversation holds it once.
    expect(lastUser(main[3])).not.toContain('huddle');
    expect(count(JSON.stringify(main[4].messages), FYI)).toBe(1);
    // The stopping turn was kept going with the request and how to answer it.
    const held = lastUser(main[4]);
    expect(held).toContain(REQ);
    expect(held).toContain('huddle send --reply-to');
  }, 90_000);
});
