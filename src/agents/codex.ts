/**
 * Codex CLI's hook wire format (command hooks only: `.codex/hooks.json`, run
 * through the shim). Edits arrive as `apply_patch` with the raw patch in
 * `tool_input.command`; shell commands as `Bash`.
 *
 * Codex rejects a bare "allow" (and then runs the tool anyway), so an allowed
 * call is an empty answer: exit 0, nothing on stdout. A deny needs a non-empty
 * reason. Context goes in `additionalContext` (SessionStart, UserPromptSubmit,
 * PreToolUse, PostToolUse).
 */
import type { AgentAdapter, HookDecision, HookEvent, HookEventKind, RenderedReply } from './event.js';
import { baseEvent, obj, str } from './common.js';
import { patchWrites } from './patch.js';

const KINDS: Record<string, HookEventKind> = {
  SessionStart: 'session-start',
  UserPromptSubmit: 'prompt',
  PreToolUse: 'pre-tool',
  PostToolUse: 'post-tool',
  Stop: 'stop',
  SessionEnd: 'session-end',
};

const PATCH_TOOLS = new Set(['apply_patch', 'Edit', 'Write']);
const SHELL_TOOLS = new Set(['Bash', 'shell', 'exec_command', 'local_shell']);

/** A shell command as Codex reports it: a string, or an argv array. */
function shellText(v: unknown): string | undefined {
  if (typeof v === 'string') return v || undefined;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
    // ["bash","-lc","cmd"]: the script is what runs.
    const a = v as string[];
    if (a.length >= 3 && /(^|\/)(ba|z|da)?sh$/.test(a[0]) && /^-l?c$/.test(a[1])) return a[2];
    return a.join(' ') || undefined;
  }
  return undefined;
}

export const codex: AgentAdapter = {
  agent: 'codex',
  parse(raw, headers): HookEvent {
    const body = obj(raw);
    const ev = baseEvent('codex', body, headers, KINDS);
    if (ev.kind === 'pre-tool' || ev.kind === 'post-tool') {
      const tool = ev.tool ?? '';
      const ti = obj(body.tool_input);
      const patch = str(ti.command) ?? str(ti.patch) ?? str(ti.input);
      if (PATCH_TOOLS.has(tool) && patch && patch.includes('*** ')) ev.writes = patchWrites(patch);
      else if (SHELL_TOOLS.has(tool)) ev.shell = shellText(ti.command ?? ti.cmd);
    }
    return ev;
  },
  render(ev, d: HookDecision): RenderedReply {
    const out = (hookEventName: string, extra: Record<string, unknown>): RenderedReply => ({ status: 200, body: { hookSpecificOutput: { hookEventName, ...extra } } });
    const context = [d.warn, d.inject].filter(Boolean).join('\n\n');
    switch (ev.kind) {
      case 'session-start':
        return context ? out('SessionStart', { additionalContext: context }) : { status: 200, body: null };
      case 'prompt':
        return context ? out('UserPromptSubmit', { additionalContext: context }) : { status: 200, body: null };
      case 'pre-tool':
        if (d.deny) return out('PreToolUse', { permissionDecision: 'deny', permissionDecisionReason: d.deny });
        return context ? out('PreToolUse', { additionalContext: context }) : { status: 200, body: null };
      case 'post-tool':
        return context ? out('PostToolUse', { additionalContext: context }) : { status: 200, body: null };
      case 'stop':
        return d.keepGoing ? { status: 200, body: { decision: 'block', reason: d.keepGoing } } : { status: 200, body: null };
      default:
        return { status: 200, body: null };
    }
  },
};
