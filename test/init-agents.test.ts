/** `huddle init --agent …` for every agent, and the shell shim the command hooks run. */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, cleanup, startServer, tempDir } from './helpers.js';
import { SHIM_FILE, shimCommand, shimScript } from '../src/agents/shim.js';

afterEach(cleanup);

function run(cmd: string, args: string[], cwd: string, input = '', env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, HUDDLE_URL: '', HUDDLE_SESSION: '', CLAUDE_CODE_SESSION_ID: '', HUDDLE_HOOK_URL: '', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}
const huddle = (args: string[], cwd: string) => run(process.execPath, [CLI, ...args], cwd);

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
  fs.mkdirSync(path.join(root, '.codex'));
  fs.writeFileSync(path.join(root, '.codex', 'config.toml'), 'model = "gpt-5.5"\n\n[mcp_servers.other]\ncommand = "other"\n');
  fs.writeFileSync(path.join(root, 'opencode.json'), '{ "theme": "dark" }\n');
  return root;
}

describe('huddle init --agent', () => {
  it('wires every agent, is idempotent, and --uninstall restores byte for byte', async () => {
    const root = project();
    const before = snapshot(root);
    const bin = 'node /opt/huddle dir/huddle.js';
    const first = await huddle(['init', '--agent', 'claude-code,codex,gemini,cursor,opencode', '--bin', `node "/opt/huddle dir/huddle.js"`], root);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/codex: .*Trust this folder\?.*codex exec --trust.*Trust all and continue/);
    // One "next steps" list: the files to commit are the ones written, then each agent's step.
    expect(first.stdout.match(/next steps:/g)).toHaveLength(1);
    expect(first.stdout).toMatch(/2\. git add [^\n]*\.codex\/hooks\.json[^\n]*\.gemini\/settings\.json/);
    expect(first.stdout).toMatch(/\d\. gemini: .*Trust folder/);
    // No absolute path: the committed files work in every checkout (the script is found from the repository).
    const shimCmd = 'd=$PWD; while [ -n "$d" ] && [ ! -f "$d/.huddle/hook.sh" ]; do d=${d%/*}; done; exec sh "$d/.huddle/hook.sh"';
    for (const f of ['.codex/hooks.json', '.gemini/settings.json', '.cursor/hooks.json', '.claude/settings.json']) expect(fs.readFileSync(path.join(root, f), 'utf8')).not.toContain(root);
    const codexHooks = JSON.parse(fs.readFileSync(path.join(root, '.codex/hooks.json'), 'utf8'));
    expect(codexHooks.hooks.PreToolUse[0].hooks[0]).toMatchObject({ type: 'command', command: `${shimCmd} codex` });
    const toml = fs.readFileSync(path.join(root, '.codex/config.toml'), 'utf8');
    expect(toml.startsWith('model = "gpt-5.5"\n\n[mcp_servers.other]\ncommand = "other"\n')).toBe(true);
    expect(toml).toContain('[mcp_servers.huddle]\ncommand = "node"\nargs = ["/opt/huddle dir/huddle.js", "mcp"]');
    const gem = JSON.parse(fs.readFileSync(path.join(root, '.gemini/settings.json'), 'utf8'));
    expect(Object.keys(gem.hooks)).toEqual(['SessionStart', 'BeforeAgent', 'BeforeTool', 'AfterTool', 'SessionEnd']);
    expect(gem.hooks.BeforeTool[0].hooks[0].command).toBe('exec sh "${GEMINI_PROJECT_DIR:-.}/.huddle/hook.sh" gemini');
    expect(gem.mcpServers.huddle).toMatchObject({ command: 'node', args: ['/opt/huddle dir/huddle.js', 'mcp'] });
    const cur = JSON.parse(fs.readFileSync(path.join(root, '.cursor/hooks.json'), 'utf8'));
    expect(cur.version).toBe(1);
    expect(cur.hooks.preToolUse[0].command).toBe(`${shimCmd} cursor`);
    expect(JSON.parse(fs.readFileSync(path.join(root, '.cursor/mcp.json'), 'utf8')).mcpServers.huddle.command).toBe('node');
    expect(fs.readFileSync(path.join(root, '.opencode/plugins/huddle.ts'), 'utf8')).toContain('"tool.execute.before"');
    const oc = JSON.parse(fs.readFileSync(path.join(root, 'opencode.json'), 'utf8'));
    expect(oc).toMatchObject({ theme: 'dark', mcp: { huddle: { type: 'local', command: ['node', '/opt/huddle dir/huddle.js', 'mcp'] } } });
    // --bin with a space-separated interpreter parses (issue 11 d).
    expect(JSON.parse(fs.readFileSync(path.join(root, '.mcp.json'), 'utf8')).mcpServers.huddle).toEqual({ command: 'node', args: ['/opt/huddle dir/huddle.js', 'mcp'] });
    expect(bin).toContain(' ');

    const after = snapshot(root);
    const again = await huddle(['init', '--agent', 'claude-code,codex,gemini,cursor,opencode', '--bin', `node "/opt/huddle dir/huddle.js"`], root);
    expect(again.code, again.stderr).toBe(0);
    expect(snapshot(root)).toEqual(after);

    const undo = await huddle(['init', '--uninstall'], root);
    expect(undo.code, undo.stderr).toBe(0);
    expect(snapshot(root)).toEqual(before);
  });

  // (An unknown agent is refused, with the command's error prefix: test/cli-meta.test.ts.)
  it('detects agents from project folders', async () => {
    const root = project();
    const dry = await huddle(['init', '--dry-run', '--bin', 'huddle'], root);
    expect(dry.stdout).toContain('would create .codex/hooks.json');
    expect(dry.stdout).toContain('would create .opencode/plugins/huddle.ts');
    expect(dry.stdout).not.toContain('.gemini/settings.json');
  });
});

