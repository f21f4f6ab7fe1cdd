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
import { baseEvent, obj, str, wholeFile } from './common.js';

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
    const ev = baseEvent('gemini', body, headers, KINDS);
    if (ev.kind === 'pre-tool' || ev.kind === 'post-tool') {
      const tool = ev.tool ?? '';
      const ti = obj(body.tool_input);
      const file = str(ti.file_path) ?? str(ti.absolute_path) ?? str(ti.path);
      if (GEMINI_WRITE_TOOLS.has(tool) && file) {
        const w: WriteIntent = ev.kind === 'post-tool' && tool === 'write_file' ? wholeFile(file, ti.content) : { path: file, via: 'tool' };
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
