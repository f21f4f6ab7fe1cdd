/**
 * Huddle's entries in Claude Code's `.claude/settings.json` and `.mcp.json`:
 * how `huddle init` recognises them, builds them, merges them in and strips
 * them out again, leaving everyone else's entries as they stand.
 */
import { SHIM_RE } from './agents-install.js';

export type Json = Record<string, unknown>;
export type Group = { matcher?: string; hooks?: Json[] } & Json;

const TOOL_MATCHER = 'Edit|Write|MultiEdit|NotebookEdit|Bash';

export function isOurHook(h: unknown): boolean {
  const o = h as Json;
  if (!o || typeof o !== 'object') return false;
  if (o.type === 'http' && typeof o.url === 'string') return /\/hooks\/claude-code\/?$/.test(o.url);
  if (o.type === 'command' && typeof o.command === 'string') return /(^|[\s/"'])huddle(\.js)?["']?\s+hook(\s|$)/.test(o.command) || SHIM_RE.test(o.command);
  return false;
}

export function isOurMcp(v: unknown): boolean {
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
