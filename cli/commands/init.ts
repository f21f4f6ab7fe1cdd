/**
 * `huddle init`: wire a project for Claude Code.
 *
 *   .claude/settings.json   hooks: PreToolUse, PostToolUse, UserPromptSubmit as HTTP hooks to the
 *                           local server (or `huddle hook` command hooks with --command-hooks);
 *                           SessionStart and SessionEnd always as command hooks (Claude Code runs
 *                           only command hooks for those two events)
 *   .mcp.json               the `huddle mcp` stdio server
 *   .huddle/config.json     project, and url/role when given
 *   .git/hooks/pre-commit   `huddle guard` (unless --no-guard)
 *
 * Existing entries are left as they are; running it again changes nothing.
 * What it changed is remembered in .huddle/init.json (with the original
 * bytes of each file), so `--uninstall` restores the originals exactly, or,
 * for a file edited since, removes only huddle's entries.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { HOOK_PATH } from '../../src/protocol/constants.js';
import { AGENT_KINDS, type AgentKind } from '../../src/agents/event.js';
import { INSTALLERS, detectAgents, onPath } from '../agents-install.js';
import { SHIM_FILE, SHIM_MARK, shimScript } from '../../src/agents/shim.js';
import { GITIGNORE_NOTE, nextSteps, withIgnores } from '../init-gitignore.js';
import { isOurMcp, mergeHooks, ourHooks, type Json } from '../init-claude-hooks.js';
import { gitDir, withGuard } from '../init-guard.js';
import { CONFIG, MANIFEST, MCP, SETTINGS, apply, parseJson, pretty, readText, show, type InitResult, type Plan } from '../init-files.js';
import { planUninstall } from '../init-uninstall.js';
import { ExitError, EXIT_USAGE } from '../errors.js';

export { isOurHook, mergeHooks, ourHooks, stripHooks } from '../init-claude-hooks.js';
export type { InitResult } from '../init-files.js';

export interface InitFlags {
  dryRun?: boolean;
  uninstall?: boolean;
  commandHooks?: boolean;
  url?: string;
  project?: string;
  role?: string;
  guard?: boolean;
  bin?: string;
  /** Comma-separated agent kinds to wire (default: those detected). */
  agent?: string;
}

/** A command line split as a shell splits words (quotes, backslashes): `node "/a b/huddle.js"` → [node, /a b/huddle.js]. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | null = null;
  let any = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else cur += c;
  }
  if (quote) throw new Error(`unbalanced quote in --bin ${JSON.stringify(line)}`);
  if (cur || any) out.push(cur);
  if (out.length === 0) throw new Error('--bin is empty');
  return out;
}

/** Agent kinds from --agent, or those detected. */
export function selectedAgents(root: string, flag: string | undefined): AgentKind[] {
  if (!flag) return detectAgents(root);
  const out: AgentKind[] = [];
  for (const raw of flag.split(',').map((x) => x.trim()).filter(Boolean)) {
    const a = (raw === 'claude' ? 'claude-code' : raw === 'gemini-cli' ? 'gemini' : raw) as AgentKind;
    if (!AGENT_KINDS.includes(a)) throw new Error(`unknown agent "${raw}" (one of ${AGENT_KINDS.join(', ')})`);
    if (!out.includes(a)) out.push(a);
  }
  if (out.length === 0) throw new Error('--agent names no agent');
  return out;
}

function defaultBin(): string {
  if (process.env.HUDDLE_BIN) return process.env.HUDDLE_BIN;
  if (onPath('huddle')) return 'huddle';
  const script = process.argv[1] ? path.resolve(process.argv[1]) : 'huddle';
  return `node ${JSON.stringify(script)}`;
}

