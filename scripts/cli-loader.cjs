#!/usr/bin/env node
/*
 * The `huddle` command (installed as dist/cli/huddle.js by scripts/build-cli.mjs).
 * It runs the bundle beside it (huddle-bundle.js) from V8's code cache when one
 * matches: compiling the bundle costs a thin command (peek, lock, decide) about as
 * much as the rest of its own work. Node 22 has module.enableCompileCache(); Node 20
 * has not, so this does the same for one file. The build ships a cache for the Node
 * it ran on; under another Node one is written under the user's cache folder on the
 * first run. V8 checks every cache against the source and its own version and flags,
 * and a rejected or missing cache only means a plain compile.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const file = path.join(__dirname, 'huddle-bundle.js');
const source = fs.readFileSync(file, 'utf8');
const tag = `${process.version}-${process.arch}`;
const shipped = path.join(__dirname, `huddle-bundle.${tag}.cache`);

function read(f) {
  try {
    return fs.readFileSync(f);
  } catch {
    return undefined;
  }
}

/** Where this run's cache is read and, when missing or stale, written. */
function cachePath() {
  if (process.env.HUDDLE_WRITE_COMPILE_CACHE) return { file: shipped, write: true }; // the build
  if (fs.existsSync(shipped)) return { file: shipped, write: false };
  const base = process.env.XDG_CACHE_HOME || path.join(require('node:os').homedir(), '.cache');
  return { file: path.join(base, 'huddle', `bundle-${tag}-${source.length}.cache`), write: true };
}

const cache = cachePath();
const cachedData = process.env.HUDDLE_WRITE_COMPILE_CACHE ? undefined : read(cache.file);
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, { filename: file, cachedData });
if (cache.write && (cachedData === undefined || script.cachedDataRejected)) {
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
script.runInThisContext()(module.exports, require, module, file, __dirname);
