/**
 * One installer per agent for `huddle init`: which files wire it, how huddle's
 * entries merge into them (and come out again), how to detect that a project
 * or machine uses it, and what the user must do next. Claude Code's files
 * (.claude/settings.json, .mcp.json) are planned in init.ts itself.
 *
 * Agents with command hooks only run the shell shim (.huddle/hook.sh), never Node.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AgentKind } from '../src/agents/event.js';
import { shimCommand } from '../src/agents/shim.js';

type Json = Record<string, unknown>;
type Group = { matcher?: string; hooks?: Json[] } & Json;

export interface InstallCtx {
  root: string;
  /** huddle's command line as argv (e.g. ["node", "/x/huddle.js"]). */
  argv: string[];
  httpBase: string;
}

export interface FileEdit {
  file: string;
  /** The new text from the old (null: absent); returning `before` means no change. */
  install(before: string | null): string;
  /** Remove only huddle's entries from a file edited since init (uninstall). */
  strip(cur: string): string | null;
}

export interface Installer {
  agent: AgentKind;
  /** Project folders or files that say the project uses it. */
  markers: string[];
  /** Commands on PATH that say the machine has it. */
  commands: string[];
  files(ctx: InstallCtx): FileEdit[];
  /** What the user must do before the agent runs huddle's hooks, for this project root. */
  next(root: string): string;
}

export const SHIM_RE = /\.huddle\/hook\.sh["']?\s+[a-z-]+/;
const ourCommand = (h: unknown): boolean => !!h && typeof h === 'object' && typeof (h as Json).command === 'string' && SHIM_RE.test((h as Json).command as string);

export const pretty = (o: unknown): string => JSON.stringify(o, null, 2) + '\n';

export function parseJsonText(file: string, text: string | null): Json {
  if (text === null || text.trim() === '') return {};
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Json;
  } catch (err) {
    throw new Error(`${file} is not a JSON object (${(err as Error).message}); fix or move it, then run huddle init again`);
  }
}

/** A JSON file edit: `change` mutates the parsed object; unchanged content keeps the original bytes. */
function jsonEdit(file: string, change: (o: Json) => void, strip: (o: Json) => void): FileEdit {
  return {
    file,
    install(before) {
      const o = parseJsonText(file, before);
      const was = JSON.stringify(o);
      change(o);
      return before !== null && JSON.stringify(o) === was ? before : pretty(o);
    },
    strip(cur) {
      const o = parseJsonText(file, cur);
      const was = JSON.stringify(o);
      strip(o);
      return JSON.stringify(o) === was ? cur : pretty(o);
    },
  };
}

/** Claude-style hooks ({Event: [{matcher?, hooks: [handler]}]}): ours replaced where they stand, others kept. */
function mergeGroups(hooks: Record<string, Group[]>, ours: Record<string, Group>, isOurs: (h: unknown) => boolean): void {
  for (const [event, group] of Object.entries(ours)) {
    const groups = Array.isArray(hooks[event]) ? hooks[event] : [];
    const kept = groups.map((g) => (Array.isArray(g?.hooks) ? { ...g, hooks: g.hooks.filter((h) => !isOurs(h)) } : g)).filter((g) => !Array.isArray(g?.hooks) || g.hooks.length > 0);
    const at = groups.findIndex((g) => Array.isArray(g?.hooks) && g.hooks.some(isOurs));
    if (at >= 0 && at <= kept.length) kept.splice(at, 0, group);
    else kept.push(group);
    hooks[event] = JSON.stringify(kept) === JSON.stringify(groups) ? groups : kept;
  }
}

function stripGroups(o: Json, isOurs: (h: unknown) => boolean): void {
  const hooks = o.hooks as Record<string, Group[]> | undefined;
  if (!hooks || typeof hooks !== 'object') return;
  for (const event of Object.keys(hooks)) {
    if (!Array.isArray(hooks[event])) continue;
    const next = hooks[event].map((g) => (Array.isArray(g?.hooks) ? { ...g, hooks: g.hooks.filter((h) => !isOurs(h)) } : g)).filter((g) => !Array.isArray(g?.hooks) || g.hooks.length > 0);
    if (next.length === 0) delete hooks[event];
    else hooks[event] = next;
  }
  if (Object.keys(hooks).length === 0) delete o.hooks;
}

function mcpEntry(o: Json, key: string, entry: Json | null): void {
  const servers = (o[key] && typeof o[key] === 'object' ? o[key] : {}) as Json;
  if (entry === null) {
    const cur = servers.huddle as Json | undefined;
    if (cur && JSON.stringify(cur).includes('mcp') && JSON.stringify(cur).includes('huddle')) delete servers.huddle;
    if (Object.keys(servers).length === 0) delete o[key];
    else o[key] = servers;
    return;
  }
  o[key] = { ...servers, huddle: entry };
}

