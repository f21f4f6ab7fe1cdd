/**
 * How the huddle command starts (issue 15): the thin bundle runs every command
 * first and hands the heavy ones to the full bundle, registering only the
 * command that runs builds the same definition as registering all of them,
 * and the shipped code caches are ones V8 accepts, with a damaged or missing
 * cache only meaning a plain compile. Needs dist/ (npm run build).
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { CLI, ROOT, cleanup, tempDir } from './helpers.js';
import { registerContext } from '../cli/commands/context.js';
import { onlyCommand } from '../cli/only-command.js';
import { programFor } from '../cli/program.js';

afterAll(cleanup);

const DIST = path.dirname(CLI);
const tag = `${process.version}-${process.arch}`;

function run(cli: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HUDDLE_') && !k.startsWith('CLAUDE_CODE_') && !k.startsWith('XDG_')) clean[k] = v;
  // A port nothing listens on: no command here needs a server.
  const r = spawnSync(process.execPath, [cli, '--url', 'ws://127.0.0.1:9', ...args], { cwd: tempDir('huddle-bundles-'), env: { ...clean, ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every command path under `cmd` with its help text. */
function helps(cmd: Command, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const sub of cmd.commands) {
    const name = `${prefix}${sub.name()}`;
    out.set(name, sub.helpInformation());
    for (const [k, v] of helps(sub, `${name} `)) out.set(k, v);
  }
  return out;
}

describe('registering only the command that runs', () => {
  it('builds that command (subcommands included) exactly as a full registration does, and nothing else', () => {
    const all = new Command();
    registerContext(all);
    const full = helps(all);
    expect(full.has('decide') && full.has('note set') && full.has('inbox')).toBe(true);
    for (const name of ['decide', 'note', 'inbox']) {
      const program = new Command();
      registerContext(onlyCommand(program, name));
      expect(program.commands.map((c) => c.name())).toEqual([name]);
      const only = helps(program);
      for (const [k, v] of only) expect(v).toBe(full.get(k));
      expect([...only.keys()]).toEqual([...full.keys()].filter((k) => k === name || k.startsWith(`${name} `)));
    }
  });

  it('programFor a known command registers it alone; with no command, every one', async () => {
    expect((await programFor(['--project', 'p', 'decide', 'x'])).commands.map((c) => c.name())).toEqual(['decide']);
    expect((await programFor([])).commands.length).toBeGreaterThan(30);
  });
});

describe('the thin and the full bundle', () => {
  it('the thin bundle lacks the server, and hands serve, help and meta to the full one', () => {
    const thin = fs.readFileSync(path.join(DIST, 'huddle-thin.js'), 'utf8');
    const full = fs.readFileSync(path.join(DIST, 'huddle-bundle.js'), 'utf8');
    const serveText = 'Run the huddle server';
    expect(full).toContain(serveText);
    expect(thin).not.toContain(serveText);
    expect(thin.length).toBeLessThan(full.length / 2);

    const serve = run(CLI, ['serve', '--help']);
    expect(serve.code).toBe(0);
    expect(serve.stdout).toContain('Usage: huddle serve');
    const help = run(CLI, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/serve \[options\][\s\S]*peek \[options\][\s\S]*decide/);
    const version = run(CLI, ['version', '--json']);
    expect(version.code).toBe(0);
    expect(JSON.parse(version.stdout).version).toMatch(/^\d+\.\d+\.\d+/);
    const unknown = run(CLI, ['bogus']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'bogus'");
  });

  it('ships code caches V8 accepts for this Node', () => {
    for (const name of ['huddle-thin', 'huddle-bundle']) {
      const file = path.join(DIST, `${name}.js`);
      const cachedData = fs.readFileSync(path.join(DIST, `${name}.${tag}.cache`));
      // The wrapper scripts/cli-loader.cjs compiles: a cache only matches the same source.
      const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, huddleRunFull) { ${fs.readFileSync(file, 'utf8')}\n})`, { filename: file, cachedData });
      expect({ name, rejected: script.cachedDataRejected }).toEqual({ name, rejected: false });
    }
  });

  it('a damaged cache only means a plain compile, and a missing one is written under the user cache folder', () => {
    // A copy inside dist/, so that the packages the bundles require still resolve from node_modules.
    const copy = fs.mkdtempSync(path.join(ROOT, 'dist', '.cli-copy-'));
    try {
      for (const f of fs.readdirSync(DIST)) fs.copyFileSync(path.join(DIST, f), path.join(copy, f));
      const cli = path.join(copy, 'huddle.js');
      fs.writeFileSync(path.join(copy, `huddle-thin.${tag}.cache`), Buffer.alloc(4096, 7));
      const damaged = run(cli, ['decide', '--help']);
      expect(damaged.code).toBe(0);
      expect(damaged.stdout).toContain('Usage: huddle decide');

      for (const f of fs.readdirSync(copy)) if (f.endsWith('.cache')) fs.rmSync(path.join(copy, f));
      const cacheHome = tempDir('huddle-xdg-');
      const first = run(cli, ['serve', '--help'], { XDG_CACHE_HOME: cacheHome });
      expect(first.code).toBe(0);
      const written = fs.readdirSync(path.join(cacheHome, 'huddle')).sort();
      expect(written.map((f) => f.replace(/-\d+\.cache$/, ''))).toEqual([`huddle-bundle-${tag}`, `huddle-thin-${tag}`]);
      const again = run(cli, ['serve', '--help'], { XDG_CACHE_HOME: cacheHome });
      expect(again.stdout).toBe(first.stdout);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
