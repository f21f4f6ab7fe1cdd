/**
 * `huddle hook`: a Claude Code command hook. Reads the hook input JSON on
 * stdin, forwards it to the local server's `POST /hooks/claude-code` and
 * prints the server's answer. Fails open: when no server answers (or anything
 * else goes wrong) it prints nothing, writes one short line to stderr and
 * exits 0, so Claude Code carries on as if huddle were not installed.
 */
import type { Command } from 'commander';
import fs from 'node:fs';

import { HOOK_PATH } from '../../src/protocol/constants.js';

function readStdin(timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const t = setTimeout(() => reject(new Error('no hook input on stdin')), timeoutMs);
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    process.stdin.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

async function post(url: URL, body: string, token: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(token ? { authorization: `Bearer ${token}` } : {}) };
  // The local server is plain http://: one request over node:net (http1.ts), as the thin commands do.
  if (url.protocol === 'http:') {
    const { http1Request } = await import('../http1.js');
    const res = await http1Request(url, { method: 'POST', headers, body: Buffer.from(body), timeoutMs });
    return { status: res.status, text: res.body.toString('utf8') };
  }
  // node:https (TLS, crypto) only for an https:// server: it costs a hook as much as the rest of its start-up.
  const https = (await import('node:https')).default;
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

export async function runHook(opts: { url?: string; timeout: number }): Promise<number> {
  const fail = (why: string): number => {
    process.stderr.write(`huddle hook: ${why}; continuing without huddle\n`);
    return 0;
  };
  let raw: string;
  try {
    raw = await readStdin(Math.max(1000, opts.timeout));
  } catch (err) {
    return fail((err as Error).message);
  }
  let input: Record<string, unknown>;
  try {
    const v = JSON.parse(raw);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    input = v as Record<string, unknown>;
  } catch (err) {
    return fail(`hook input is not JSON (${(err as Error).message})`);
  }
  const env = process.env;
  const cwd = typeof input.cwd === 'string' && input.cwd ? input.cwd : process.cwd();
  if (typeof input.session_id !== 'string' && env.CLAUDE_CODE_SESSION_ID) input.session_id = env.CLAUDE_CODE_SESSION_ID;
  let base: string;
  let token: string | undefined;
  try {
    const { resolveConfig } = await import('../config.js');
    const cfg = resolveConfig({ url: opts.url }, cwd);
    base = cfg.httpUrl;
    token = cfg.token;
  } catch (err) {
    return fail((err as Error).message);
  }
  // Facts only this process knows (its environment) travel with the input.
  // Our ancestors include the Claude Code process: an MCP server it started finds its session through them.
  const { ancestors } = await import('../../src/node/proc.js');
  input.huddle = { role: env.HUDDLE_ROLE || undefined, name: env.HUDDLE_NAME || undefined, project: env.HUDDLE_PROJECT || undefined, ancestors: ancestors(process.ppid) };
  let res: { status: number; text: string };
  try {
    res = await post(new URL(HOOK_PATH, base + '/'), JSON.stringify(input), token, opts.timeout);
  } catch (err) {
    const e = err as Error & { code?: string };
    return fail(`no huddle server reachable at ${base} (${e.code ?? e.message})`);
  }
  if (res.status !== 200) {
    let msg = res.text.slice(0, 200);
    try {
      msg = (JSON.parse(res.text) as { error?: string }).error ?? msg;
    } catch {
      /* keep the text */
    }
    return fail(`server answered ${res.status}: ${msg}`);
  }
  // Bash commands of this session run `huddle …` as the same session (SessionStart only offers CLAUDE_ENV_FILE).
  if (input.hook_event_name === 'SessionStart' && env.CLAUDE_ENV_FILE && typeof input.session_id === 'string' && /^[A-Za-z0-9._:@-]+$/.test(input.session_id)) {
    try {
      fs.appendFileSync(env.CLAUDE_ENV_FILE, `export HUDDLE_SESSION=${input.session_id}\n`);
    } catch {
      /* best effort */
    }
  }
  const text = res.text.trim();
  if (text && text !== '{}') process.stdout.write(text + '\n');
  return 0;
}

export function registerHook(program: Command): void {
  program
    .command('hook')
    .description('Claude Code command hook: forward the hook input on stdin to the huddle server and print its answer (fails open).')
    .option('--timeout <ms>', 'give up on the server after this long', (v) => Number(v), 5000)
    .addHelpText('after', `
Example:
  $ huddle hook < hook-input.json     # e.g. {"hook_event_name":"SessionStart","session_id":"s1","cwd":"."}

Configure in .claude/settings.json (huddle init does it), e.g.:
  { "hooks": { "SessionStart": [ { "hooks": [ { "type": "command", "command": "huddle hook" } ] } ] } }
With no server running, the hook prints nothing and exits 0 (a one-line note goes to stderr).`)
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { url?: string; timeout: number };
      const code = await runHook({ url: opts.url, timeout: Number.isFinite(opts.timeout) && opts.timeout > 0 ? opts.timeout : 5000 });
      process.exitCode = code;
    });
}