describe('the shell shim (.huddle/hook.sh)', () => {
  it('forwards to /hooks/<agent> and prints the answer; allow prints nothing; fails open, or closed when asked', async () => {
    const server = await startServer();
    const root = project();
    fs.mkdirSync(path.join(root, '.huddle'), { recursive: true });
    fs.writeFileSync(path.join(root, '.huddle/config.json'), JSON.stringify({ project: 'shim1' }));
    // The script as init writes it (init writing it, and the hook commands that run it: the next test).
    fs.writeFileSync(path.join(root, SHIM_FILE), shimScript(server.url));
    const lock = await fetch(`${server.url}/api/p/shim1/op/lock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: { id: 'A', name: 'alice' }, paths: ['src/api.ts'] }) });
    expect(((await lock.json()) as { ok: boolean }).ok).toBe(true);
    const shim = path.join(root, '.huddle/hook.sh');
    const payload = (file: string) => JSON.stringify({ session_id: 'cx-1', cwd: root, hook_event_name: 'PreToolUse', tool_name: 'apply_patch', tool_input: { command: `*** Begin Patch\n*** Update File: ${file}\n*** End Patch\n` } });
    const denied = await run('sh', [shim, 'codex'], root, payload('src/api.ts'));
    expect(denied.code).toBe(0);
    expect(JSON.parse(denied.stdout).hookSpecificOutput.permissionDecisionReason).toContain('alice');
    const allowed = await run('sh', [shim, 'codex'], root, payload('src/free.ts'));
    expect(allowed).toMatchObject({ code: 0, stdout: '' });
    const down = await run('sh', [shim, 'codex'], root, payload('src/api.ts'), { HUDDLE_HOOK_URL: 'http://127.0.0.1:9' });
    expect(down).toMatchObject({ code: 0, stdout: '' });
    expect(down.stderr).toMatch(/continuing without huddle/);
    const closed = await run('sh', [shim, 'codex'], root, payload('src/api.ts'), { HUDDLE_HOOK_URL: 'http://127.0.0.1:9', HUDDLE_FAIL_CLOSED: '1' });
    expect(closed.code).toBe(2);
  });

  it('the hook commands init writes find the script in a checkout moved elsewhere, from a subfolder, as each agent runs them', async () => {
    const server = await startServer();
    const first = path.join(tempDir(), 'where-init-ran');
    fs.mkdirSync(path.join(first, 'src'), { recursive: true });
    spawnSync('git', ['init', '-q', first]);
    fs.mkdirSync(path.join(first, '.huddle'));
    fs.writeFileSync(path.join(first, '.huddle/config.json'), JSON.stringify({ project: 'shim-moved' }));
    expect((await huddle(['init', '--agent', 'codex,gemini,cursor', '--url', server.url, '--bin', 'huddle', '--no-guard'], first)).code).toBe(0);
    // A teammate's checkout somewhere else; the first one is gone.
    const root = path.join(tempDir(), 'teammate', 'checkout');
    fs.mkdirSync(path.dirname(root), { recursive: true });
    fs.renameSync(first, root);
    const lock = await fetch(`${server.url}/api/p/shim-moved/op/lock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: { id: 'A', name: 'alice' }, paths: ['src/api.ts'] }) });
    expect(((await lock.json()) as { ok: boolean }).ok).toBe(true);
    const hookCmd = (file: string, pick: (o: any) => string) => pick(JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')));
    const codexCmd = hookCmd('.codex/hooks.json', (o) => o.hooks.PreToolUse[0].hooks[0].command);
    const geminiCmd = hookCmd('.gemini/settings.json', (o) => o.hooks.BeforeTool[0].hooks[0].command);
    const cursorCmd = hookCmd('.cursor/hooks.json', (o) => o.hooks.preToolUse[0].command);
    const codexIn = JSON.stringify({ session_id: 'cx-m', cwd: path.join(root, 'src'), hook_event_name: 'PreToolUse', tool_name: 'apply_patch', tool_input: { command: '*** Begin Patch\n*** Update File: api.ts\n*** End Patch\n' } });
    // Codex 0.171.0 runs hooks in the session's cwd (here a subfolder), with no project variable.
    const cx = await run('sh', ['-c', codexCmd], path.join(root, 'src'), codexIn);
    expect(cx.code, cx.stderr).toBe(0);
    expect(cx.stdout, cx.stderr).not.toBe('');
    expect(JSON.parse(cx.stdout).hookSpecificOutput.permissionDecisionReason).toContain('alice');
    // Gemini CLI 0.61.0 sets GEMINI_PROJECT_DIR to the folder whose .gemini/ it loaded.
    const gemIn = JSON.stringify({ session_id: 'gm-m', cwd: root, hook_event_name: 'BeforeTool', tool_name: 'replace', tool_input: { file_path: path.join(root, 'src/api.ts'), old_string: 'a', new_string: 'b' } });
    const gm = await run('sh', ['-c', geminiCmd], root, gemIn, { GEMINI_PROJECT_DIR: root });
    expect(gm.code, gm.stderr).toBe(0);
    expect(JSON.parse(gm.stdout)).toMatchObject({ decision: 'deny', reason: expect.stringContaining('alice') });
    const cuIn = JSON.stringify({ conversation_id: 'cu-m', workspace_roots: [root], cwd: root, hook_event_name: 'preToolUse', tool_name: 'Write', tool_input: { file_path: path.join(root, 'src/api.ts') } });
    const cu = await run('sh', ['-c', cursorCmd], root, cuIn);
    expect(cu.code, cu.stderr).toBe(0);
    expect(cu.stdout).toMatch(/"permission":"deny"/);
  });

  it('init rewrites hook files that name the script by absolute path, and says Codex must trust them again; doctor fails on another checkout\'s path', async () => {
    const server = await startServer();
    const root = project();
    expect((await huddle(['init', '--agent', 'codex', '--url', server.url, '--bin', 'huddle', '--no-guard'], root)).code).toBe(0);
    const file = path.join(root, '.codex/hooks.json');
    const portable = fs.readFileSync(file, 'utf8');
    // What an older huddle init wrote, in the checkout it ran in.
    const old = '/home/someone/elsewhere';
    fs.writeFileSync(file, portable.replaceAll(JSON.stringify(shimCommand('codex')).slice(1, -1), `sh \\"${old}/.huddle/hook.sh\\" codex`));
    expect(fs.readFileSync(file, 'utf8')).toContain(`${old}/.huddle/hook.sh`);
    const home = tempDir('huddle-doctor-home-');
    const doc = await run(process.execPath, [CLI, 'doctor', '--url', server.url], root, '', { HOME: home, CODEX_HOME: path.join(home, '.codex') });
    expect(doc.code).toBe(1);
    expect(doc.stdout).toMatch(new RegExp(`^FAIL codex\\s+\\.codex/hooks\\.json runs ${old}/\\.huddle/hook\\.sh, another checkout's hook script — fix: huddle init --agent codex`, 'm'));
    const again = await huddle(['init', '--agent', 'codex', '--url', server.url, '--bin', 'huddle', '--no-guard'], root);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/note: \.codex\/hooks\.json: huddle's hook commands changed, so Codex counts them as modified: trust them again once/);
    expect(fs.readFileSync(file, 'utf8')).toBe(portable);
    // Unchanged the next time: no note.
    expect((await huddle(['init', '--agent', 'codex', '--url', server.url, '--bin', 'huddle', '--no-guard'], root)).stdout).not.toMatch(/trust them again/);
  });
});

