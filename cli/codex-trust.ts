/**
 * Whether Codex will run huddle's project hooks. Two gates, both measured on
 * Codex 0.171.0: (1) the folder must be trusted, or Codex disables the whole
 * project `.codex/` layer ("Config, hooks, and exec policies from untrusted
 * folders stay disabled"; `codex exec` only warns); (2) each hook must be
 * trusted by its hash, or it is skipped silently. Codex records both in
 * `$CODEX_HOME/config.toml` (`[projects."<dir>"] trust_level = "trusted"`,
 * `[hooks.state."<hooks.json>:<event>:<group>:<i>"] trusted_hash = "sha256:…"`).
 *
 * The authoritative answer comes from Codex itself: `codex app-server`'s
 * `hooks/list` reports each hook it loaded for a folder with its
 * `trustStatus` and `currentHash`. Without a codex binary, the config file is
 * read (the hashes cannot be checked then).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { SHIM_RE } from './agents-install.js';

export interface CodexHook {
  key: string;
  eventName: string;
  command: string;
  currentHash: string;
  trustStatus: string;
}

export const codexHomeDir = (env: NodeJS.ProcessEnv = process.env): string => env.CODEX_HOME || path.join(env.HOME || os.homedir(), '.codex');

/** The hooks `hooks/list` reports, kept only when well-formed (the answer is untrusted input too). */
function hooksOf(result: unknown, cwd: string): CodexHook[] {
  const data = (result as { data?: unknown })?.data;
  if (!Array.isArray(data)) throw new Error('hooks/list answered without data');
  const out: CodexHook[] = [];
  for (const d of data) {
    if (!d || typeof d !== 'object' || (d as { cwd?: unknown }).cwd !== cwd || !Array.isArray((d as { hooks?: unknown }).hooks)) continue;
    for (const h of (d as { hooks: unknown[] }).hooks) {
      const o = h as Record<string, unknown>;
      if (o && typeof o.key === 'string' && typeof o.command === 'string' && typeof o.trustStatus === 'string') {
        out.push({ key: o.key, eventName: String(o.eventName ?? ''), command: o.command, currentHash: String(o.currentHash ?? ''), trustStatus: o.trustStatus });
      }
    }
  }
  return out;
}

/** Ask Codex (`codex app-server`, JSON-RPC on stdio) which hooks it loads for `cwd` and whether each is trusted. */
export function listCodexHooks(bin: string, cwd: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 10_000): Promise<CodexHook[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['app-server'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let buf = '';
    let done = false;
    const finish = (err: Error | null, hooks?: CodexHook[]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill();
      if (err) reject(err);
      else resolve(hooks!);
    };
    const timer = setTimeout(() => finish(new Error(`codex app-server gave no hooks/list answer in ${timeoutMs} ms`)), timeoutMs);
    const send = (m: Record<string, unknown>) => child.stdin.write(JSON.stringify({ jsonrpc: '2.0', ...m }) + '\n');
    child.on('error', (e) => finish(e));
    child.on('close', (code) => finish(new Error(`codex app-server exited (${code}) before answering`)));
    child.stdin.on('error', () => {});
    child.stdout.on('data', (d) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let m: { id?: unknown; result?: unknown; error?: { message?: string } };
        try {
          m = JSON.parse(line);
        } catch {
          continue;
        }
        if (m.id === 1) {
          send({ method: 'initialized', params: {} });
          send({ id: 2, method: 'hooks/list', params: { cwds: [cwd] } });
        } else if (m.id === 2) {
          if (m.error) finish(new Error(`hooks/list: ${m.error.message ?? 'error'}`));
          else {
            try {
              finish(null, hooksOf(m.result, cwd));
            } catch (e) {
              finish(e as Error);
            }
          }
        }
      }
    });
    send({ id: 1, method: 'initialize', params: { clientInfo: { name: 'huddle-doctor', version: '1' } } });
  });
}

