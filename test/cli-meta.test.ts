/**
 * The huddle command's own surface (issue 15): the bundle's per-command loading
 * knows every command, `version`, `completion`, `--color`, a bare `task`, and
 * one error prefix. Few processes: the registry check runs in-process.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { CLI, cleanup, tempDir, waitClose } from './helpers.js';
import { COMMAND_GROUP, GROUPS, commandOf } from '../cli/program.js';
import { useColor } from '../cli/format.js';

afterEach(cleanup);

/** The command as a child process; several run at once (they share nothing). */
async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HUDDLE_') && !k.startsWith('CLAUDE_CODE_') && k !== 'NO_COLOR' && k !== 'FORCE_COLOR') clean[k] = v;
  // A port nothing listens on: no command here may need a server.
  const p = spawn(process.execPath, [CLI, '--url', 'ws://127.0.0.1:9', ...args], { cwd: tempDir('huddle-meta-'), env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d) => (stdout += d));
  p.stderr!.on('data', (d) => (stderr += d));
  const { code } = await waitClose(p);
  return { code, stdout, stderr };
}

describe('the huddle command', () => {
  it('maps every top-level command to the group that registers it', async () => {
    const seen = new Map<string, string>();
    for (const [group, load] of Object.entries(GROUPS)) {
      const program = new Command();
      (await load())(program);
      for (const c of program.commands) seen.set(c.name(), group);
    }
    expect(Object.fromEntries([...seen].sort())).toEqual(Object.fromEntries(Object.entries(COMMAND_GROUP).sort()));
  });

  it('finds the command name after global options and their values', () => {
    expect(commandOf(['--url', 'ws://x', '--project', 'p', 'lock', 'a.ts'])).toBe('lock');
    expect(commandOf(['--color', 'never', 'peek', '--json'])).toBe('peek');
    expect(commandOf(['--help'])).toBeNull();
    expect(commandOf([])).toBeNull();
  });

  // Nine CLI processes (at once): about 2 s idle in a row, 80 s once at a load of 25 on 2 cores; far from its timeout.
  it('version, completion for three shells, a bare task, one error prefix', { timeout: 240_000 }, async () => {
    const [v, plain, bash, zsh, fish, task, bad, badColor, badInit] = await Promise.all([
      run(['version', '--json']),
      run(['version']),
      run(['completion', 'bash']),
      run(['completion', 'zsh']),
      run(['completion', 'fish']),
      run(['task']),
      run(['frobnicate']),
      run(['--color', 'sometimes', 'version']),
      // init's own errors (a bad --agent here) carry the same prefix.
      run(['init', '--agent', 'emacs', '--dry-run']),
    ]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), node: process.version });
    expect(plain.stdout).toMatch(/^huddle \d+\.\d+\.\d+ \(node v/);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toMatch(/complete -o default -F _huddle huddle/);
    expect(bash.stdout).toMatch(/"task"\) words="add claim done/);
    expect(zsh.stdout).toMatch(/^#compdef huddle/);
    expect(fish.stdout).toMatch(/complete -c huddle -n '__fish_use_subcommand' -a peek/);
    expect(task.code).toBe(0);
    expect(task.stdout).toMatch(/claim \[options\] <id>/);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^huddle: unknown command 'frobnicate'/);
    expect(badColor.code).toBe(1);
    expect(badColor.stderr).toMatch(/^huddle: --color must be auto, always or never/);
    expect(badInit.code).toBe(1);
    expect(badInit.stderr).toMatch(/^huddle: init: unknown agent "emacs" \(one of /);
  });

  it('colour: --color wins, then FORCE_COLOR, then NO_COLOR and the terminal', () => {
    expect(useColor({ HUDDLE_COLOR: 'always' }, false)).toBe(true);
    expect(useColor({ HUDDLE_COLOR: 'never', FORCE_COLOR: '1' }, true)).toBe(false);
    expect(useColor({ FORCE_COLOR: '1' }, false)).toBe(true);
    expect(useColor({ FORCE_COLOR: '0' }, true)).toBe(false);
    expect(useColor({ NO_COLOR: '1' }, true)).toBe(false);
    expect(useColor({}, true)).toBe(true);
    expect(useColor({}, false)).toBe(false);
  });
});
