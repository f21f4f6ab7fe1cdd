/** Every agent's hook route on a real server: one policy, each agent's wire format; and no file is ever read for a request. */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup, startServer, tempDir } from './helpers.js';
import type { HuddleServer } from '../relay/server.js';

afterEach(cleanup);

async function post(server: HuddleServer, agent: string, payload: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(`${server.url}/hooks/${agent}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

async function op(server: HuddleServer, project: string, name: string, session: Record<string, unknown>, args: Record<string, unknown> = {}) {
  const res = await fetch(`${server.url}/api/p/${project}/op/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, ...args }) });
  const j = (await res.json()) as { ok: boolean; result: any; error?: string };
  if (!j.ok) throw new Error(j.error);
  return j.result;
}

async function state(server: HuddleServer, project: string) {
  return (await (await fetch(`${server.url}/api/p/${project}/state`)).json()) as { sessions: Array<{ id: string; agent: string; editing: Array<{ path: string; ranges?: number[][] }> }> };
}

function repo(project: string): string {
  const root = path.join(tempDir(), 'repo');
  fs.mkdirSync(path.join(root, '.git'), { recursive: true });
  fs.mkdirSync(path.join(root, '.huddle'));
  fs.writeFileSync(path.join(root, '.huddle', 'config.json'), JSON.stringify({ project }));
  fs.mkdirSync(path.join(root, 'src'));
  fs.writeFileSync(path.join(root, 'src', 'api.ts'), 'export const a = 1;\n');
  return root;
}

const ALICE = { id: 'A', name: 'alice', role: 'backend' };

describe('hooks never read a file a request names (issue 13 §2)', () => {
  it('a PostToolUse Edit naming a .env outside any repository via cwd "/" publishes no line range from its content', async () => {
    const server = await startServer();
    const dir = tempDir();
    const secret = path.join(dir, '.env');
    fs.writeFileSync(secret, 'A=1\nB=2\nSECRET=hunter2\n');
    // cwd "/" is outside every hook root (relay/hook-config.ts): refused before anything is looked at.
    const refused = await post(server, 'claude-code', { session_id: 'evil', cwd: '/', hook_event_name: 'PostToolUse', tool_name: 'Edit', tool_input: { file_path: secret, old_string: 'x', new_string: 'A=1' }, tool_response: { success: true } }, { 'X-Huddle-Project': 'victim' });
    expect(refused.status).toBe(403);
    // The file's own folder (a temp folder, a default hook root, no repository above it): served, still no oracle.
    for (const guess of ['SECRET=hunter2', 'A=1', 'SECRET=h']) {
      const r = await post(server, 'claude-code', { session_id: 'evil', cwd: dir, hook_event_name: 'PostToolUse', tool_name: 'Edit', tool_input: { file_path: secret, old_string: 'x', new_string: guess }, tool_response: { success: true } }, { 'X-Huddle-Project': 'victim' });
      expect(r.status).toBe(200);
    }
    const evil = (await state(server, 'victim')).sessions.find((s) => s.id === 'evil');
    expect(evil).toBeDefined();
    const entry = evil!.editing.find((e) => e.path.endsWith('.env'));
    expect(entry).toBeDefined();
    // The old code read the file and published where new_string sits (lines 3 and 1): an oracle for its content.
    expect(entry!.ranges ?? []).toEqual([]);
  });
});

