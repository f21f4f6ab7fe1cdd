#!/usr/bin/env node
/**
 * `npm start`: the local huddle server (`huddle serve`, arguments after `--`
 * passed on), built first when dist/ is missing or older than a source file.
 * Why here and not in `prepare`: npm lists a package's `prepare` among the
 * install scripts it warns about, even when a built tarball is installed, so
 * huddle builds at `npm pack` (`prepack`) and on demand here instead; `npm ci`
 * in a clone then compiles nothing, and the first `npm start` does.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '..');
const OUTPUTS = ['dist/cli/huddle.js', 'dist/web/app.js'];
const SOURCES = ['src', 'relay', 'cli', 'web', 'scripts', 'package.json', 'tsconfig.json'];

function newest(p) {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of fs.readdirSync(p)) t = Math.max(t, newest(path.join(p, e)));
  return t;
}

const built = Math.min(...OUTPUTS.map((f) => fs.statSync(path.join(root, f), { throwIfNoEntry: false })?.mtimeMs ?? 0));
if (built < Math.max(...SOURCES.map((s) => newest(path.join(root, s))))) {
  process.stderr.write(built === 0 ? 'huddle: building (first start, a few seconds)…\n' : 'huddle: sources changed since the last build; building…\n');
  const r = spawnSync('npm', ['run', 'build:js', '--silent'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// Run the command in this process (signals and exit codes are its own).
process.argv = [process.argv[0], path.join(root, OUTPUTS[0]), 'serve', ...process.argv.slice(2)];
await import(pathToFileURL(path.join(root, OUTPUTS[0])).href);
