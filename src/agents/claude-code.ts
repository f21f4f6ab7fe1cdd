/**
 * Claude Code's hook wire format (HTTP hooks and `huddle hook` command hooks):
 * the input JSON Claude Code documents in, its hook output JSON out.
 *
 *   SessionStart → session-start   additionalContext
 *   UserPromptSubmit → prompt      additionalContext, `{}` when there is nothing new
 *   PreToolUse → pre-tool          permissionDecision "deny" + reason, or `{}`
 *   PostToolUse → post-tool        line ranges from tool_response.structuredPatch / Write content
 *   Stop → stop, SessionEnd → session-end, anything else → activity
 *
 * Cursor can run the hooks of `.claude/settings.json` as "third-party hooks":
 * such a payload carries `cursor_version`/`conversation_id`, and is then
 * reported as the Cursor session it is (one session, not two).
 */
import type { AgentAdapter, HookDecision, HookEvent, HookEventKind, RenderedReply, WriteIntent } from './event.js';
import { baseEvent, hunkRanges, obj, str, wholeFile } from './common.js';

export const CLAUDE_EDIT_TOOLS = new Set(['Edit', 'Write', 'MultiEdit', 'NotebookEdit']);

const KINDS: Record<string, HookEventKind> = {
  SessionStart: 'session-start',
  UserPromptSubmit: 'prompt',
  PreToolUse: 'pre-tool',
  PostToolUse: 'post-tool',
  Stop: 'stop',
  SessionEnd: 'session-end',
};

/** What a Claude Code edit tool writes; lines only from the agent's own payload, never from the file. */
export function claudeWrites(tool: string, ti: Record<string, unknown>, response: unknown, post: boolean): WriteIntent[] {
  const file = str(ti.file_path) ?? str(ti.notebook_path);
  if (!file) return [];
  if (!post) return [{ path: file, via: 'tool' }];
  const ranges = hunkRanges(obj(response).structuredPatch);
  if (ranges.length) return [{ path: file, via: 'tool', lines: ranges }];
  if (tool === 'Write') return [wholeFile(file, ti.content)];
  return [{ path: file, via: 'tool' }];
}

export const claudeCode: AgentAdapter = {
  agent: 'claude-code',
  parse(raw, headers): HookEvent {
    const body = obj(raw);
    const viaCursor = typeof body.cursor_version === 'string' || typeof body.conversation_id === 'string';
    const ev = baseEvent(viaCursor ? 'cursor' : 'claude-code', body, headers, KINDS, {
      session: viaCursor ? (body.conversation_id ?? body.session_id) : body.session_id,
      sessionField: viaCursor && body.conversation_id ? 'conversation_id' : 'session_id',
      cwd: body.cwd ?? (Array.isArray(body.workspace_roots) ? body.workspace_roots[0] : undefined),
    });
    if (ev.kind === 'pre-tool' || ev.kind === 'post-tool') {
      const tool = ev.tool ?? '';
      const ti = obj(body.tool_input);
      if (CLAUDE_EDIT_TOOLS.has(tool)) ev.writes = claudeWrites(tool, ti, body.tool_response, ev.kind === 'post-tool');
      else if (tool === 'Bash') ev.shell = str(ti.command);
    }
    return ev;
  },
  render(ev, d: HookDecision): RenderedReply {
    const out = (hookEventName: string, extra: Record<string, unknown>) => ({ status: 200, body: { hookSpecificOutput: { hookEventName, ...extra } } });
    switch (ev.kind) {
      case 'session-start':
        return d.inject ? out('SessionStart', { additionalContext: d.inject }) : { status: 200, body: {} };
      case 'prompt':
        return d.inject ? out('UserPromptSubmit', { additionalContext: d.inject }) : { status: 200, body: {} };
      case 'pre-tool':
        if (d.deny) return out('PreToolUse', { permissionDecision: 'deny', permissionDecisionReason: d.deny });
        if (d.warn || d.inject) return out('PreToolUse', { additionalContext: [d.warn, d.inject].filter(Boolean).join('\n\n') });
        return { status: 200, body: {} };
      case 'post-tool':
        return d.inject || d.warn ? out('PostToolUse', { additionalContext: [d.warn, d.inject].filter(Boolean).join('\n\n') }) : { status: 200, body: {} };
      case 'stop':
        return d.keepGoing ? { status: 200, body: { decision: 'block', reason: d.keepGoing } } : { status: 200, body: {} };
      default:
        return { status: 200, body: {} };
    }
  },
};
