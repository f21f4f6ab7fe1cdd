import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, cleanup, startServer, tempDir } from './helpers.js';

afterEach(cleanup);

function huddle(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, HUDDLE_URL: '', HUDDLE_SESSION: '', CLAUDE_CODE_SESSION_ID: '', HUDDLE_BIN: 'huddle', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file under `root` (except .git/objects), with its bytes. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(root, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(root);
  return out;
}

function project(): string {
  const root = path.join(tempDir(), 'proj');
  fs.mkdirSync(path.join(root, '.git', 'hooks'), { recursive: true });
  fs.writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  fs.mkdirSync(path.join(root, '.claude'));
  // Existing settings, in the user's own formatting, with a hook of theirs on PreToolUse.
  fs.writeFileSync(path.join(root, '.claude', 'settings.json'), `{
    "permissions": { "allow": ["Bash(npm test)"] },
    "hooks": {
        "PreToolUse": [ { "matcher": "Bash", "hooks": [ { "type": "command", "command": "./lint.sh" } ] } ]
    }
}`);
  fs.writeFileSync(path.join(root, '.mcp.json'), '{"mcpServers":{"other":{"command":"other-server","args":["--x"]}}}');
  fs.writeFileSync(path.join(root, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nnpm run lint\nexit 0\n');
  return root;
}

describe('huddle init', () => {
  it('merges into existing settings once, is idempotent, and --uninstall restores the original files byte for byte', async () => {
    const root = project();
    const before = snapshot(root);

    const dry = await huddle(['init', '--dry-run'], root);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would update .claude/settings.json');
    expect(dry.stdout).toContain('would create .huddle/config.json');
    expect(dry.stdout).toContain('/hooks/claude-code');
    expect(snapshot(root)).toEqual(before);

    const first = await huddle(['init'], root);
    expect(first.code, first.stderr).toBe(0);
    const settings = JSON.parse(fs.readFileSync(path.join(root, '.claude/settings.json'), 'utf8'));
    expect(settings.permissions).toEqual({ allow: ['Bash(npm test)'] });
    // Theirs first and untouched, ours after it.
    expect(settings.hooks.PreToolUse[0]).toEqual({ matcher: 'Bash', hooks: [{ type: 'command', command: './lint.sh' }] });
    expect(settings.hooks.PreToolUse[1]).toMatchObject({ matcher: 'Edit|Write|MultiEdit|NotebookEdit|Bash', hooks: [{ type: 'http', url: 'http://127.0.0.1:4321/hooks/claude-code' }] });
    expect(settings.hooks.PostToolUse[0].hooks[0].type).toBe('http');
    expect(settings.hooks.UserPromptSubmit[0].hooks[0].type).toBe('http');
    // Claude Code runs only command hooks on SessionStart; SessionEnd takes HTTP (issue 11 e).
    expect(settings.hooks.SessionStart[0].hooks[0]).toMatchObject({ type: 'command', command: 'huddle hook' });
    expect(settings.hooks.SessionEnd[0].hooks[0]).toMatchObject({ type: 'http', url: 'http://127.0.0.1:4321/hooks/claude-code' });
    // The project's MCP server is pre-approved (issue 11 c).
    expect(settings.enabledMcpjsonServers).toEqual(['huddle']);
    expect(first.stdout).toContain('next steps:');
    const mcp = JSON.parse(fs.readFileSync(path.join(root, '.mcp.json'), 'utf8'));
    expect(mcp.mcpServers).toEqual({ other: { command: 'other-server', args: ['--x'] }, huddle: { command: 'huddle', args: ['mcp'] } });
    const config = JSON.parse(fs.readFileSync(path.join(root, '.huddle/config.json'), 'utf8'));
    expect(config).toMatchObject({ project: 'proj', enforce: 'block', autoLock: false });
    const preCommit = fs.readFileSync(path.join(root, '.git/hooks/pre-commit'), 'utf8');
    expect(preCommit.startsWith('#!/bin/sh\n# >>> huddle guard')).toBe(true);
    expect(preCommit).toContain('huddle guard || exit 1');
    expect(preCommit).toContain('npm run lint\nexit 0\n');

    const afterFirst = snapshot(root);
    const second = await huddle(['init'], root);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).not.toMatch(/^(created|updated)/m);
    expect(snapshot(root)).toEqual(afterFirst);

    const undoDry = await huddle(['init', '--uninstall', '--dry-run'], root);
    expect(undoDry.stdout).toContain('would restore .claude/settings.json');
    expect(snapshot(root)).toEqual(afterFirst);

    const undo = await huddle(['init', '--uninstall'], root);
    expect(undo.code, undo.stderr).toBe(0);
    expect(snapshot(root)).toEqual(before);
    expect(fs.existsSync(path.join(root, '.huddle'))).toBe(false);
  });

  it('--command-hooks uses `huddle hook` everywhere; uninstall after a later edit removes only its own entries', async () => {
    const root = project();
    expect((await huddle(['init', '--command-hooks', '--no-guard'], root)).code).toBe(0);
    const file = path.join(root, '.claude/settings.json');
    const settings = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const ev of ['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'SessionEnd']) {
      const ours = settings.hooks[ev].flatMap((g: { hooks: Array<{ type: string; command?: string }> }) => g.hooks).filter((h: { command?: string }) => h.command === 'huddle hook');
      expect(ours, ev).toHaveLength(1);
    }
    // The user edits the file afterwards.
    settings.model = 'opus';
    fs.writeFileSync(file, JSON.stringify(settings, null, 2));
    expect((await huddle(['init', '--uninstall'], root)).code).toBe(0);
    const left = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(left).toEqual({ permissions: { allow: ['Bash(npm test)'] }, hooks: { PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: './lint.sh' }] }] }, model: 'opus' });
    expect(fs.readFileSync(path.join(root, '.git/hooks/pre-commit'), 'utf8')).toBe('#!/bin/sh\nnpm run lint\nexit 0\n');
  });

  it('on a bare folder, creates the files and uninstall removes them all', async () => {
    const root = tempDir();
    expect((await huddle(['init', '--project', 'bare1'], root)).code).toBe(0);
    expect(fs.existsSync(path.join(root, '.claude/settings.json'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(root, '.huddle/config.json'), 'utf8')).project).toBe('bare1');
    expect((await huddle(['init', '--uninstall'], root)).code).toBe(0);
    expect(fs.readdirSync(root)).toEqual([]);
  });
});

