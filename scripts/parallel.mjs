#!/usr/bin/env node
/**
 * Run npm scripts at the same time: `node scripts/parallel.mjs build typecheck`.
 * Why: `npm test` first builds (tsc, then esbuild) and type-checks the tests
 * (another tsc); each tsc is one busy core, so on a 2-core machine the two
 * together take about as long as the longer one alone (issue 15). Each script's
 * output is printed whole when it ends, so the two never interleave; the exit
 * code is the first failing script's, after all have ended.
 */
import { spawn } from 'node:child_process';

const scripts = process.argv.slice(2);
if (!scripts.length) {
  console.error('usage: node scripts/parallel.mjs <npm script>...');
  process.exit(2);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const runs = scripts.map(
  (name) =>
    new Promise((resolve) => {
      const t0 = Date.now();
      const p = spawn(npm, ['run', name], { stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
      const out = [];
      p.stdout.on('data', (d) => out.push(d));
      p.stderr.on('data', (d) => out.push(d));
      p.on('error', (err) => out.push(Buffer.from(`${err.message}\n`)));
      p.on('close', (code, signal) => {
        const text = Buffer.concat(out).toString();
        const ok = code === 0;
        process.stdout.write(`${ok ? '' : '\n'}> ${name}: ${ok ? 'ok' : `failed (${signal ?? `exit ${code}`})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n${text}`);
        resolve(ok ? 0 : code || 1);
      });
    }),
);
const codes = await Promise.all(runs);
process.exit(codes.find((c) => c !== 0) ?? 0);
