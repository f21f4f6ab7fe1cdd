/** The agent adapters, pure: each agent's wire payload → HookEvent, HookDecision → each agent's wire answer. */
import { describe, expect, it } from 'vitest';
import { ADAPTERS, HookInputError } from '../src/agents/index.js';
import { patchWrites } from '../src/agents/patch.js';

const { 'claude-code': claude, codex, gemini, cursor, opencode } = ADAPTERS;
const DENY = 'huddle: src/a.ts is locked by alice (backend).';

describe('apply_patch paths', () => {
  it('reports every Update, Add, Delete and Move path; Add gets its line count', () => {
    const patch = ['*** Begin Patch', '*** Update File: src/a.ts', '*** Move to: src/b.ts', '@@ fn', '-x', '+y', '*** Add File: src/new.ts', '+one', '+two', '*** Delete File: old/gone.ts', '*** Update File: /abs/c.ts', '@@', '+z', '*** End Patch', ''].join('\n');
    expect(patchWrites(patch)).toEqual([
      { path: 'src/a.ts', via: 'patch' },
      { path: 'src/b.ts', via: 'patch' },
      { path: 'src/new.ts', via: 'patch', lines: [[1, 2]] },
      { path: 'old/gone.ts', via: 'patch' },
      { path: '/abs/c.ts', via: 'patch' },
    ]);
    expect(patchWrites('not a patch')).toEqual([]);
  });
});

describe('Claude Code adapter', () => {
  const base = { session_id: 's1', cwd: '/repo', transcript_path: '/t', permission_mode: 'default' };
  it('parses edits, Bash and line ranges from the payload only', () => {
    const pre = claude.parse({ ...base, hook_event_name: 'PreToolUse', tool_name: 'Edit', tool_use_id: 't1', tool_input: { file_path: '/repo/a.ts', old_string: 'a', new_string: 'b' } }, {});
    expect(pre).toMatchObject({ agent: 'claude-code', kind: 'pre-tool', session: 's1', writes: [{ path: '/repo/a.ts', via: 'tool' }], toolUseId: 't1' });
    const post = claude.parse({ ...base, hook_event_name: 'PostToolUse', tool_name: 'Edit', tool_input: { file_path: 'a.ts', new_string: 'b' }, tool_response: { structuredPatch: [{ newStart: 3, newLines: 2 }] } }, {});
    expect(post.writes).toEqual([{ path: 'a.ts', via: 'tool', lines: [[3, 4]] }]);
    // No patch in the response: no lines (the server never looks in the file).
    expect(claude.parse({ ...base, hook_event_name: 'PostToolUse', tool_name: 'Edit', tool_input: { file_path: 'a.ts', new_string: 'b' } }, {}).writes).toEqual([{ path: 'a.ts', via: 'tool' }]);
    expect(claude.parse({ ...base, hook_event_name: 'PostToolUse', tool_name: 'Write', tool_input: { file_path: 'a.ts', content: 'x\ny\n' } }, {}).writes[0].lines).toEqual([[1, 2]]);
    expect(claude.parse({ ...base, hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'echo > a.ts' } }, { 'x-huddle-role': 'qa' })).toMatchObject({ shell: 'echo > a.ts', role: 'qa' });
    expect(claude.parse({ ...base, hook_event_name: 'Notification' }, {}).kind).toBe('activity');
  });
  it('refuses payloads that cannot be an event', () => {
    expect(() => claude.parse({ hook_event_name: 'PreToolUse', cwd: '/' }, {})).toThrow(HookInputError);
    expect(() => claude.parse({ ...base, hook_event_name: 'PreToolUse', cwd: 'relative' }, {})).toThrow(/absolute/);
    expect(() => claude.parse({ ...base, session_id: 'x'.repeat(201), hook_event_name: 'Stop' }, {})).toThrow(/200/);
  });
  it('a Cursor third-party payload is that Cursor conversation, not a second session', () => {
    const ev = claude.parse({ conversation_id: 'conv-9', cursor_version: '2.0', workspace_roots: ['/repo'], hook_event_name: 'PreToolUse', tool_name: 'Write', tool_input: { file_path: 'a.ts' } }, {});
    expect(ev).toMatchObject({ agent: 'cursor', session: 'conv-9', cwd: '/repo' });
    expect(cursor.parse({ conversation_id: 'conv-9', workspace_roots: ['/repo'], hook_event_name: 'preToolUse', tool_name: 'Write', tool_input: { file_path: 'a.ts' } }, {}).session).toBe('conv-9');
  });
  it('renders deny, context and nothing', () => {
    const pre = claude.parse({ ...base, hook_event_name: 'PreToolUse', tool_name: 'Edit', tool_input: { file_path: 'a.ts' } }, {});
    expect(claude.render(pre, { deny: DENY }).body).toEqual({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: DENY } });
    expect(claude.render(pre, {}).body).toEqual({});
    const start = claude.parse({ ...base, hook_event_name: 'SessionStart', source: 'startup' }, {});
    expect(claude.render(start, { inject: 'hi' }).body).toEqual({ hookSpecificOutput: { hookEventName: 'SessionStart', additionalContext: 'hi' } });
    // A post-tool event can carry injected context (mid-task delivery).
    const post = claude.parse({ ...base, hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: { command: 'ls' } }, {});
    expect(claude.render(post, { inject: 'new message' }).body).toEqual({ hookSpecificOutput: { hookEventName: 'PostToolUse', additionalContext: 'new message' } });
  });
});