describe('huddle guard', () => {
  it('refuses a commit touching a file another live session locked, naming the holder; fails open without a server', async () => {
    const server = await startServer();
    const root = project();
    fs.mkdirSync(path.join(root, '.huddle'));
    fs.writeFileSync(path.join(root, '.huddle/config.json'), JSON.stringify({ project: 'guard1', url: server.url }));
    const res = await fetch(`${server.url}/api/p/guard1/op/lock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: { id: 'A', name: 'alice', role: 'backend' }, paths: ['src/a.ts'], reason: 'migration' }) });
    expect(((await res.json()) as { ok: boolean }).ok).toBe(true);

    // Checks that change nothing: at once.
    const [refused, free, holder] = await Promise.all([
      huddle(['guard', 'src/a.ts', 'README.md'], root),
      huddle(['guard', 'src/b.ts'], root),
      // The holder itself may commit.
      huddle(['--session', 'A', 'guard', 'src/a.ts'], root),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('src/a.ts');
    expect(refused.stderr).toContain('alice');
    expect(refused.stderr).toContain('migration');
    expect(free.code).toBe(0);
    expect(holder.code).toBe(0);

    fs.writeFileSync(path.join(root, '.huddle/config.json'), JSON.stringify({ project: 'guard1', url: 'http://127.0.0.1:1' }));
    const open = await huddle(['guard', 'src/a.ts'], root);
    expect(open.code).toBe(0);
    expect(open.stderr).toMatch(/not checked/);
  });
});
