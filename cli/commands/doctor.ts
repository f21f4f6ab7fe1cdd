/**
 * `huddle doctor`: for each agent wired in this project, is it wired, is the
 * server reachable, are its hooks trusted (Codex: the folder and each hook,
 * asked of `codex app-server`; see cli/codex-trust.ts), does a probe through its hook path
 * answer. One line each, with the fix; exit 1 when something is off.
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SHIM_FILE } from '../../src/agents/shim.js';

interface Check {
  agent: string;
  ok: boolean;
  what: string;
  fix?: string;
}

const read = (f: string): string | null => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return null;
  }
};

const real = (p: string): string => {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
};

const WIRING: Record<string, { file: string; mark: RegExp }> = {
  'claude-code': { file: '.claude/settings.json', mark: /\/hooks\/claude-code|huddle(\.js)?["']?\s+hook/ },
  codex: { file: '.codex/hooks.json', mark: /hook\.sh\\?["']?\s+codex/ },
  gemini: { file: '.gemini/settings.json', mark: /hook\.sh\\?["']?\s+gemini/ },
  cursor: { file: '.cursor/hooks.json', mark: /hook\.sh\\?["']?\s+cursor/ },
  opencode: { file: '.opencode/plugins/huddle.ts', mark: /huddle plugin/ },
};

export async function runDoctor(cwd: string, opts: { url?: string; json?: boolean }): Promise<{ checks: Check[]; text: string; code: number }> {
  const { resolveConfig } = await import('../config.js');
  const cfg = resolveConfig({ url: opts.url }, cwd);
  const root = cfg.root;
  const checks: Check[] = [];
  let reachable = false;
  try {
    const r = await fetch(`${cfg.httpUrl}/healthz`, { signal: AbortSignal.timeout(3000) });
    reachable = r.ok;
  } catch {
    reachable = false;
  }
  checks.push({ agent: 'server', ok: reachable, what: reachable ? `server answers at ${cfg.httpUrl}` : `no server at ${cfg.httpUrl}`, fix: reachable ? undefined : 'start one: huddle serve (or npm start in the huddle clone)' });
  for (const [agent, w] of Object.entries(WIRING)) {
    const text = read(path.join(root, w.file));
    if (text === null || !w.mark.test(text)) continue;
    // A hook file from before hook commands were portable names one checkout's script by absolute path:
    // committed, it runs another checkout's copy (or none) for teammates.
    const elsewhere = [...text.matchAll(/"sh \\"(\/[^"\\]*)\/\.huddle\/hook\.sh\\"/g)].map((m) => m[1]!).filter((dir) => real(dir) !== real(root));
    if (elsewhere.length > 0) {
      checks.push({ agent, ok: false, what: `${w.file} runs ${elsewhere[0]}/${SHIM_FILE}, another checkout's hook script`, fix: `huddle init --agent ${agent} (the command then finds the script from the repository${agent === 'codex' ? '; Codex asks to trust the changed hooks once' : ''})` });
      continue;
    }
    checks.push({ agent, ok: true, what: `wired in ${w.file}` });
    if (agent === 'codex') {
      const { codexTrust } = await import('../codex-trust.js');
      checks.push({ agent, ...(await codexTrust(root)) });
    }
    if (agent === 'gemini') {
      const { geminiTrusted } = await import('../gemini-trust.js');
      checks.push({ agent, ...geminiTrusted(root) });
    }
    if (!reachable) continue;
    // Probe through the same path the agent uses: the shim for command-hook agents, HTTP otherwise.
    const shim = path.join(root, SHIM_FILE);
    let answered = false;
    if (agent !== 'claude-code' && agent !== 'opencode' && fs.existsSync(shim)) {
      const r = spawnSync('sh', [shim, agent], { input: '{"huddle_probe":true}', encoding: 'utf8', timeout: 10_000, env: { ...process.env, HUDDLE_HOOK_URL: process.env.HUDDLE_HOOK_URL || cfg.httpUrl } });
      answered = r.status === 0 && r.stdout.includes('"ok":true');
    } else {
      try {
        const r = await fetch(`${cfg.httpUrl}/hooks/${agent}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"huddle_probe":true}', signal: AbortSignal.timeout(3000) });
        answered = r.ok;
      } catch {
        answered = false;
      }
    }
    checks.push({ agent, ok: answered, what: answered ? 'probe hook answered' : 'probe hook got no answer', fix: answered ? undefined : `run huddle init --agent ${agent} again; check curl is installed` });
  }
  if (checks.length === 1) checks.push({ agent: 'init', ok: false, what: 'no agent is wired in this project', fix: 'run huddle init' });
  const text = checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.agent.padEnd(11)} ${c.what}${c.fix ? ` — fix: ${c.fix}` : ''}`).join('\n') + '\n';
  return { checks, text, code: checks.every((c) => c.ok) ? 0 : 1 };
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('Check each agent wired here: hooks in place, server reachable, hooks trusted, a probe hook answers.')
    .option('--json', 'one JSON array of checks')
    .addHelpText('after', `
Examples:
  $ huddle doctor          # one line per check, with the fix; exit 1 when something is off
  $ huddle doctor --json   # the checks as one JSON array

Codex: asks Codex itself (\`codex app-server\`, hooks/list) whether this folder and each of huddle's hooks
are trusted; the codex on PATH, or HUDDLE_CODEX_BIN. Without one, ~/.codex/config.toml is read
(CODEX_HOME moves it). Gemini CLI: the folder's trust in ~/.gemini/trustedFolders.json.`)
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { url?: string; json?: boolean };
      try {
        const r = await runDoctor(process.cwd(), opts);
        process.stdout.write(opts.json ? JSON.stringify(r.checks) + '\n' : r.text);
        process.exitCode = r.code;
      } catch (err) {
        process.stderr.write(`huddle: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
