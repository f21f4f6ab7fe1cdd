#!/usr/bin/env node
/**
 * `npm run test:package`: what a user installs works. Packs the built tree
 * (`npm pack --ignore-scripts`: dist/ must already be built; no build at
 * install), installs the tarball into a clean temp project with npm's cache
 * only (--offline: nothing leaves the machine), then runs the installed command:
 * `huddle version --json`, and `huddle serve` on 127.0.0.1 port 0 until its
 * dashboard and /healthz answer. Also checks the tarball ships LICENSE,
 * CHANGELOG.md, the bundle and the dashboard, and no sources or maps.
 * Exit 0 when all hold; every temp folder and child is removed at the end.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-pack-'));
const children = [];
const done = (code, msg) => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
  process.stderr.write(msg + '\n');
  process.exit(code);
};
const check = (ok, what) => {
  if (!ok) done(1, `test-package: FAILED: ${what}`);
  process.stderr.write(`test-package: ok: ${what}\n`);
};
const npm = (args, cwd = root) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });

try {
  const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp]))[0];
  const files = packed.files.map((f) => f.path);
  const tarball = path.join(tmp, packed.filename);
  for (const f of ['LICENSE', 'CHANGELOG.md', 'README.md', 'dist/cli/huddle.js', 'dist/cli/huddle-thin.js', 'dist/cli/huddle-bundle.js', 'dist/cli/huddle-offline.js', 'dist/cli/package.json', 'dist/web/index.html', 'dist/web/app.js', 'dist/src/index.js'])
    check(files.includes(f), `the tarball has ${f}`);
  check(!files.some((f) => f.endsWith('.map') || f.endsWith('.ts') && !f.endsWith('.d.ts') || f.startsWith('test/') || f.startsWith('cli/')), 'no sources, tests or source maps in the tarball');
  check(packed.size < 1024 * 1024, `the tarball is small (${(packed.size / 1024).toFixed(0)} KiB)`);

  // A clean project that depends on the tarball, installed by `npm ci --offline`: the lock file is huddle's own
  // (its runtime packages, at the versions CI tested), so npm needs no registry, only its cache of tarballs.
  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.renameSync(tarball, path.join(app, packed.filename));
  const ownLock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const runtime = Object.fromEntries(Object.entries(ownLock.packages).filter(([k, v]) => k.startsWith('node_modules/') && !v.dev));
  const own = ownLock.packages[''];
  const lock = {
    name: 'app', lockfileVersion: 3, requires: true,
    packages: {
      '': { name: 'app', dependencies: { huddle: `file:${packed.filename}` } },
      'node_modules/huddle': { version: own.version, resolved: `file:${packed.filename}`, license: own.license, dependencies: own.dependencies, bin: own.bin, engines: own.engines },
      ...runtime,
    },
  };
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, dependencies: { huddle: `file:${packed.filename}` } }));
  fs.writeFileSync(path.join(app, 'package-lock.json'), JSON.stringify(lock, null, 2));
  npm(['ci', '--offline', '--no-audit', '--no-fund'], app);
  // npm warns about a dependency's install scripts (prepare included, npm 11): huddle has none.
  const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'huddle', 'package.json'), 'utf8'));
  const hooks = ['preinstall', 'install', 'postinstall', 'prepare'].filter((k) => installed.scripts?.[k]);
  check(hooks.length === 0, `the package has no install scripts${hooks.length ? ` (has ${hooks.join(', ')})` : ''}`);
  const bin = path.join(app, 'node_modules', '.bin', 'huddle');
  const env = { ...process.env, HOME: tmp, XDG_CACHE_HOME: path.join(tmp, 'cache') };
  for (const k of Object.keys(env)) if (k.startsWith('HUDDLE_') || k.startsWith('CLAUDE_CODE_')) delete env[k];
  const v = JSON.parse(execFileSync(bin, ['version', '--json'], { cwd: tmp, env, encoding: 'utf8' }));
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  check(v.version === pkg.version, `the installed huddle runs: version ${v.version}`);

  const server = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--data', path.join(tmp, 'data'), '--log-level', 'warn'], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(server);
  let out = '';
  server.stdout.on('data', (d) => (out += d));
  server.stderr.on('data', (d) => (out += d));
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not listen within 20 s:\n${out}`)), 20_000);
    server.stdout.on('data', () => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    server.on('exit', (code) => reject(new Error(`serve exited ${code}:\n${out}`)));
  });
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  check(health.ok, 'the installed server answers /healthz');
  const page = await fetch(`http://127.0.0.1:${port}/`);
  check(page.ok && /<html/i.test(await page.text()), 'the installed server serves the dashboard');
  done(0, 'test-package: all checks passed');
} catch (err) {
  done(1, `test-package: FAILED: ${err.stack ?? err}`);
}
