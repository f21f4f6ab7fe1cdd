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
import fs from 'node:fs';
import path from 'node:path';
import { HOOK_PATH } from '../../src/protocol/constants.js';
import { AGENT_KINDS, type AgentKind } from '../../src/agents/event.js';
import { INSTALLERS, SHIM_RE, detectAgents, onPath, type FileEdit } from '../agents-install.js';
import { SHIM_FILE, SHIM_MARK, shimScript } from '../../src/agents/shim.js';
import { GITIGNORE_NOTE, nextSteps, withIgnores } from '../init-gitignore.js';
import { ExitError, EXIT_USAGE } from '../errors.js';

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

type Json = Record<string, unknown>;
type Group = { matcher?: string; hooks?: Json[] } & Json;

const MANIFEST = '.huddle/init.json';
const SETTINGS = '.claude/settings.json';
const MCP = '.mcp.json';
const CONFIG = '.huddle/config.json';
const TOOL_MATCHER = 'Edit|Write|MultiEdit|NotebookEdit|Bash';
const GUARD_BEGIN = '# >>> huddle guard (added by huddle init) >>>';
const GUARD_END = '# <<< huddle guard <<<';

interface Manifest {
  version: 1;
  files: Record<string, { original: string | null; written: string }>;
  dirs: string[];
}

