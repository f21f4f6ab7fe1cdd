/**
 * Cursor's hook wire format (`.cursor/hooks.json` version 1, command hooks
 * through the shim). Sessions are conversations (`conversation_id`); output
 * keys are snake_case (camelCase ones are dropped by Cursor).
 *
 *   sessionStart → session-start          {additional_context, continue}
 *   preToolUse (Write/Delete/Shell) → pre-tool    {permission:"deny", user_message, agent_message}
 *   beforeShellExecution {command} → pre-tool     the same
 *   postToolUse → post-tool                   {additional_context} (delivery between tool calls)
 *   afterFileEdit {file_path, edits} → post-tool  records the edit only (`quiet`: Cursor reads no answer)
 *   beforeSubmitPrompt: a sign of life only (Cursor lets it block, not add context,
 *   so nothing is consumed there that the agent would never see)
 *
 * Cursor may also run `.claude/settings.json`'s hooks; the Claude Code adapter
 * recognises those payloads as this same Cursor session.
 */
import type { AgentAdapter, HookDecision, HookEvent, HookEventKind, RenderedReply } from './event.js';
import { HookInputError } from './event.js';
import { absCwd, obj, overrides, sessionId, str } from './common.js';

const KINDS: Record<string, HookEventKind> = {
  sessionStart: 'session-start',
  preToolUse: 'pre-tool',
  beforeShellExecution: 'pre-tool',
  postToolUse: 'post-tool',
  afterFileEdit: 'post-tool',
  stop: 'stop',
  sessionEnd: 'session-end',
};

const WRITE_TOOLS = new Set(['Write', 'Delete', 'Edit', 'StrReplace', 'MultiEdit']);

export const cursor: AgentAdapter = {
  agent: 'cursor',
  parse(raw, headers): HookEvent {
    const body = obj(raw);
    const name = str(body.hook_event_name);
    if (!name) throw new HookInputError('missing "hook_event_name"');
    const kind = KINDS[name] ?? 'activity';
    const roots = Array.isArray(body.workspace_roots) ? body.workspace_roots : [];
    const ev: HookEvent = {
      agent: 'cursor',
      kind,
      session: sessionId(body.conversation_id ?? body.session_id, 'conversation_id'),
      cwd: absCwd(body.cwd ?? roots[0]),
      writes: [],
      ...overrides(body, headers),
    };
    if (name === 'beforeShellExecution') {
      ev.tool = 'Shell';
      ev.shell = str(body.command);
    } else if (name === 'afterFileEdit') {
      ev.tool = 'Write';
      // Its answer is not read by Cursor: delivery waits for postToolUse.
      ev.quiet = true;
      const file = str(body.file_path);
      if (file) ev.writes = [{ path: file, via: 'tool' }];
    } else if (kind === 'pre-tool' || kind === 'post-tool') {
      const tool = str(body.tool_name) ?? '';
      const ti = obj(body.tool_input);
      ev.tool = tool;
      ev.toolUseId = str(body.tool_use_id);
      const file = str(ti.file_path) ?? str(ti.path) ?? str(ti.target_file) ?? str(ti.filePath);
      if (WRITE_TOOLS.has(tool) && file) ev.writes = [{ path: file, via: 'tool' }];
      else if (tool === 'Shell') ev.shell = str(ti.command);
    }
    return ev;
  },
  render(ev, d: HookDecision): RenderedReply {
    const context = [d.warn, d.inject].filter(Boolean).join('\n\n');
    switch (ev.kind) {
      case 'session-start':
        return { status: 200, body: context ? { additional_context: context, continue: true } : { continue: true } };
      case 'pre-tool':
        if (d.deny) return { status: 200, body: { permission: 'deny', user_message: firstSentence(d.deny), agent_message: d.deny } };
        return { status: 200, body: context ? { permission: 'allow', agent_message: context } : { permission: 'allow' } };
      case 'post-tool':
        return { status: 200, body: context ? { additional_context: context } : {} };
      default:
        return { status: 200, body: {} };
    }
  },
};

function firstSentence(t: string): string {
  const i = t.indexOf('. ');
  return i > 0 && i < 300 ? t.slice(0, i + 1) : t.slice(0, 300);
}