describe('Codex adapter', () => {
  const base = { session_id: '019a', turn_id: 't', transcript_path: '/t', cwd: '/repo', model: 'gpt-5.5', permission_mode: 'default' };
  it('parses apply_patch paths and Bash', () => {
    const ev = codex.parse({ ...base, hook_event_name: 'PreToolUse', tool_name: 'apply_patch', tool_use_id: 'call_1', tool_input: { command: '*** Begin Patch\n*** Update File: src/api.ts\n@@\n-a\n+b\n*** Delete File: x.ts\n*** End Patch\n' } }, {});
    expect(ev).toMatchObject({ agent: 'codex', kind: 'pre-tool', writes: [{ path: 'src/api.ts' }, { path: 'x.ts' }] });
    expect(codex.parse({ ...base, hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'echo x > a.ts' } }, {}).shell).toBe('echo x > a.ts');
    expect(codex.parse({ ...base, hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: ['bash', '-lc', 'rm a.ts'] } }, {}).shell).toBe('rm a.ts');
  });
  it('allow is an empty answer; deny has a non-empty reason; context through additionalContext', () => {
    const pre = codex.parse({ ...base, hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command: 'ls' } }, {});
    expect(codex.render(pre, {}).body).toBeNull();
    expect(codex.render(pre, { deny: DENY }).body).toEqual({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: DENY } });
    const prompt = codex.parse({ ...base, hook_event_name: 'UserPromptSubmit', prompt: 'go' }, {});
    expect(codex.render(prompt, {}).body).toBeNull();
    expect(codex.render(prompt, { inject: 'ctx' }).body).toEqual({ hookSpecificOutput: { hookEventName: 'UserPromptSubmit', additionalContext: 'ctx' } });
  });
});

describe('Gemini CLI adapter', () => {
  const base = { session_id: 'g1', transcript_path: '/t', cwd: '/repo', timestamp: '2026-12-01T00:00:00Z' };
  it('parses write_file, replace, run_shell_command; renders deny as {decision, reason}, allow as nothing', () => {
    const rep = gemini.parse({ ...base, hook_event_name: 'BeforeTool', tool_name: 'replace', tool_input: { file_path: '/repo/src/api.ts', old_string: 'a', new_string: 'b' } }, {});
    expect(rep).toMatchObject({ agent: 'gemini', kind: 'pre-tool', writes: [{ path: '/repo/src/api.ts' }] });
    expect(gemini.parse({ ...base, hook_event_name: 'AfterTool', tool_name: 'write_file', tool_input: { file_path: 'a.ts', content: '1\n2\n3' } }, {}).writes[0].lines).toEqual([[1, 3]]);
    expect(gemini.parse({ ...base, hook_event_name: 'BeforeTool', tool_name: 'run_shell_command', tool_input: { command: 'rm a' } }, {}).shell).toBe('rm a');
    expect(gemini.render(rep, { deny: DENY }).body).toEqual({ decision: 'deny', reason: DENY });
    expect(gemini.render(rep, {}).body).toBeNull();
    const agent = gemini.parse({ ...base, hook_event_name: 'BeforeAgent', prompt: 'hi' }, {});
    expect(agent.kind).toBe('prompt');
    expect(gemini.render(agent, { inject: 'ctx' }).body).toEqual({ hookSpecificOutput: { hookEventName: 'BeforeAgent', additionalContext: 'ctx' } });
  });
});

