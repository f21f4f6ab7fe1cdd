import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, cleanup, onCleanup, startServer, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

function runCli(args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { cwd, env: { ...process.env, HUDDLE_SESSION: '', CLAUDE_CODE_SESSION_ID: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `huddle mcp ARGS` over real stdio, driven by the SDK's client. */
async function connectMcp(args: string[], cwd: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', ...args],
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'huddle-test', version: '1.0.0' });
  await client.connect(transport);
  onCleanup(() => client.close());
  return client;
}

const text = (r: unknown) => ((r as { content: Array<{ text: string }> }).content ?? []).map((c) => c.text).join('\n');

describe('huddle mcp', () => {
  it('serves its tools over real stdio; a lock taken through it shows in `huddle locks`', async () => {
    const server = await startServer();
    const cwd = tempDir();
    const client = await connectMcp(['--url', server.url, '--project', 'mcp1', '--session', 'mcp-sess-1', '--role', 'backend'], cwd);

    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toEqual(['decide', 'declare', 'inbox', 'lock', 'next', 'report', 'send', 'status', 'sync', 'task', 'unlock']);
    for (const t of tools) expect((t.description ?? '').length, t.name).toBeLessThan(200);

    // The session is alive while the MCP server runs.
    await waitFor(async () => {
      const s = (await (await fetch(`${server.url}/api/p/mcp1/state`)).json()) as { sessions: Array<{ id: string }> };
      return s.sessions.some((x) => x.id === 'mcp-sess-1');
    }, 'the MCP session to appear');

    const locked = await client.callTool({ name: 'lock', arguments: { paths: ['src/a.ts'], reason: 'schema change' } });
    expect(locked.isError).toBeFalsy();
    expect(text(locked)).toMatch(/^Locked src\/a\.ts \(exclusive\)/);

    // (async: the server runs in this process)
    const cli = await runCli([CLI, '--url', server.url, '--project', 'mcp1', 'locks', '--json'], cwd);
    expect(cli.status, cli.stderr).toBe(0);
    const locks = JSON.parse(cli.stdout) as Array<{ path: string; session: string; role: string; reason?: string; mode: string }>;
    expect(locks).toEqual([expect.objectContaining({ path: 'src/a.ts', by: 'mcp-sess-1', role: 'backend', reason: 'schema change', mode: 'exclusive' })]);

    // Other tools answer in compact text.
    expect(text(await client.callTool({ name: 'decide', arguments: { text: 'Use REST', rationale: 'simple' } }))).toMatch(/^Decision recorded/);
    expect(text(await client.callTool({ name: 'task', arguments: { action: 'add', title: 'Write tests', role: 'backend' } }))).toMatch(/^Added .*Write tests/);
    const status = text(await client.callTool({ name: 'status', arguments: {} }));
    expect(status).toContain('Use REST');
    expect(status).toContain('Write tests');
    expect(status.length).toBeLessThanOrEqual(2000);
    const bad = await client.callTool({ name: 'task', arguments: { action: 'claim', id: 'nope' } });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/no task nope/);

    expect(text(await client.callTool({ name: 'unlock', arguments: {} }))).toBe('Released src/a.ts.');
  });
});

describe('huddle mcp without a session id', () => {
  it('links itself to the Claude Code session whose hooks share its parent process', async () => {
    const server = await startServer();
    const cwd = tempDir();
    // A command hook of Claude Code reported its ancestors, which include our process (the MCP's parent).
    const hook = await fetch(`${server.url}/hooks/claude-code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hook_event_name: 'SessionStart', source: 'startup', session_id: 'claude-abc', cwd, huddle: { project: 'mcp2', role: 'frontend', ancestors: [process.pid] } }),
    });
    expect(hook.status).toBe(200);
    const client = await connectMcp(['--url', server.url, '--project', 'mcp2'], cwd);
    const locked = await client.callTool({ name: 'lock', arguments: { paths: ['src/b.ts'] } });
    expect(locked.isError).toBeFalsy();
    const s = (await (await fetch(`${server.url}/api/p/mcp2/state`)).json()) as { locks: Array<{ session: string; role: string }>; sessions: Array<{ id: string }> };
    expect(s.locks).toEqual([expect.objectContaining({ session: 'claude-abc', role: 'frontend' })]);
    // No second, provisional session is left behind.
    await waitFor(async () => {
      const st = (await (await fetch(`${server.url}/api/p/mcp2/state`)).json()) as { sessions: Array<{ id: string }> };
      return st.sessions.length === 1;
    }, 'only the Claude Code session');
  });
});

describe('huddle mcp and the agent session lifetime (issue 11 a, b)', () => {
  const state = async (url: string) => (await (await fetch(`${url}/api/p/mcp3/state`)).json()) as { locks: Array<{ session: string; path: string }>; sessions: Array<{ id: string }> };
  const startHook = (url: string, session: string, cwd: string, source: string) =>
    fetch(`${url}/hooks/claude-code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hook_event_name: 'SessionStart', source, session_id: session, cwd, huddle: { project: 'mcp3', ancestors: [process.pid] } }) });

  it('follows the new session after /clear, and exiting does not end the session it served', async () => {
    const server = await startServer();
    const cwd = tempDir();
    expect((await startHook(server.url, 'before-clear', cwd, 'startup')).status).toBe(200);
    const client = await connectMcp(['--url', server.url, '--project', 'mcp3'], cwd);
    expect((await client.callTool({ name: 'lock', arguments: { paths: ['src/a.ts'] } })).isError).toBeFalsy();
    expect((await state(server.url)).locks).toEqual([expect.objectContaining({ session: 'before-clear', path: 'src/a.ts' })]);
    // /clear: Claude Code ends the old session and starts a new one, keeping this MCP process.
    await fetch(`${server.url}/hooks/claude-code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hook_event_name: 'SessionEnd', session_id: 'before-clear', cwd, huddle: { project: 'mcp3' } }) });
    expect((await startHook(server.url, 'after-clear', cwd, 'clear')).status).toBe(200);
    expect((await client.callTool({ name: 'lock', arguments: { paths: ['src/b.ts'] } })).isError).toBeFalsy();
    let s = await state(server.url);
    expect(s.locks).toEqual([expect.objectContaining({ session: 'after-clear', path: 'src/b.ts' })]);
    expect(s.sessions.map((x) => x.id)).toEqual(['after-clear']);
    // The MCP server exits (restart, crash): the session and its lock stay.
    await client.close();
    await new Promise((r) => setTimeout(r, 500));
    s = await state(server.url);
    expect(s.sessions.map((x) => x.id)).toEqual(['after-clear']);
    expect(s.locks.map((l) => l.path)).toEqual(['src/b.ts']);
  });
});
