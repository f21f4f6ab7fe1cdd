#!/usr/bin/env node
/**
 * Bundle the huddle command into one CommonJS file, dist/cli/huddle.js (run by
 * `npm run build` and `npm run build:js`, the only compilers of cli/: nothing
 * else loads it). Why: a thin command (peek, lock, decide) is mostly Node start-up,
 * and resolving, reading and linking dozens of ES modules costs it as much again;
 * one CommonJS file skips the ES module loader too. Modules the bundle reaches
 * only through `import()` (the server, offline replica reads, the MCP server,
 * init) are evaluated only when a command imports them, and the packages they
 * use (Yjs, LevelDB, ws, the MCP SDK) stay in node_modules, required at that
 * moment. commander and zod, needed by every command, are bundled: zod's own
 * CommonJS files are about a hundred, and resolving, reading and compiling them
 * cost a thin command more than all the rest of its work (inside the bundle
 * they come from the code cache). Its translated error messages are left out
 * (huddle never selects a locale; English stays, as zod's default).
 */
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';

const root = path.resolve(import.meta.dirname, '..');
const outdir = path.join(root, 'dist', 'cli');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const BUNDLED = new Set(['commander', 'zod']);
const external = Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d));

// node:child_process pulls in net, dgram and the stream stack at load time. commander requires it only
// to run executable subcommands (huddle has none), and huddle's own uses (guard, the process table)
// are inside functions: every importer gets a stand-in whose functions require the real module on first call.
const CHILD_PROCESS_FNS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'];
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.namespace === 'huddle-lazy' ? { path: 'node:child_process', external: true } : { path: 'child_process', namespace: 'huddle-lazy' });
    b.onLoad({ filter: /.*/, namespace: 'huddle-lazy' }, () => ({
      contents: [
        'let real;',
        "const load = () => (real ??= require('node:child_process'));",
        ...CHILD_PROCESS_FNS.map((f) => `export function ${f}(...a) { return load().${f}(...a); }`),
        `export default { ${CHILD_PROCESS_FNS.join(', ')} };`,
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

// zod re-exports every locale as `z.locales`; huddle uses none (English is configured by a direct import).
const noZodLocales = {
  name: 'no-zod-locales',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'huddle-empty' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'huddle-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

// `import fs from 'node:fs'` becomes `__toESM(require('node:fs'))` in every importing module, and each of those
// copies every property of the module onto a new object: for fs, path, os and net together about 4 ms of a thin
// command's start-up. huddle's own modules only default-import these, so they get the module itself.
const PLAIN_BUILTINS = /^node:(fs|path|os|net)$/;
const plainBuiltins = {
  name: 'plain-builtins',
  setup(b) {
    b.onResolve({ filter: PLAIN_BUILTINS }, (args) =>
      args.kind === 'import-statement' && !/[\\/]node_modules[\\/]/.test(args.importer) ? { path: args.path, namespace: 'huddle-builtin' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'huddle-builtin' }, (args) => ({ contents: `export default require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/** What the stand-in server answers while the caches are made: a small live snapshot with one record of each common kind. */
const STUB_SNAPSHOT = {
  project: 'cache', at: 1, source: 'live', asOf: null, upstream: null, watchers: 0,
  sessions: [{ id: 's1', name: 'alice', role: 'frontend', agent: 'claude-code', status: 'active', lastActive: 1, locks: ['a.ts'] }],
  locks: [{ id: 'l-1', path: 'a.ts', mode: 'exclusive', claimedAt: 1, expiresAt: 2, confirmed: true, session: 's1', sessionName: 'alice', role: 'frontend', state: 'held', holderStatus: 'active' }],
  tasks: { open: [], claimed: [], blocked: [], doneRecently: [] },
  decisions: [{ id: 'd-1', text: 'REST', rationale: 'simpler', by: 's1', byName: 'alice', at: 1 }],
  interfaces: [], requests: [], inbox: null, conflicts: [], notes: [],
  timeline: [{ at: 1, type: 'lock.claimed', actor: 's1', actorName: 'alice', summary: 'locked a.ts' }],
};

/** Its answers to the operations run while the caches are made. */
const STUB_RESULTS = {
  lock: { status: 'confirmed', paths: ['a.ts'], claims: [{ path: 'a.ts', mode: 'exclusive', claimedAt: 1, expiresAt: 2 }] },
  decide: STUB_SNAPSHOT.decisions[0],
};

/** Options of the three bundles; import.meta.huddleThin (cli/program.ts) says which of the command's two this is. */
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import() of a package or built-in becomes require() (every dependency ships CommonJS): the loader's vm.Script has no ES module loader.
  supported: { 'dynamic-import': false },
  external: [...external, ...external.map((d) => `${d}/*`)],
  minifySyntax: true,
  minifyWhitespace: !process.env.HUDDLE_BUILD_NAMES,
  legalComments: 'none',
  metafile: true,
  minifyIdentifiers: !process.env.HUDDLE_BUILD_NAMES,
  logLevel: 'warning',
};
const define = (thin) => ({
  HUDDLE_VERSION: JSON.stringify(pkg.version),
  'import.meta.huddleThin': String(thin),
  // The server finds the dashboard beside it (relay/dashboard.ts): dist/cli/../web.
  'import.meta.dirname': '__dirname',
});

// The offline replica (cli/offline.ts: Yjs, LevelDB and the whole model, about half of the full bundle) is a
// third bundle that either command bundle requires when no server answers.
const offlineBundle = {
  name: 'offline-bundle',
  setup(b) {
    b.onResolve({ filter: /^\.\/offline\.js$/ }, (args) =>
      /[\\/]cli[\\/]common\.ts$/.test(args.importer) ? { path: './huddle-offline.js', external: true } : undefined);
  },
};

fs.rmSync(outdir, { recursive: true, force: true });
fs.mkdirSync(outdir, { recursive: true });
const t0 = Date.now();
const bundles = [
  { name: 'huddle-thin', entry: 'cli/huddle.ts', thin: true },
  { name: 'huddle-bundle', entry: 'cli/huddle.ts', thin: false },
  { name: 'huddle-offline', entry: 'cli/offline.ts', thin: false },
];
const results = await Promise.all(bundles.map((x) => build({
  ...common,
  entryPoints: [x.entry],
  outfile: path.join(outdir, `${x.name}.js`),
  define: define(x.thin),
  plugins: [lazyChildProcess, noZodLocales, plainBuiltins, offlineBundle],
})));
// The package is "type": "module"; this folder holds CommonJS files.
fs.writeFileSync(path.join(outdir, 'package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
// The loader compiles the command's bundles as function bodies: no shebang line.
for (const name of ['huddle-thin', 'huddle-bundle']) {
  const file = path.join(outdir, `${name}.js`);
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^#![^\n]*\n/, ''));
}
// The command itself: a loader that runs the bundles from V8's code cache (see scripts/cli-loader.cjs).
fs.copyFileSync(path.join(root, 'scripts', 'cli-loader.cjs'), path.join(outdir, 'huddle.js'));
fs.chmodSync(path.join(outdir, 'huddle.js'), 0o755);
// The caches for this Node, made by running commands that compile the paths they share with the commands
// people run; each run starts from the cache the runs before it wrote (scripts/cli-loader.cjs), so the last
// holds what all of them compiled. `--help` runs the full bundle; then peek --json, lock and decide against a
// stand-in server give the thin one their request, write and output paths too (a cache from `peek --help`
// left those to be compiled on each run: 1.5 to 2 ms of each of these commands).
const stub = http.createServer((req, res) => {
  req.resume();
  const op = /\/op\/([a-z-]+)$/.exec(req.url ?? '')?.[1];
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(op ? { ok: true, stored: true, result: STUB_RESULTS[op] ?? {} } : STUB_SNAPSHOT));
});
await new Promise((resolve) => stub.listen(0, '127.0.0.1', resolve));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-build-cache-'));
try {
  // Its own home: no user configuration is read, and the last-seen cache of peek is written there.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HUDDLE_') && !k.startsWith('CLAUDE_CODE_')));
  Object.assign(env, { HOME: scratch, XDG_CACHE_HOME: path.join(scratch, 'cache'), XDG_STATE_HOME: path.join(scratch, 'state'), HUDDLE_WRITE_COMPILE_CACHE: '1' });
  const url = ['--url', `http://127.0.0.1:${stub.address().port}`, '--project', 'cache'];
  for (const args of [['--help'], [...url, 'peek', '--json'], [...url, 'lock', 'a.ts'], [...url, 'decide', 'REST', '--why', 'simpler']]) {
    const code = await new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(outdir, 'huddle.js'), ...args], { cwd: scratch, env, stdio: 'ignore' });
      child.on('exit', resolve);
    });
    if (code !== 0) throw new Error(`making the compile cache (huddle ${args.join(' ')}) failed (exit ${code})`);
  }
  // Last, the server: `huddle serve` started and stopped (SIGTERM, its clean stop), so that its start-up is in
  // the full bundle's cache too (each test server and each restart of a user's server compiles less).
  await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(outdir, 'huddle.js'), 'serve', '--port', '0', '--data', path.join(scratch, 'data')], { cwd: scratch, env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    // A server that never says where it listens must not hang the build.
    const stuck = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (/listening/.test(out)) child.kill('SIGTERM');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(stuck);
      if (code === 0) resolve();
      else reject(new Error(`making the compile cache (huddle serve) failed (${signal ?? `exit ${code}`})`));
    });
  });
} finally {
  stub.close();
  fs.rmSync(scratch, { recursive: true, force: true });
}
const sizes = bundles.map((x, i) => `${x.name}.js ${(results[i].metafile.outputs[`dist/cli/${x.name}.js`].bytes / 1024).toFixed(0)} KiB`);
if (process.env.HUDDLE_BUILD_ANALYZE) for (const r of results) console.log(await (await import('esbuild')).analyzeMetafile(r.metafile));
console.log(`cli: dist/cli/huddle.js + ${sizes.join(', ')} in ${Date.now() - t0} ms`);