export function isOurHook(h: unknown): boolean {
  const o = h as Json;
  if (!o || typeof o !== 'object') return false;
  if (o.type === 'http' && typeof o.url === 'string') return /\/hooks\/claude-code\/?$/.test(o.url);
  if (o.type === 'command' && typeof o.command === 'string') return /(^|[\s/"'])huddle(\.js)?["']?\s+hook(\s|$)/.test(o.command) || SHIM_RE.test(o.command);
  return false;
}

function isOurMcp(v: unknown): boolean {
  const o = v as { command?: unknown; args?: unknown };
  if (!o || typeof o !== 'object') return false;
  const all = [o.command, ...(Array.isArray(o.args) ? o.args : [])].filter((x) => typeof x === 'string').join(' ');
  return /huddle/.test(all) && /\bmcp\b/.test(all);
}

/** Remove huddle's hooks from a settings object. Returns whether anything was removed. */
export function stripHooks(settings: Json): boolean {
  const hooks = settings.hooks as Record<string, Group[]> | undefined;
  if (!hooks || typeof hooks !== 'object') return false;
  let changed = false;
  for (const event of Object.keys(hooks)) {
    const groups = hooks[event];
    if (!Array.isArray(groups)) continue;
    const next: Group[] = [];
    for (const g of groups) {
      if (!g || !Array.isArray(g.hooks)) {
        next.push(g);
        continue;
      }
      const kept = g.hooks.filter((h) => !isOurHook(h));
      if (kept.length !== g.hooks.length) changed = true;
      if (kept.length > 0) next.push(kept.length === g.hooks.length ? g : { ...g, hooks: kept });
    }
    if (next.length === 0) delete hooks[event];
    else hooks[event] = next;
  }
  if (Object.keys(hooks).length === 0) delete settings.hooks;
  return changed;
}

/** Our matcher groups, by event. */
export function ourHooks(opts: { bin: string; hookUrl: string; commandHooks: boolean }): Record<string, Group> {
  const cmd = { type: 'command', command: `${opts.bin} hook`, timeout: 10 };
  const http = opts.commandHooks
    ? cmd
    : {
        type: 'http',
        url: opts.hookUrl,
        timeout: 5,
        headers: { 'X-Huddle-Role': '$HUDDLE_ROLE', 'X-Huddle-Name': '$HUDDLE_NAME' },
        allowedEnvVars: ['HUDDLE_ROLE', 'HUDDLE_NAME'],
      };
  return {
    SessionStart: { hooks: [cmd] },
    UserPromptSubmit: { hooks: [http] },
    PreToolUse: { matcher: TOOL_MATCHER, hooks: [http] },
    // Every tool call, not only edits: delivery between tool calls (issue 16). PreToolUse stays narrow (a deny check).
    PostToolUse: { hooks: [http] },
    // A stop with an unanswered request addressed to this session is held once.
    Stop: { hooks: [http] },
    // SessionEnd takes HTTP hooks (only SessionStart needs a command hook).
    SessionEnd: { hooks: [http] },
  };
}

/** Merge our hooks into settings in place: a group of ours is replaced where it stands, others are left alone. */
export function mergeHooks(settings: Json, ours: Record<string, Group>): void {
  if (!settings.hooks || typeof settings.hooks !== 'object' || Array.isArray(settings.hooks)) settings.hooks = {};
  const hooks = settings.hooks as Record<string, Group[]>;
  for (const [event, group] of Object.entries(ours)) {
    const groups = Array.isArray(hooks[event]) ? hooks[event] : [];
    const idx = groups.findIndex((g) => Array.isArray(g?.hooks) && g.hooks.length > 0 && g.hooks.every(isOurHook));
    // Ours mixed into someone else's group: take them out of it first.
    const cleaned = groups.map((g, i) => (i === idx || !Array.isArray(g?.hooks) || !g.hooks.some(isOurHook) ? g : { ...g, hooks: g.hooks.filter((h) => !isOurHook(h)) })).filter((g) => !Array.isArray(g?.hooks) || g.hooks.length > 0);
    const at = idx >= 0 ? cleaned.indexOf(groups[idx]) : -1;
    if (at >= 0) cleaned[at] = group;
    else cleaned.push(group);
    hooks[event] = cleaned;
  }
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function parseJson(file: string, text: string | null): Json {
  if (text === null || text.trim() === '') return {};
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Json;
  } catch (err) {
    throw new Error(`${file} is not a JSON object (${(err as Error).message}); fix or move it, then run huddle init again`);
  }
}

const pretty = (o: unknown) => JSON.stringify(o, null, 2) + '\n';

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

function gitDir(root: string): string | null {
  const dotgit = path.join(root, '.git');
  try {
    const st = fs.statSync(dotgit);
    if (st.isDirectory()) return dotgit;
    const m = /gitdir:\s*(.+)/.exec(fs.readFileSync(dotgit, 'utf8'));
    return m ? path.resolve(root, m[1].trim()) : null;
  } catch {
    return null;
  }
}

function withGuard(text: string | null, bin: string): string {
  const block = `${GUARD_BEGIN}\n${bin} guard || exit 1\n${GUARD_END}\n`;
  if (text === null || text === '') return `#!/bin/sh\n${block}`;
  const stripped = withoutGuard(text);
  // Right after the shebang, so that an `exit` further down cannot skip it.
  if (stripped.startsWith('#!')) {
    const nl = stripped.indexOf('\n');
    return nl < 0 ? `${stripped}\n${block}` : `${stripped.slice(0, nl + 1)}${block}${stripped.slice(nl + 1)}`;
  }
  return `${block}${stripped}`;
}

function withoutGuard(text: string): string {
  const a = text.indexOf(GUARD_BEGIN);
  if (a < 0) return text;
  const b = text.indexOf(GUARD_END, a);
  if (b < 0) return text;
  let end = b + GUARD_END.length;
  if (text[end] === '\n') end++;
  return text.slice(0, a) + text.slice(end);
}

interface Plan {
  /** Repository-relative path. */
  file: string;
  before: string | null;
  after: string | null;
  mode?: number;
  note?: string;
}

export interface InitResult {
  root: string;
  plans: Plan[];
  notes: string[];
  /** What the user must do next, per agent. */
  next?: string[];
  agents?: AgentKind[];
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

function readManifest(root: string): Manifest | null {
  const t = readText(path.join(root, MANIFEST));
  if (t === null) return null;
  try {
    const m = JSON.parse(t) as Manifest;
    return m && m.files ? { version: 1, files: m.files, dirs: m.dirs ?? [] } : null;
  } catch {
    return null;
  }
}

function planUninstall(root: string): InitResult {
  const manifest = readManifest(root);
  const plans: Plan[] = [];
  const notes: string[] = [];
  const files = new Set<string>([SETTINGS, MCP, CONFIG, ...Object.keys(manifest?.files ?? {})]);
  const edits = new Map<string, FileEdit>();
  for (const inst of INSTALLERS) for (const e of inst.files({ root, argv: ['huddle'], httpBase: '' })) edits.set(e.file, e);
  const gd = gitDir(root);
  if (gd) files.add(path.relative(root, path.join(gd, 'hooks', 'pre-commit')).split(path.sep).join('/'));
  for (const file of files) {
    const abs = path.join(root, file);
    const cur = readText(abs);
    const entry = manifest?.files[file];
    if (entry && cur === entry.written) {
      plans.push({ file, before: cur, after: entry.original });
      continue;
    }
    if (cur === null) continue;
    // Edited since (or no record): take out only what is ours.
    if (file === SETTINGS) {
      const o = parseJson(file, cur);
      let changed = stripHooks(o);
      if (Array.isArray(o.enabledMcpjsonServers) && o.enabledMcpjsonServers.includes('huddle')) {
        o.enabledMcpjsonServers = o.enabledMcpjsonServers.filter((x: unknown) => x !== 'huddle');
        if ((o.enabledMcpjsonServers as unknown[]).length === 0) delete o.enabledMcpjsonServers;
        changed = true;
      }
      plans.push({ file, before: cur, after: changed ? pretty(o) : cur });
    } else if (file === MCP) {
      const o = parseJson(file, cur);
      const servers = o.mcpServers as Json | undefined;
      if (servers && isOurMcp(servers.huddle)) {
        delete servers.huddle;
        if (Object.keys(servers).length === 0) delete o.mcpServers;
        plans.push({ file, before: cur, after: pretty(o) });
      } else plans.push({ file, before: cur, after: cur });
    } else if (file.endsWith('pre-commit')) {
      let after: string | null = withoutGuard(cur);
      if (after.trim() === '#!/bin/sh' && entry?.original === null) after = null;
      plans.push({ file, before: cur, after });
    } else if (edits.has(file)) {
      plans.push({ file, before: cur, after: edits.get(file)!.strip(cur) });
    } else if (file === SHIM_FILE) {
      plans.push({ file, before: cur, after: cur.includes(SHIM_MARK) ? null : cur });
    } else if (file === CONFIG && entry) {
      notes.push(`${CONFIG} was changed after huddle init; left in place`);
    }
  }
  return { root, plans, notes };
}

function apply(result: InitResult, uninstall: boolean): void {
  const { root } = result;
  const manifest: Manifest = readManifest(root) ?? { version: 1, files: {}, dirs: [] };
  for (const p of result.plans) {
    if (p.after === p.before) continue;
    const abs = path.join(root, p.file);
    if (p.after === null) {
      fs.rmSync(abs, { force: true });
    } else {
      const dir = path.dirname(abs);
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        const relDir = path.relative(root, dir).split(path.sep).join('/');
        if (!uninstall && !relDir.startsWith('..') && !manifest.dirs.includes(relDir)) manifest.dirs.push(relDir);
      }
      fs.writeFileSync(abs, p.after);
      if (p.mode) fs.chmodSync(abs, p.mode);
    }
    if (!uninstall) {
      const prev = manifest.files[p.file];
      manifest.files[p.file] = { original: prev ? prev.original : p.before, written: p.after ?? '' };
    }
  }
  const mPath = path.join(root, MANIFEST);
  if (uninstall) {
    fs.rmSync(mPath, { force: true });
    // Folders init created, when nothing else lives in them now.
    for (const d of manifest.dirs.slice().sort((a, b) => b.length - a.length)) {
      try {
        fs.rmdirSync(path.join(root, d));
      } catch {
        /* not empty: keep */
      }
    }
  } else if (Object.keys(manifest.files).length > 0) {
    fs.mkdirSync(path.dirname(mPath), { recursive: true });
    fs.writeFileSync(mPath, pretty(manifest));
  }
}

function show(result: InitResult, dryRun: boolean, uninstall: boolean): string {
  const lines: string[] = [];
  const verb = (p: Plan) => (p.after === p.before ? 'unchanged' : p.before === null ? 'create' : p.after === null ? (uninstall ? 'remove' : 'delete') : uninstall ? 'restore' : 'update');
  for (const p of result.plans) {
    const v = verb(p);
    const past: Record<string, string> = { create: 'created', update: 'updated', restore: 'restored', remove: 'removed', delete: 'deleted', unchanged: 'unchanged' };
    lines.push(`${dryRun && v !== 'unchanged' ? `would ${v}` : past[v]} ${p.file}`);
    if (dryRun && p.after !== p.before && p.after !== null) lines.push(p.after.replace(/^/gm, '    ').replace(/\s+$/, ''));
  }
  for (const n of result.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
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