async function planInstall(root: string, flags: InitFlags): Promise<InitResult> {
  const { resolveConfig, httpOf, normalizeServerUrl } = await import('../config.js');
  const notes: string[] = [];
  const bin = flags.bin ?? defaultBin();
  const cfg = resolveConfig({ url: flags.url, project: flags.project, role: flags.role }, root, { ...process.env, HUDDLE_SESSION: undefined, CLAUDE_CODE_SESSION_ID: undefined });
  const httpBase = flags.url ? httpOf(normalizeServerUrl(flags.url)) : cfg.httpUrl;
  const plans: Plan[] = [];
  const agents = selectedAgents(root, flags.agent);
  const argv = splitCommand(bin);
  const next: string[] = [];

  for (const inst of INSTALLERS) {
    if (!agents.includes(inst.agent)) continue;
    for (const edit of inst.files({ root, argv, httpBase })) {
      const before = readText(path.join(root, edit.file));
      const after = edit.install(before);
      plans.push({ file: edit.file, before, after });
      // Codex trusts a hook by the hash of its command: a changed command (such as the move from an
      // absolute path to the repository-relative one) must be reviewed again, or Codex skips it silently.
      if (inst.agent === 'codex' && edit.file === '.codex/hooks.json' && before !== null && /hook\.sh\\?["']?\s+codex/.test(before) && after !== before) {
        notes.push('.codex/hooks.json: huddle\'s hook commands changed, so Codex counts them as modified: trust them again once (run `codex`, "Trust all and continue", or /hooks); until then Codex skips them');
      }
    }
    next.push(`${inst.agent}: ${inst.next(root)}`);
  }
  if (agents.some((a) => a !== 'claude-code')) {
    // The shell shim command hooks run (no Node start-up per tool call).
    const before = readText(path.join(root, SHIM_FILE));
    const want = shimScript(httpBase);
    if (before !== null && !before.includes(SHIM_MARK)) notes.push(`${SHIM_FILE} exists and is not huddle's; left as it is`);
    plans.push({ file: SHIM_FILE, before, after: before !== null && !before.includes(SHIM_MARK) ? before : want, mode: 0o755 });
  }
  if (agents.includes('claude-code')) planClaude(root, flags, bin, argv, httpBase, plans, notes);
  if (agents.includes('claude-code')) next.unshift('claude-code: Claude Code reads hooks and .mcp.json at start: restart running sessions.');
  planCommon(root, flags, cfg, bin, plans, notes);
  return { root, plans, notes, next, agents };
}

function planClaude(root: string, flags: InitFlags, bin: string, argv: string[], httpBase: string, plans: Plan[], notes: string[]): void {
  // .claude/settings.json
  const sPath = path.join(root, SETTINGS);
  const sBefore = readText(sPath);
  const settings = parseJson(SETTINGS, sBefore);
  const beforeObj = JSON.stringify(settings);
  mergeHooks(settings, ourHooks({ bin, hookUrl: `${httpBase}${HOOK_PATH}`, commandHooks: !!flags.commandHooks }));
  // Pre-approve huddle's project MCP server (interactive start otherwise asks, with "no" preselected).
  const enabled = Array.isArray(settings.enabledMcpjsonServers) ? (settings.enabledMcpjsonServers as unknown[]) : [];
  if (!enabled.includes('huddle')) settings.enabledMcpjsonServers = [...enabled, 'huddle'];
  plans.push({ file: SETTINGS, before: sBefore, after: JSON.stringify(settings) === beforeObj ? sBefore : pretty(settings) });

  // .mcp.json
  const mPath = path.join(root, MCP);
  const mBefore = readText(mPath);
  const mcp = parseJson(MCP, mBefore);
  const servers = (mcp.mcpServers && typeof mcp.mcpServers === 'object' ? mcp.mcpServers : {}) as Json;
  const [command, ...prefix] = argv;
  const want = { command, args: [...prefix, 'mcp'] };
  if (servers.huddle && !isOurMcp(servers.huddle)) {
    notes.push(`${MCP} already has an MCP server named "huddle" that is not huddle's; left as it is`);
    plans.push({ file: MCP, before: mBefore, after: mBefore });
  } else if (servers.huddle && JSON.stringify(servers.huddle) === JSON.stringify(want)) {
    plans.push({ file: MCP, before: mBefore, after: mBefore });
  } else {
    mcp.mcpServers = { ...servers, huddle: want };
    plans.push({ file: MCP, before: mBefore, after: pretty(mcp) });
  }
  if (!flags.commandHooks) notes.push('SessionStart uses a command hook (`huddle hook`): Claude Code runs only command hooks for it');
}

function planCommon(root: string, flags: InitFlags, cfg: { project: string }, bin: string, plans: Plan[], notes: string[]): void {
  // .huddle/config.json
  const cPath = path.join(root, CONFIG);
  const cBefore = readText(cPath);
  const conf = parseJson(CONFIG, cBefore);
  const cObj = JSON.stringify(conf);
  if (cBefore === null) {
    conf.project = cfg.project;
    if (flags.url) conf.url = flags.url;
    if (flags.role) conf.role = flags.role;
    conf.enforce = 'block';
    conf.autoLock = false;
  } else {
    if (flags.project) conf.project = flags.project;
    if (flags.url) conf.url = flags.url;
    if (flags.role) conf.role = flags.role;
  }
  plans.push({ file: CONFIG, before: cBefore, after: JSON.stringify(conf) === cObj && cBefore !== null ? cBefore : pretty(conf) });

  // .gitignore: local state out of git, config.json in (cli/init-gitignore.ts)
  const gd = gitDir(root);
  if (gd) {
    const gBefore = readText(path.join(root, '.gitignore'));
    plans.push({ file: '.gitignore', before: gBefore, after: withIgnores(gBefore) });
    notes.push(GITIGNORE_NOTE);
  }

  // .git/hooks/pre-commit
  if (flags.guard === false) notes.push('git pre-commit guard not installed (--no-guard)');
  else if (!gd) notes.push('not a git repository: no pre-commit guard (huddle guard) installed');
  else {
    const pPath = path.join(gd, 'hooks', 'pre-commit');
    const rel = path.relative(root, pPath).split(path.sep).join('/');
    const pBefore = readText(pPath);
    const after = withGuard(pBefore, bin);
    plans.push({ file: rel, before: pBefore, after: after === pBefore ? pBefore : after, mode: 0o755 });
  }
}

export async function runInit(cwd: string, flags: InitFlags): Promise<{ output: string; result: InitResult }> {
  const { gitRoot } = await import('../../src/node/repo.js');
  const root = gitRoot(cwd) ?? path.resolve(cwd);
  const result = flags.uninstall ? planUninstall(root) : await planInstall(root, flags);
  if (!flags.dryRun) apply(result, !!flags.uninstall);
  // The local server answers hooks only for folders it knows (relay/hook-config.ts): this is one now.
  if (!flags.dryRun && !flags.uninstall) {
    const { rememberRepo } = await import('../../src/node/known-repos.js');
    rememberRepo(root);
  }
  const { discoverServer } = await import('../../src/node/server-file.js');
  // Files to commit: what init wrote in the work tree, except its own record of this checkout.
  const shared = result.plans.filter((p) => p.after !== null && p.file !== MANIFEST && !p.file.startsWith('.git/') && !p.file.startsWith('..') && !path.isAbsolute(p.file)).map((p) => p.file);
  const next = flags.uninstall || flags.dryRun ? '' : nextSteps(discoverServer()?.url ?? null, [...new Set(shared)], result.next ?? []);
  return { output: show(result, !!flags.dryRun, !!flags.uninstall) + next, result };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Wire this project for its agents (Claude Code, Codex, Cursor, Gemini CLI, opencode): hooks, the MCP server, .huddle/config.json, a git pre-commit guard.')
    .option('--dry-run', 'print the changes without writing anything')
    .option('--uninstall', 'remove what huddle init added (restores the original files)')
    .option('--command-hooks', 'use `huddle hook` command hooks for every event instead of HTTP hooks')
    .option('--no-guard', 'do not install the git pre-commit guard')
    .option('--bin <command>', 'how hooks and .mcp.json run huddle, e.g. "node /path/huddle.js" (default: huddle if on PATH, else node <this script>)')
    .option('--agent <list>', `agents to wire, comma-separated: ${AGENT_KINDS.join(',')} (default: those the project's folders or the commands on PATH show; Claude Code when none)`)
    .addHelpText('after', `
Examples:
  $ huddle init                                   # this repository, the agents detected here
  $ huddle init --agent claude-code,codex --dry-run
  $ huddle --url wss://relay.example.com --role backend init
  $ huddle init --bin "node /opt/huddle/dist/cli/huddle.js"
  $ huddle init --uninstall

Running it again changes nothing; --uninstall restores the files byte for byte when they were not edited
since, and otherwise removes only huddle's entries. The global --url, --project and --role
go into .huddle/config.json (and --url into the hook URLs). Agents read hooks at start: restart sessions.
The local server answers hooks in the repositories init wired (and under the home and temp folders).
Files per agent: claude-code .claude/settings.json + .mcp.json; codex .codex/hooks.json + .codex/config.toml;
gemini .gemini/settings.json; cursor .cursor/hooks.json + .cursor/mcp.json; opencode .opencode/plugins/huddle.ts
+ opencode.json. Command hooks run .huddle/hook.sh (sh + curl), never Node.`)
    .action(async (_opts: unknown, cmd: Command) => {
      try {
        const { output } = await runInit(process.cwd(), cmd.optsWithGlobals() as InitFlags);
        process.stdout.write(output);
      } catch (err) {
        throw new ExitError(EXIT_USAGE, `init: ${(err as Error).message}`); // "huddle: init: ...", the prefix of every command
      }
    });
}