describe('Cursor adapter (payloads from Cursor\'s hook documentation)', () => {
  const common = { conversation_id: 'c-1', generation_id: 'g-1', model: 'x', cursor_version: '1.7', workspace_roots: ['/repo'], user_email: null };
  it('preToolUse, beforeShellExecution, afterFileEdit; snake_case answers', () => {
    const pre = cursor.parse({ ...common, hook_event_name: 'preToolUse', tool_name: 'Write', tool_input: { file_path: 'src/api.ts' }, tool_use_id: 'u1', cwd: '/repo' }, {});
    expect(pre).toMatchObject({ agent: 'cursor', kind: 'pre-tool', session: 'c-1', writes: [{ path: 'src/api.ts' }] });
    const denied = cursor.render(pre, { deny: DENY }).body as Record<string, string>;
    expect(denied.permission).toBe('deny');
    expect(denied.agent_message).toBe(DENY);
    expect(denied.user_message).toContain('alice');
    expect(cursor.render(pre, {}).body).toEqual({ permission: 'allow' });
    const sh = cursor.parse({ ...common, hook_event_name: 'beforeShellExecution', command: 'echo > src/api.ts', cwd: '/repo' }, {});
    expect(sh).toMatchObject({ kind: 'pre-tool', shell: 'echo > src/api.ts' });
    const after = cursor.parse({ ...common, hook_event_name: 'afterFileEdit', file_path: '/repo/src/api.ts', edits: [{ old_string: 'a', new_string: 'b' }] }, {});
    expect(after).toMatchObject({ kind: 'post-tool', writes: [{ path: '/repo/src/api.ts' }] });
    const start = cursor.parse({ ...common, hook_event_name: 'sessionStart' }, {});
    expect(cursor.render(start, { inject: 'ctx' }).body).toEqual({ additional_context: 'ctx', continue: true });
    // beforeSubmitPrompt cannot add context: nothing is consumed there.
    expect(cursor.parse({ ...common, hook_event_name: 'beforeSubmitPrompt', prompt: 'x' }, {}).kind).toBe('activity');
  });
});