export const HUDDLE_CODEX_EVENTS = ['session_start', 'user_prompt_submit', 'pre_tool_use', 'post_tool_use', 'stop', 'session_end'];

export interface CodexTrust {
  ok: boolean;
  what: string;
  fix?: string;
}

const TRUST_FOLDER = (root: string) => `run \`codex\` in ${root} and answer "Trust this folder?" with yes (or run \`codex exec --trust\` there once)`;
const TRUST_HOOKS = 'run `codex` here and choose "Trust all and continue" when it says hooks need review (or type /hooks and trust huddle\'s)';

/** The verdict from Codex's own hook list. */
export function judgeCodexHooks(hooks: CodexHook[], root: string): CodexTrust {
  const ours = hooks.filter((h) => SHIM_RE.test(h.command));
  if (ours.length === 0) return { ok: false, what: 'Codex does not load .codex/hooks.json here: the folder is not trusted (Codex disables untrusted project config)', fix: TRUST_FOLDER(root) };
  const untrusted = ours.filter((h) => h.trustStatus !== 'trusted' && h.trustStatus !== 'managed');
  if (untrusted.length) return { ok: false, what: `${untrusted.length} of huddle's ${ours.length} Codex hooks not trusted (${[...new Set(untrusted.map((h) => h.trustStatus))].join(', ')}): Codex skips them silently`, fix: TRUST_HOOKS };
  return { ok: true, what: `folder and all ${ours.length} hooks trusted (checked with codex app-server)` };
}

/** Without a codex binary: what the config file records (hashes unchecked). */
export function judgeCodexConfig(configText: string, root: string): CodexTrust {
  const section = (name: string): string | null => {
    const lines = configText.split('\n');
    const at = lines.findIndex((l) => {
      const t = l.trim();
      return t === `[projects.${JSON.stringify(name)}]` || t === `[projects.'${name}']`;
    });
    if (at < 0) return null;
    const body: string[] = [];
    for (const l of lines.slice(at + 1)) {
      if (/^\s*\[/.test(l)) break;
      body.push(l);
    }
    return body.join('\n');
  };
  let trustedFolder = false;
  for (let d = root; ; d = path.dirname(d)) {
    const s = section(d);
    if (s !== null) {
      trustedFolder = /^\s*trust_level\s*=\s*["']trusted["']/m.test(s);
      break;
    }
    if (path.dirname(d) === d) break;
  }
  if (!trustedFolder) return { ok: false, what: 'folder not trusted in Codex\'s config.toml: Codex disables .codex/hooks.json here', fix: TRUST_FOLDER(root) };
  const hooksFile = path.join(root, '.codex', 'hooks.json');
  const missing = HUDDLE_CODEX_EVENTS.filter((e) => !configText.split('\n').some((l) => l.includes('hooks.state') && l.includes(`${hooksFile}:${e}:`)));
  if (missing.length) return { ok: false, what: `hooks not trusted (no trusted_hash for ${missing.join(', ')}): Codex skips them silently`, fix: TRUST_HOOKS };
  return { ok: true, what: 'folder and hooks trusted in config.toml (hashes not checked: codex is not on PATH)' };
}

/** The codex executable to ask: HUDDLE_CODEX_BIN, else `codex` on PATH. */
export function findCodex(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.HUDDLE_CODEX_BIN) return env.HUDDLE_CODEX_BIN;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, 'codex');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

export async function codexTrust(root: string, env: NodeJS.ProcessEnv = process.env): Promise<CodexTrust> {
  const bin = findCodex(env);
  if (bin) {
    try {
      return judgeCodexHooks(await listCodexHooks(bin, root, env), root);
    } catch (err) {
      const r = judgeCodexConfig(readOr(path.join(codexHomeDir(env), 'config.toml')), root);
      return { ...r, what: `${r.what}; codex app-server could not be asked: ${(err as Error).message}` };
    }
  }
  return judgeCodexConfig(readOr(path.join(codexHomeDir(env), 'config.toml')), root);
}

function readOr(f: string): string {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}
