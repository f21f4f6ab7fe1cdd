/** Small guards shared by the agent adapters: payloads are untrusted JSON. */
import path from 'node:path';
import { HookInputError, type AgentKind, type HookEvent, type HookEventKind, type WriteIntent } from './event.js';

export type Obj = Record<string, unknown>;

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

/** Header value, trimmed; undefined when absent or empty. */
export function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** A session id as agents send them: present, at most 200 characters. */
export function sessionId(v: unknown, field: string): string {
  const id = str(v);
  if (!id) throw new HookInputError(`missing "${field}"`);
  if (id.length > 200) throw new HookInputError(`${field} is longer than 200 characters`);
  return id;
}

/** The reported working directory: absolute, or the error. */
export function absCwd(v: unknown, field = 'cwd'): string {
  const cwd = str(v);
  if (!cwd) throw new HookInputError(`missing "${field}"`);
  if (!path.isAbsolute(cwd)) throw new HookInputError(`"${field}" must be an absolute path`);
  return cwd;
}

/** Overrides a hook carries: X-Huddle-* headers (HTTP hooks, the shim) win over a `huddle` object in the body (`huddle hook`). */
export function overrides(body: Obj, headers: Record<string, string | undefined>): Pick<HookEvent, 'role' | 'name' | 'project' | 'pids'> {
  const extra = obj(body.huddle);
  const pids: number[] = [];
  const raw = Array.isArray(extra.ancestors) ? extra.ancestors : [];
  const fromHeader = header(headers, 'x-huddle-pids');
  for (const p of [...(fromHeader ? fromHeader.split(',').map(Number) : []), ...raw].slice(0, 4)) if (typeof p === 'number' && Number.isInteger(p) && p > 1) pids.push(p);
  return {
    role: header(headers, 'x-huddle-role') ?? str(extra.role),
    name: header(headers, 'x-huddle-name') ?? str(extra.name),
    project: header(headers, 'x-huddle-project') ?? str(extra.project),
    pids: pids.length ? pids : undefined,
  };
}

export const lineCount = (t: string): number => (t === '' ? 0 : t.split('\n').length - (t.endsWith('\n') ? 1 : 0));

/** A whole-file write: lines 1..n of the new content. */
export function wholeFile(p: string, content: unknown, via: WriteIntent['via'] = 'tool'): WriteIntent {
  const n = typeof content === 'string' ? lineCount(content) : 0;
  return n > 0 ? { path: p, via, lines: [[1, n]] } : { path: p, via };
}

/** Line ranges from a unified-diff style hunk list ({newStart,newLines}) an agent reports after an edit. */
export function hunkRanges(patch: unknown): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (!Array.isArray(patch)) return out;
  for (const h of patch.slice(0, 50)) {
    const o = obj(h);
    const start = o.newStart;
    const n = o.newLines;
    if (typeof start === 'number' && typeof n === 'number' && Number.isFinite(start) && Number.isFinite(n)) {
      const first = Math.max(1, Math.floor(start));
      out.push([first, first + Math.max(1, Math.floor(n)) - 1]);
    }
  }
  return out.slice(0, 20);
}

/**
 * The skeleton the Claude-style payloads (Claude Code, Codex, Gemini CLI) share: `hook_event_name`
 * mapped to a kind (unknown names are activity), the session and cwd (validated), the overrides,
 * the prompt or start source, and for tool events the tool name and call id. The adapter adds what
 * its tools write. `session`/`cwd` override where the agent puts them (Cursor via Claude's hooks).
 */
export function baseEvent(
  agent: AgentKind,
  body: Obj,
  headers: Record<string, string | undefined>,
  kinds: Record<string, HookEventKind>,
  where: { session?: unknown; sessionField?: string; cwd?: unknown } = {},
): HookEvent {
  const name = str(body.hook_event_name);
  if (!name) throw new HookInputError('missing "hook_event_name"');
  const session = sessionId('session' in where ? where.session : body.session_id, where.sessionField ?? 'session_id');
  const cwd = absCwd('cwd' in where ? where.cwd : body.cwd);
  const kind = kinds[name] ?? 'activity';
  const ev: HookEvent = { agent, kind, session, cwd, writes: [], ...overrides(body, headers) };
  if (kind === 'session-start') ev.source = str(body.source);
  if (kind === 'prompt') ev.prompt = typeof body.prompt === 'string' ? body.prompt : undefined;
  if (kind === 'pre-tool' || kind === 'post-tool') {
    ev.tool = str(body.tool_name) ?? '';
    ev.toolUseId = str(body.tool_use_id);
  }
  return ev;
}