const TOML_BEGIN = '# >>> huddle (added by huddle init) >>>';
const TOML_END = '# <<< huddle <<<';

function withoutBlock(text: string): string {
  const a = text.indexOf(TOML_BEGIN);
  const b = a < 0 ? -1 : text.indexOf(TOML_END, a);
  if (a < 0 || b < 0) return text;
  let end = b + TOML_END.length;
  if (text[end] === '\n') end++;
  let start = a;
  if (start > 0 && text[start - 1] === '\n' && text[start - 2] === '\n') start--;
  return text.slice(0, start) + text.slice(end);
}

const tomlStr = (s: string) => JSON.stringify(s);

export const codexInstaller: Installer = {
  agent: 'codex',
  markers: ['.codex', 'AGENTS.md'],
  commands: ['codex'],
  // Measured on Codex 0.171.0: an untrusted folder disables the whole project .codex/ layer, and an
  // untrusted hook is skipped silently (`codex exec` never asks). Both are recorded in ~/.codex/config.toml.
  next: (root) =>
    `Codex runs these hooks only after two trust steps (until then it edits locked files unchecked): ` +
    `(1) run \`codex\` in ${root} and answer "Trust this folder?" with yes (or run \`codex exec --trust\` there once); ` +
    `(2) when codex then says "… hooks need review before they can run", choose "Trust all and continue" (later: /hooks). ` +
    `\`codex exec\` skips untrusted hooks without a word; \`huddle doctor\` checks both steps. Editing .codex/hooks.json re-arms the review, ` +
    `and so does a huddle init that changes huddle's hook command (init then says so).`,
  files(ctx) {
    const cmd = (timeout: number) => ({ type: 'command', command: shimCommand('codex'), timeout });
    const ours: Record<string, Group> = {
      SessionStart: { matcher: 'startup|resume|clear', hooks: [cmd(10)] },
      UserPromptSubmit: { hooks: [cmd(5)] },
      PreToolUse: { hooks: [cmd(5)] },
      PostToolUse: { hooks: [cmd(5)] },
      Stop: { hooks: [cmd(5)] },
      SessionEnd: { hooks: [cmd(2)] },
    };
    const block = `${TOML_BEGIN}\n[mcp_servers.huddle]\ncommand = ${tomlStr(ctx.argv[0])}\nargs = [${[...ctx.argv.slice(1), 'mcp'].map(tomlStr).join(', ')}]\nenv = { HUDDLE_AGENT = "codex" }\nstartup_timeout_sec = 20\n${TOML_END}\n`;
    return [
      jsonEdit('.codex/hooks.json', (o) => {
        if (!o.hooks || typeof o.hooks !== 'object') o.hooks = {};
        mergeGroups(o.hooks as Record<string, Group[]>, ours, ourCommand);
      }, (o) => stripGroups(o, ourCommand)),
      {
        file: '.codex/config.toml',
        install(before) {
          const text = before ?? '';
          const rest = withoutBlock(text);
          if (/^\s*\[mcp_servers\.huddle\]/m.test(rest)) return text; // someone else's entry: left alone
          const sep = rest === '' || rest.endsWith('\n\n') ? '' : rest.endsWith('\n') ? '\n' : '\n\n';
          const after = `${rest}${sep}${block}`;
          return after === text ? text : after;
        },
        strip: (cur) => withoutBlock(cur),
      },
    ];
  },
};

export const geminiInstaller: Installer = {
  agent: 'gemini',
  markers: ['.gemini', 'GEMINI.md'],
  commands: ['gemini'],
  // Measured on 0.61.0: in an untrusted folder `gemini -p` refuses to run and `--skip-trust` runs without project hooks.
  next: (root) =>
    `Gemini CLI loads .gemini/settings.json only in a trusted folder: run \`gemini\` in ${root} and choose "Trust folder" ` +
    `(or add ${JSON.stringify(root)}: "TRUST_FOLDER" to ~/.gemini/trustedFolders.json), then restart running gemini sessions. ` +
    `It then warns once that the project's hooks will run. Never use --skip-trust with huddle: it skips the hooks. \`huddle doctor\` checks the trust.`,
  files(ctx) {
    const cmd = (name: string) => ({ name, type: 'command', command: shimCommand('gemini'), timeout: 5000 });
    const ours: Record<string, Group> = {
      SessionStart: { hooks: [cmd('huddle-start')] },
      BeforeAgent: { hooks: [cmd('huddle-prompt')] },
      BeforeTool: { hooks: [cmd('huddle-guard')] },
      AfterTool: { hooks: [cmd('huddle-record')] },
      SessionEnd: { hooks: [cmd('huddle-end')] },
    };
    return [
      jsonEdit('.gemini/settings.json', (o) => {
        if (!o.hooks || typeof o.hooks !== 'object') o.hooks = {};
        mergeGroups(o.hooks as Record<string, Group[]>, ours, ourCommand);
        mcpEntry(o, 'mcpServers', { command: ctx.argv[0], args: [...ctx.argv.slice(1), 'mcp'], env: { HUDDLE_AGENT: 'gemini' }, timeout: 30000 });
      }, (o) => {
        stripGroups(o, ourCommand);
        mcpEntry(o, 'mcpServers', null);
      }),
    ];
  },
};