describe('one policy, every agent', () => {
  it('Codex: apply_patch and Bash writes of a locked file are denied naming the holder; allowed calls get an empty answer', async () => {
    const server = await startServer();
    const root = repo('agents1');
    await op(server, 'agents1', 'lock', ALICE, { paths: ['src/api.ts'], reason: 'refactor' });
    const base = { session_id: '019c-codex', turn_id: 't1', transcript_path: '/t', cwd: root, model: 'gpt-5.5', permission_mode: 'default', hook_event_name: 'PreToolUse' };
    const patch = (file: string) => `*** Begin Patch\n*** Update File: ${file}\n@@\n-a\n+b\n*** End Patch\n`;
    const denied = await post(server, 'codex', { ...base, tool_name: 'apply_patch', tool_use_id: 'c1', tool_input: { command: patch('src/api.ts') } });
    expect(denied.json.hookSpecificOutput).toMatchObject({ hookEventName: 'PreToolUse', permissionDecision: 'deny' });
    expect(denied.json.hookSpecificOutput.permissionDecisionReason).toContain('alice');
    // A move away from the locked file writes it too.
    const moved = await post(server, 'codex', { ...base, tool_name: 'apply_patch', tool_use_id: 'c2', tool_input: { command: '*** Begin Patch\n*** Update File: src/other.ts\n*** Move to: src/api.ts\n*** End Patch\n' } });
    expect(moved.json.hookSpecificOutput.permissionDecision).toBe('deny');
    const shell = await post(server, 'codex', { ...base, tool_name: 'Bash', tool_use_id: 'c3', tool_input: { command: 'echo x > src/api.ts' } });
    expect(shell.json.hookSpecificOutput.permissionDecision).toBe('deny');
    const free = await post(server, 'codex', { ...base, tool_name: 'apply_patch', tool_use_id: 'c4', tool_input: { command: patch('src/free.ts') } });
    expect(free).toMatchObject({ status: 200, text: '' });
    const s = (await state(server, 'agents1')).sessions.find((x) => x.id === '019c-codex');
    expect(s?.agent).toBe('codex');
  });

  it('Gemini CLI: BeforeTool deny is {decision, reason}; SessionStart injects; SessionEnd ends the session', async () => {
    const server = await startServer();
    const root = repo('agents2');
    await op(server, 'agents2', 'lock', ALICE, { paths: ['src/api.ts'] });
    const base = { session_id: 'gem-1', transcript_path: '/t', cwd: root, timestamp: new Date().toISOString() };
    const start = await post(server, 'gemini', { ...base, hook_event_name: 'SessionStart', source: 'startup' });
    expect(start.json.hookSpecificOutput.additionalContext).toContain('alice');
    const d = await post(server, 'gemini', { ...base, hook_event_name: 'BeforeTool', tool_name: 'replace', tool_input: { file_path: path.join(root, 'src/api.ts'), old_string: 'a', new_string: 'b' } });
    expect(d.json.decision).toBe('deny');
    expect(d.json.reason).toContain('alice');
    const ok = await post(server, 'gemini', { ...base, hook_event_name: 'BeforeTool', tool_name: 'write_file', tool_input: { file_path: path.join(root, 'src/new.ts'), content: 'x' } });
    expect(ok).toMatchObject({ status: 200, text: '' });
    expect((await state(server, 'agents2')).sessions.some((s) => s.id === 'gem-1' && s.agent === 'gemini')).toBe(true);
    await post(server, 'gemini', { ...base, hook_event_name: 'SessionEnd' });
    expect((await state(server, 'agents2')).sessions.some((s) => s.id === 'gem-1')).toBe(false);
  });

  it('Cursor: its own hooks and the Claude Code hooks it also runs are one session, checked alike', async () => {
    const server = await startServer();
    const root = repo('agents3');
    await op(server, 'agents3', 'lock', ALICE, { paths: ['src/api.ts'] });
    const common = { conversation_id: 'conv-1', generation_id: 'g', model: 'm', cursor_version: '1.7', workspace_roots: [root], cwd: root };
    const own = await post(server, 'cursor', { ...common, hook_event_name: 'preToolUse', tool_name: 'Write', tool_use_id: 'u1', tool_input: { file_path: 'src/api.ts' } });
    expect(own.json).toMatchObject({ permission: 'deny' });
    expect(own.json.agent_message).toContain('alice');
    const viaClaude = await post(server, 'claude-code', { ...common, session_id: 'conv-1', hook_event_name: 'PreToolUse', tool_name: 'Write', tool_use_id: 'u1', tool_input: { file_path: path.join(root, 'src/api.ts') } });
    expect(viaClaude.json.hookSpecificOutput.permissionDecision).toBe('deny');
    const sessions = (await state(server, 'agents3')).sessions.filter((s) => s.id !== 'A');
    expect(sessions.map((s) => [s.id, s.agent])).toEqual([['conv-1', 'cursor']]);
    const shell = await post(server, 'cursor', { ...common, hook_event_name: 'beforeShellExecution', command: 'rm src/api.ts' });
    expect(shell.json.permission).toBe('deny');
  });

  it('opencode: the plugin format answers {deny} and {inject}', async () => {
    const server = await startServer();
    const root = repo('agents4');
    await op(server, 'agents4', 'lock', ALICE, { paths: ['src/api.ts'] });
    const start = await post(server, 'opencode', { event: 'session.created', sessionID: 'ses_1', directory: root });
    expect(start.json.inject).toContain('alice');
    const d = await post(server, 'opencode', { event: 'tool.before', sessionID: 'ses_1', directory: root, tool: 'write', callID: 'k', args: { filePath: path.join(root, 'src/api.ts'), content: 'x' } });
    expect(d.json.deny).toContain('alice');
    const ok = await post(server, 'opencode', { event: 'tool.before', sessionID: 'ses_1', directory: root, tool: 'bash', callID: 'k2', args: { command: 'ls' } });
    expect(ok.json).toEqual({});
  });
});
