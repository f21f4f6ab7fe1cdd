/**
 * Gemini CLI's hook wire format (`.gemini/settings.json`, command hooks run
 * through the shim). Its stdout must hold only JSON: anything else is read
 * as "allow", so an allowed call is an empty answer and a denial is
 * `{"decision":"deny","reason":…}`. BeforeTool cannot add context; per-turn
 * context goes through BeforeAgent, edits are recorded at AfterTool.
 *
 *   write_file {file_path, content}   replace {file_path, old_string, new_string}
 *   run_shell_command {command}
 */
import type { AgentAdapter, HookDecision, HookEvent, HookEventKind, RenderedReply, WriteIntent } from './event.js';
import { HookInputError } from './event.js';
import { absCwd, obj, overrides, sessionId, str, wholeFile } from './common.js';

const KINDS: Record<string, HookEventKind> = {
  SessionStart: 'session-start',
  BeforeAgent: 'prompt',
  BeforeTool: 'pre-tool',
  AfterTool: 'post-tool',
  AfterAgent: 'stop',
  SessionEnd: 'session-end',
};

export const GEMINI_WRITE_TOOLS = new Set(['write_file', 'replace', 'edit']);
export const GEMINI_SHELL_TOOLS = new Set(['run_shell_command']);

export const gemini: AgentAdapter = {
  agent: 'gemini',
  parse(raw, headers): HookEvent {
    const body = obj(raw);
    const name = str(body.hook_event_name);
    if (!name) throw new HookInputError('missing "hook_event_name"');
    const kind = KINDS[name] ?? 'activity';
    const ev: HookEvent = { agent: 'gemini', kind, session: sessionId(body.session_id, 'session_id'), cwd: absCwd(body.cwd), writes: [], ...overrides(body, headers) };
    if (kind === 'session-start') ev.source = str(body.source);
    if (kind === 'prompt') ev.prompt = typeof body.prompt === 'string' ? body.prompt : undefined;
    if (kind === 'pre-tool' || kind === 'post-tool') {
      const tool = str(body.tool_name) ?? '';
      const ti = obj(body.tool_input);
      ev.tool = tool;
      const file = str(ti.file_path) ?? str(ti.absolute_path) ?? str(ti.path);
      if (GEMINI_WRITE_TOOLS.has(tool) && file) {
        const w: WriteIntent = kind === 'post-tool' && tool === 'write_file' ? wholeFile(file, ti.content) : { path: file, via: 'tool' };
        ev.writes = [w];
      } else if (GEMINI_SHELL_TOOLS.has(tool)) ev.shell = str(ti.command);
    }
    return ev;
  },
  render(ev, d: HookDecision): RenderedReply {
    const ctx = (hookEventName: string, text: string): RenderedReply => ({ status: 200, body: { hookSpecificOutput: { hookEventName, additionalContext: text } } });
    const context = [d.warn, d.inject].filter(Boolean).join('\n\n');
    switch (ev.kind) {
      case 'session-start':
        return context ? ctx('SessionStart', context) : { status: 200, body: null };
      case 'prompt':
        return context ? ctx('BeforeAgent', context) : { status: 200, body: null };
      case 'pre-tool':
        // BeforeTool has no additionalContext: a warning waits for AfterTool's.
        return d.deny ? { status: 200, body: { decision: 'deny', reason: d.deny } } : { status: 200, body: null };
      case 'post-tool':
        return context ? ctx('AfterTool', context) : { status: 200, body: null };
      default:
        return { status: 200, body: null };
    }
  },
};
