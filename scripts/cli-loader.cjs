#!/usr/bin/env node
/*
 * The `huddle` command (installed as dist/cli/huddle.js by scripts/build-cli.mjs).
 * It runs the thin bundle beside it (huddle-thin.js: every command but the heavy
 * ones) and, when that one does not hold the command, the full bundle
 * (huddle-bundle.js), each from V8's code cache when one matches: compiling a
 * bundle costs a thin command (peek, lock, decide) about as much as the rest of
 * its own work. Node 22 has module.enableCompileCache(); Node 20 has not, so this
 * does the same for these files. The build ships a cache for the Node it ran on;
 * under another Node one is written under the user's cache folder on the first
 * run. V8 checks every cache against the source and its own version and flags,
 * and a rejected or missing cache only means a plain compile.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const tag = `${process.version}-${process.arch}`;

function read(f) {
  try {
    return fs.readFileSync(f);
  } catch {
    return undefined;
  }
}

/** Where the cache of `name` (its source `length` long) is read and, when missing or stale, written. */
function cachePath(name, length) {
  const shipped = path.join(__dirname, `${name}.${tag}.cache`);
  if (process.env.HUDDLE_WRITE_COMPILE_CACHE) return { file: shipped, write: true }; // the build
  if (fs.existsSync(shipped)) return { file: shipped, write: false };
  const base = process.env.XDG_CACHE_HOME || path.join(require('node:os').homedir(), '.cache');
  return { file: path.join(base, 'huddle', `${name}-${tag}-${length}.cache`), write: true };
}

/**
 * Run the bundle `name` (a CommonJS module compiled as a function body). It gets
 * one more parameter than a module, huddleRunFull: what the thin bundle calls to
 * hand the command line to the full one (cli/main.ts).
 */
function run(name, huddleRunFull) {
  const file = path.join(__dirname, `${name}.js`);
  const source = fs.readFileSync(file, 'utf8');
  const cache = cachePath(name, source.length);
  const cachedData = read(cache.file);
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, huddleRunFull) { ${source}\n})`, { filename: file, cachedData });
  // The build writes after every run it makes: what earlier runs compiled comes in with the cache and stays.
  if (cache.write && (process.env.HUDDLE_WRITE_COMPILE_CACHE || cachedData === undefined || script.cachedDataRejected)) {
    // Written at exit, so that it holds the functions this command compiled too.
    process.once('exit', () => {
      try {
        fs.mkdirSync(path.dirname(cache.file), { recursive: true });
        const tmp = `${cache.file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cache.file);
      } catch {
        /* a cache only saves time */
      }
    });
  }
  script.runInThisContext()(module.exports, require, module, file, __dirname, huddleRunFull);
}

run('huddle-thin', () => run('huddle-bundle'));