export const cursorInstaller: Installer = {
  agent: 'cursor',
  markers: ['.cursor', '.cursorrules'],
  commands: ['cursor', 'cursor-agent'],
  next: () => 'Cursor reads .cursor/hooks.json at start: restart Cursor and check Settings > Hooks lists huddle\'s. If Cursor also runs Claude Code hooks (third-party hooks), huddle sees one session either way.',
  files(ctx) {
    const cmd = (timeout: number, matcher?: string) => ({ command: shimCommand('cursor'), timeout, ...(matcher ? { matcher } : {}) });
    const ours: Record<string, Json> = {
      sessionStart: cmd(10),
      preToolUse: cmd(5, 'Write|Delete|Shell'),
      beforeShellExecution: cmd(5),
      afterFileEdit: cmd(5),
      // Delivery between tool calls: postToolUse is the Cursor event whose answer (additional_context) the agent reads.
      postToolUse: cmd(5),
      sessionEnd: cmd(5),
    };
    return [
      jsonEdit('.cursor/hooks.json', (o) => {
        if (typeof o.version !== 'number') o.version = 1;
        const hooks = (o.hooks && typeof o.hooks === 'object' ? o.hooks : {}) as Record<string, Json[]>;
        for (const [event, entry] of Object.entries(ours)) {
          const list = Array.isArray(hooks[event]) ? hooks[event] : [];
          const at = list.findIndex(ourCommand);
          const next = list.filter((h) => !ourCommand(h));
          next.splice(at >= 0 ? at : next.length, 0, entry);
          hooks[event] = JSON.stringify(next) === JSON.stringify(list) ? list : next;
        }
        o.hooks = hooks;
      }, (o) => {
        const hooks = o.hooks as Record<string, Json[]> | undefined;
        if (!hooks || typeof hooks !== 'object') return;
        for (const e of Object.keys(hooks)) {
          if (!Array.isArray(hooks[e])) continue;
          hooks[e] = hooks[e].filter((h) => !ourCommand(h));
          if (hooks[e].length === 0) delete hooks[e];
        }
      }),
      jsonEdit('.cursor/mcp.json', (o) => mcpEntry(o, 'mcpServers', { command: ctx.argv[0], args: [...ctx.argv.slice(1), 'mcp'], env: { HUDDLE_AGENT: 'cursor' } }), (o) => mcpEntry(o, 'mcpServers', null)),
    ];
  },
};

export const OPENCODE_PLUGIN = '.opencode/plugins/huddle.ts';

