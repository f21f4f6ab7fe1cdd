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
import { GITIGNORE_NOTE, nextSteps, withIgnores } from '../init-gitignore.js';

export interface InitFlags {
  dryRun?: boolean;
  uninstall?: boolean;
  commandHooks?: boolean;
  url?: string;
  project?: string;
  role?: string;
  guard?: boolean;
  bin?: string;
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
  if (o.type === 'command' && typeof o.command === 'string') return /(^|[\s/"'])huddle(\.js)?["']?\s+hook(\s|$)/.test(o.command);
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
    PostToolUse: { matcher: TOOL_MATCHER, hooks: [http] },
    SessionEnd: { hooks: [cmd] },
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

function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
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
}

async function planInstall(root: string, flags: InitFlags): Promise<InitResult> {
  const { resolveConfig, httpOf, normalizeServerUrl } = await import('../config.js');
  const notes: string[] = [];
  const bin = flags.bin ?? defaultBin();
  const cfg = resolveConfig({ url: flags.url, project: flags.project, role: flags.role }, root, { ...process.env, HUDDLE_SESSION: undefined, CLAUDE_CODE_SESSION_ID: undefined });
  const httpBase = flags.url ? httpOf(normalizeServerUrl(flags.url)) : cfg.httpUrl;
  const plans: Plan[] = [];

  // .claude/settings.json
  const sPath = path.join(root, SETTINGS);
  const sBefore = readText(sPath);
  const settings = parseJson(SETTINGS, sBefore);
  const beforeObj = JSON.stringify(settings);
  mergeHooks(settings, ourHooks({ bin, hookUrl: `${httpBase}${HOOK_PATH}`, commandHooks: !!flags.commandHooks }));
  plans.push({ file: SETTINGS, before: sBefore, after: JSON.stringify(settings) === beforeObj ? sBefore : pretty(settings) });

  // .mcp.json
  const mPath = path.join(root, MCP);
  const mBefore = readText(mPath);
  const mcp = parseJson(MCP, mBefore);
  const servers = (mcp.mcpServers && typeof mcp.mcpServers === 'object' ? mcp.mcpServers : {}) as Json;
  const [command, ...prefix] = bin.startsWith('node ') ? ['node', JSON.parse(bin.slice(5)) as string] : [bin];
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
  if (!flags.commandHooks) notes.push('SessionStart and SessionEnd use command hooks (`huddle hook`): Claude Code runs only command hooks for those events');
  return { root, plans, notes };
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
      plans.push({ file, before: cur, after: stripHooks(o) ? pretty(o) : cur });
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
  const { discoverServer } = await import('../../src/node/server-file.js');
  const next = flags.uninstall || flags.dryRun ? '' : nextSteps(discoverServer()?.url ?? null);
  return { output: show(result, !!flags.dryRun, !!flags.uninstall) + next, result };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Wire this project for Claude Code: hooks in .claude/settings.json, the MCP server in .mcp.json, .huddle/config.json, a git pre-commit guard.')
    .option('--dry-run', 'print the changes without writing anything')
    .option('--uninstall', 'remove what huddle init added (restores the original files)')
    .option('--command-hooks', 'use `huddle hook` command hooks for every event instead of HTTP hooks')
    .option('--no-guard', 'do not install the git pre-commit guard')
    .option('--bin <command>', 'how hooks and .mcp.json run huddle (default: huddle if on PATH, else node <this script>)')
    .addHelpText('after', `
Running it again changes nothing; --uninstall restores the files byte for byte when they were not edited
since, and otherwise removes only huddle's entries. The global --url, --project and --role
go into .huddle/config.json (and --url into the hook URLs). Claude Code reads hooks at start: restart sessions.`)
    .action(async (_opts: unknown, cmd: Command) => {
      try {
        const { output } = await runInit(process.cwd(), cmd.optsWithGlobals() as InitFlags);
        process.stdout.write(output);
      } catch (err) {
        process.stderr.write(`huddle init: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
