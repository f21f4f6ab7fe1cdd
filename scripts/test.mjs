#!/usr/bin/env node
/**
 * `npm test`: the tests (vitest, arguments passed on) and the type check
 * (`npm run typecheck`) side by side; the exit code is the tests' if they
 * fail, else the type check's. Why side by side: the type check is two tsc
 * runs, 15-20 s of one core, and the tests leave about a third of a 2-core
 * machine idle while they wait on servers, browsers and child processes; run
 * first, the check added its whole time to the suite's (issue 15). It runs
 * at a lower priority so the tests get the CPU first and it takes the rest;
 * its output is printed when it ends, so it never cuts into the tests' lines.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const shell = process.platform === 'win32';

const t0 = Date.now();
const check = spawn(npm, ['run', '--silent', 'typecheck'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], shell });
try {
  os.setPriority(check.pid, 10);
} catch {
  // Not allowed here (or no such process yet): it then runs at the tests' priority, only slower for them.
}
const checkOut = [];
check.stdout.on('data', (d) => checkOut.push(d));
check.stderr.on('data', (d) => checkOut.push(d));
const checked = new Promise((resolve) => {
  check.on('error', (err) => {
    checkOut.push(Buffer.from(`${err.message}\n`));
    resolve(1);
  });
  check.on('close', (code, signal) => resolve(code === 0 ? 0 : 1));
});

const vitest = spawn(process.execPath, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
const tested = new Promise((resolve) => vitest.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    check.kill(sig);
    vitest.kill(sig);
  });
}

const testCode = await tested;
if (check.exitCode === null && check.signalCode === null) process.stdout.write('\nwaiting for the type check…\n');
const checkCode = await checked;
const text = Buffer.concat(checkOut).toString();
process.stdout.write(`\n> typecheck: ${checkCode === 0 ? 'ok' : 'FAILED'} (${((Date.now() - t0) / 1000).toFixed(1)} s after the start)\n${checkCode === 0 ? '' : text}`);
process.exit(testCode || checkCode);