export function opencodePlugin(httpBase: string): string {
  return `// huddle plugin (written by huddle init; huddle init --uninstall removes it).
// Forwards opencode's session and tool events to the local huddle server; a denied
// tool call throws (the model sees the reason as the tool's error). Shapes verified
// against the real opencode 1.18.33 (test/agents-e2e/opencode.test.ts).
const HUB = (process.env.HUDDLE_HOOK_URL ?? ${JSON.stringify(httpBase)}) + "/hooks/opencode"

async function call(body: Record<string, unknown>): Promise<{ deny?: string; inject?: string }> {
  try {
    // x-huddle-pids: this opencode process, the parent of the huddle MCP server it starts (links the two).
    const headers: Record<string, string> = { "content-type": "application/json", "x-huddle-role": process.env.HUDDLE_ROLE ?? "", "x-huddle-name": process.env.HUDDLE_NAME ?? "", "x-huddle-pids": String(process.pid) }
    if (process.env.HUDDLE_TOKEN) headers.authorization = "Bearer " + process.env.HUDDLE_TOKEN
    const r = await fetch(HUB, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) })
    return r.ok ? await r.json() : {}
  } catch {
    return {} // no server: fail open
  }
}

export const Huddle = async ({ directory }: { directory: string }) => {
  const args = new Map<string, unknown>()
  // Per session this process works in: its start call to huddle (made on first sight, so a resumed
  // session that opencode never announces is hosted too) and the context to put in its system prompt.
  // opencode rebuilds the system prompt for every model call, so the start summary and the latest
  // changes are kept and pushed each time (the oldest changes drop out).
  // opencode keeps sessions on disk and sends no event when the process ends (session.deleted only
  // when the user deletes one): the sessions still here end when opencode disposes its plugins.
  const sessions = new Map<string, { started: Promise<void>; context: string[] }>()
  const seen = (id: string) => {
    let s = sessions.get(id)
    if (!s) {
      const fresh = { started: Promise.resolve(), context: [] as string[] }
      fresh.started = call({ event: "session.created", sessionID: id, directory }).then((d) => { if (d.inject) fresh.context.push(d.inject) })
      sessions.set(id, (s = fresh))
    }
    return s
  }
  return {
    event: async ({ event }: { event: { type: string; properties?: any } }) => {
      const id = event.properties?.sessionID ?? event.properties?.info?.id
      if (typeof id !== "string") return
      if (event.type === "session.created") await seen(id).started
      else if (event.type === "session.idle" && sessions.has(id)) await call({ event: "session.idle", sessionID: id, directory })
      else if (event.type === "session.deleted" && sessions.delete(id)) await call({ event: "session.deleted", sessionID: id, directory })
    },
    "tool.execute.before": async (input: { tool: string; sessionID: string; callID: string }, output: { args: unknown }) => {
      await seen(input.sessionID).started
      args.set(input.callID, output.args)
      const d = await call({ event: "tool.before", sessionID: input.sessionID, callID: input.callID, tool: input.tool, args: output.args, directory })
      if (d.deny) throw new Error(d.deny)
    },
    // Runs only when the tool succeeded; input.args is there in 1.18, the map covers releases without it.
    "tool.execute.after": async (input: { tool: string; sessionID: string; callID: string; args?: unknown }) => {
      const a = input.args ?? args.get(input.callID)
      args.delete(input.callID)
      await call({ event: "tool.after", sessionID: input.sessionID, callID: input.callID, tool: input.tool, args: a, directory })
    },
    "experimental.chat.system.transform": async (input: { sessionID?: string }, output: { system: string[] }) => {
      if (!input.sessionID) return
      const s = seen(input.sessionID)
      await s.started
      const d = await call({ event: "system", sessionID: input.sessionID, directory })
      if (d.inject) s.context.push(d.inject)
      if (s.context.length > 6) s.context.splice(1, s.context.length - 6)
      if (s.context.length) output.system.push(s.context.join("\\n\\n"))
    },
    dispose: async () => {
      const ids = [...sessions.keys()]
      sessions.clear()
      await Promise.all(ids.map((id) => call({ event: "exit", sessionID: id, directory })))
    },
  }
}
`;
}

export const opencodeInstaller: Installer = {
  agent: 'opencode',
  markers: ['.opencode', 'opencode.json'],
  commands: ['opencode'],
  next: () => 'opencode loads .opencode/plugins/huddle.ts and the MCP server at start: restart opencode (approve the huddle MCP server if it asks).',
  files(ctx) {
    const plugin = opencodePlugin(ctx.httpBase);
    return [
      { file: OPENCODE_PLUGIN, install: (before) => (before !== null && !before.startsWith('// huddle plugin') ? before : plugin), strip: (cur) => (cur.startsWith('// huddle plugin') ? null : cur) } as FileEdit,
      jsonEdit('opencode.json', (o) => {
        if (Object.keys(o).length === 0) o.$schema = 'https://opencode.ai/config.json';
        mcpEntry(o, 'mcp', { type: 'local', command: [...ctx.argv, 'mcp'], enabled: true, environment: { HUDDLE_AGENT: 'opencode' } });
      }, (o) => mcpEntry(o, 'mcp', null)),
    ];
  },
};

export const INSTALLERS: Installer[] = [codexInstaller, geminiInstaller, cursorInstaller, opencodeInstaller];

/** Whether an executable of this name is on PATH. */
export function onPath(name: string): boolean {
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

/** Agents this project (its folders) or this machine (commands on PATH) uses; Claude Code when none is found. */
export function detectAgents(root: string): AgentKind[] {
  const found: AgentKind[] = [];
  if (fs.existsSync(path.join(root, '.claude')) || fs.existsSync(path.join(root, '.mcp.json')) || onPath('claude')) found.push('claude-code');
  for (const i of INSTALLERS) if (i.markers.some((m) => fs.existsSync(path.join(root, m))) || i.commands.some(onPath)) found.push(i.agent);
  return found.length ? found : ['claude-code'];
}