describe('delivery between tool calls: what each adapter prints for an inject (issue 16)', () => {
  const INJECT = 'huddle: changes since the last update.\n--- huddle team context ---\n- from lead (request, needs reply, id m-1): stop';
  it('Gemini AfterTool: hookSpecificOutput.additionalContext; BeforeTool cannot carry it (allow stays empty, the policy keeps it for AfterTool)', () => {
    const base = { session_id: 'g1', transcript_path: '/t', cwd: '/repo', timestamp: '2026-12-01T00:00:00Z' };
    const after = gemini.parse({ ...base, hook_event_name: 'AfterTool', tool_name: 'read_file', tool_input: { absolute_path: '/repo/a.ts' }, tool_response: { llmContent: 'x' } }, {});
    expect(after.kind).toBe('post-tool');
    expect(gemini.render(after, { inject: INJECT })).toEqual({ status: 200, body: { hookSpecificOutput: { hookEventName: 'AfterTool', additionalContext: INJECT } } });
    expect(gemini.render(after, {}).body).toBeNull();
    const before = gemini.parse({ ...base, hook_event_name: 'BeforeTool', tool_name: 'read_file', tool_input: {} }, {});
    expect(gemini.render(before, { inject: INJECT }).body).toBeNull();
    // A stopping turn (AfterAgent) is not held: Gemini's contract for it is not verified.
    expect(gemini.render(gemini.parse({ ...base, hook_event_name: 'AfterAgent' }, {}), { keepGoing: 'x' }).body).toBeNull();
  });
  it('Cursor postToolUse: {additional_context}; afterFileEdit records only (quiet: its answer is not read)', () => {
    const common = { conversation_id: 'c-1', generation_id: 'g-1', model: 'x', cursor_version: '2.0', workspace_roots: ['/repo'], cwd: '/repo' };
    const post = cursor.parse({ ...common, hook_event_name: 'postToolUse', tool_name: 'Read', tool_input: { file_path: '/repo/a.ts' }, tool_use_id: 'u2' }, {});
    expect(post).toMatchObject({ kind: 'post-tool', toolUseId: 'u2' });
    expect(post.quiet).toBeUndefined();
    expect(cursor.render(post, { inject: INJECT })).toEqual({ status: 200, body: { additional_context: INJECT } });
    expect(cursor.render(post, {}).body).toEqual({});
    const edit = cursor.parse({ ...common, hook_event_name: 'afterFileEdit', file_path: '/repo/a.ts', edits: [] }, {});
    expect(edit).toMatchObject({ kind: 'post-tool', quiet: true, writes: [{ path: '/repo/a.ts' }] });
  });
  it('Claude Code and Codex: PostToolUse additionalContext; Stop keep-going is {decision:"block", reason}', () => {
    const cc = claude.parse({ session_id: 's', cwd: '/repo', hook_event_name: 'PostToolUse', tool_name: 'Read', tool_input: {}, tool_response: {} }, {});
    expect(claude.render(cc, { inject: INJECT }).body).toEqual({ hookSpecificOutput: { hookEventName: 'PostToolUse', additionalContext: INJECT } });
    const stop = claude.parse({ session_id: 's', cwd: '/repo', hook_event_name: 'Stop', stop_hook_active: false }, {});
    expect(claude.render(stop, { keepGoing: 'reply first' }).body).toEqual({ decision: 'block', reason: 'reply first' });
    expect(claude.render(stop, {}).body).toEqual({});
    const cx = codex.parse({ session_id: 's', cwd: '/repo', hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: { command: 'ls' }, turn_id: 't' }, {});
    expect(codex.render(cx, { inject: INJECT }).body).toEqual({ hookSpecificOutput: { hookEventName: 'PostToolUse', additionalContext: INJECT } });
    const cstop = codex.parse({ session_id: 's', cwd: '/repo', hook_event_name: 'Stop' }, {});
    expect(codex.render(cstop, { keepGoing: 'reply first' }).body).toEqual({ decision: 'block', reason: 'reply first' });
  });
});

describe('opencode adapter (huddle\'s plugin format)', () => {
  it('edit/write/patch/bash; renders {deny} and {inject}', () => {
    const ev = opencode.parse({ event: 'tool.before', sessionID: 'ses_1', directory: '/repo', tool: 'edit', callID: 'c', args: { filePath: '/repo/src/a.ts', oldString: 'a', newString: 'b' } }, {});
    expect(ev).toMatchObject({ agent: 'opencode', kind: 'pre-tool', writes: [{ path: '/repo/src/a.ts' }] });
    expect(opencode.parse({ event: 'tool.before', sessionID: 's', directory: '/repo', tool: 'patch', args: { patchText: '*** Begin Patch\n*** Add File: n.ts\n+x\n*** End Patch' } }, {}).writes).toEqual([{ path: 'n.ts', via: 'patch', lines: [[1, 1]] }]);
    expect(opencode.parse({ event: 'tool.before', sessionID: 's', directory: '/repo', tool: 'bash', args: { command: 'rm a' } }, {}).shell).toBe('rm a');
    expect(opencode.render(ev, { deny: DENY }).body).toEqual({ deny: DENY });
    expect(opencode.render(ev, {}).body).toEqual({});
    expect(() => opencode.parse({ event: 'tool.before', directory: '/repo' }, {})).toThrow(/sessionID/);
  });
  it('the plugin\'s lifecycle names (session.created/idle/deleted, exit from its dispose hook) and its pid header', () => {
    const base = { sessionID: 'ses_1', directory: '/repo' };
    expect(['session.created', 'system', 'session.idle', 'session.deleted', 'exit'].map((event) => opencode.parse({ ...base, event }, {}).kind)).toEqual(['session-start', 'prompt', 'activity', 'session-end', 'session-end']);
    expect(opencode.parse({ ...base, event: 'session.created' }, { 'x-huddle-pids': '4242' }).pids).toEqual([4242]);
  });
});
