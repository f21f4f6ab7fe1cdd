/**
 * Issue 12, "configuration that says what is wrong": .huddle/config.json is validated (file and key
 * named), every key is documented, a token in a tracked file is warned about, and `huddle init`
 * keeps local state out of git and says what to do next.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { cleanup, ROOT, tempDir } from './helpers.js';
import { isolatedEnv, runCli } from './cli-run.js';
import { FILE_CONFIG_KEYS, fileConfigShapeKeys } from '../src/node/config-file.js';

afterEach(cleanup);

function project(config: unknown): string {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, '.huddle'));
  fs.writeFileSync(path.join(dir, '.huddle', 'config.json'), JSON.stringify(config));
  return dir;
}

describe('.huddle/config.json is checked', () => {
  it('a wrong type is an error naming the file and key; an unknown key a warning with the likely key', async () => {
    const env = isolatedEnv({ HUDDLE_URL: 'ws://127.0.0.1:9' });
    const bad = project({ project: 'c1', autoLock: 'yes' });
    const typo = project({ project: 'c1', autolock: true, upstrem: 'ws://x' });
    // Three folders of their own: at once.
    const [r, enforce, w] = await Promise.all([
      runCli(['config'], { cwd: bad, env }),
      runCli(['config'], { cwd: project({ enforce: 'strict' }), env }),
      runCli(['config', '--json'], { cwd: typo, env }),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path.join(bad, '.huddle', 'config.json')}: "autoLock" must be true or false (got "yes")`);
    expect(enforce.stderr).toContain('"enforce" must be "block", "warn" or "off" (got "strict")');
    expect(w.code).toBe(0);
    expect(w.stderr).toContain('unknown key "autolock" (did you mean "autoLock"?)');
    expect(w.stderr).toContain('unknown key "upstrem" (did you mean "upstream"?)');
  });

  it('warns when a token sits in a config file git tracks', async () => {
    const dir = project({ project: 'c2', token: 'sekrit-token-1234' });
    const env = isolatedEnv({ HUDDLE_URL: 'ws://127.0.0.1:9' });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, stdio: 'pipe' });
    git('init', '-q');
    expect((await runCli(['config'], { cwd: dir, env })).stderr).toBe('');
    git('add', '.huddle/config.json');
    const r = await runCli(['config'], { cwd: dir, env });
    expect(r.stderr).toContain('holds "token" and git tracks it');
    expect(r.stderr).not.toContain('sekrit');
  });

  it('the list of keys is the schema\'s', () => {
    expect([...FILE_CONFIG_KEYS]).toEqual(fileConfigShapeKeys());
  });

  it('the README documents every key', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration file'));
    for (const k of FILE_CONFIG_KEYS) expect(section).toContain(`| \`${k}\``);
  });

  it('huddle init ignores the data folder and init.json, keeps config.json committable, prints next steps', async () => {
    const dir = tempDir();
    const env = isolatedEnv({ HUDDLE_URL: 'ws://127.0.0.1:9' });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env, stdio: 'pipe' }).toString();
    git('init', '-q');
    fs.writeFileSync(path.join(dir, '.gitignore'), 'node_modules/');
    const r = await runCli(['init', '--bin', 'huddle'], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('updated .gitignore');
    expect(r.stdout).toContain('.huddle/data/ and .huddle/init.json stay out of git; commit .huddle/config.json');
    expect(r.stdout).toMatch(/next steps:\n\s+1\. huddle serve/);
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('node_modules/\n# huddle: local state (config.json is shared: commit it)\n.huddle/data/\n.huddle/init.json\n');
    fs.mkdirSync(path.join(dir, '.huddle', 'data'));
    fs.writeFileSync(path.join(dir, '.huddle', 'data', 'CURRENT'), 'x');
    const ignored = (f: string) => {
      try {
        git('check-ignore', '-q', f);
        return true;
      } catch {
        return false;
      }
    };
    expect(ignored('.huddle/init.json')).toBe(true);
    expect(ignored('.huddle/data/CURRENT')).toBe(true);
    expect(ignored('.huddle/config.json')).toBe(false);
    // Again: nothing changes. Uninstall: .gitignore as it was.
    expect((await runCli(['init', '--bin', 'huddle'], { cwd: dir, env })).stdout).toContain('unchanged .gitignore');
    await runCli(['init', '--uninstall'], { cwd: dir, env });
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('node_modules/');
  });
});