describe('huddle doctor', () => {
  it('one line per check: wired, server, Codex trust, probe through the shim; exit 1 when something is off', async () => {
    const server = await startServer();
    const root = project();
    const home = tempDir('huddle-doctor-home-');
    expect((await huddle(['init', '--agent', 'codex,gemini', '--url', server.url, '--bin', 'huddle', '--no-guard'], root)).code).toBe(0);
    const r = await run(process.execPath, [CLI, 'doctor', '--url', server.url], root, '', { HOME: home, CODEX_HOME: path.join(home, '.codex') });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ok\s+server/m);
    expect(r.stdout).toMatch(/^ok\s+gemini\s+probe hook answered/m);
    expect(r.stdout).toMatch(/^FAIL gemini\s+folder not trusted.*fix: .*Trust folder/m);
    fs.mkdirSync(path.join(home, '.gemini'));
    fs.writeFileSync(path.join(home, '.gemini/trustedFolders.json'), JSON.stringify({ [path.dirname(root)]: 'TRUST_FOLDER' }));
    // No codex on PATH here: doctor reads Codex's config.toml. First gate: the folder.
    expect(r.stdout).toMatch(/^FAIL codex\s+folder not trusted.*fix: .*Trust this folder\?/m);
    fs.mkdirSync(path.join(home, '.codex'));
    const cfg = path.join(home, '.codex/config.toml');
    fs.writeFileSync(cfg, `[projects.${JSON.stringify(root)}]\ntrust_level = "trusted"\n`);
    // Second gate: each hook's trust record (one missing event is enough to fail).
    const state = (events: string[]) => events.map((e) => `[hooks.state."${path.join(root, '.codex/hooks.json')}:${e}:0:0"]\ntrusted_hash = "sha256:abc"\n`).join('');
    fs.appendFileSync(cfg, state(['session_start', 'user_prompt_submit', 'pre_tool_use', 'post_tool_use', 'stop']));
    expect((await run(process.execPath, [CLI, 'doctor', '--url', server.url], root, '', { HOME: home, CODEX_HOME: path.join(home, '.codex') })).stdout).toMatch(/^FAIL codex\s+hooks not trusted \(no trusted_hash for session_end\).*fix: .*Trust all and continue/m);
    fs.appendFileSync(cfg, state(['session_end']));
    const ok = await run(process.execPath, [CLI, 'doctor', '--url', server.url], root, '', { HOME: home, CODEX_HOME: path.join(home, '.codex') });
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^ok\s+gemini\s+folder trusted/m);
  });
});
