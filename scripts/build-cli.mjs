#!/usr/bin/env node
/**
 * Bundle the huddle command into one CommonJS file, dist/cli/huddle.js (run by
 * `npm run build` after tsc; it replaces tsc's output of cli/, which nothing
 * else loads). Why: a thin command (peek, lock, decide) is mostly Node start-up,
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
import { spawnSync } from 'node:child_process';

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

fs.rmSync(outdir, { recursive: true, force: true });
fs.mkdirSync(outdir, { recursive: true });
const t0 = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: ['cli/huddle.ts'],
  outfile: path.join(outdir, 'huddle-bundle.js'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import() of a package or built-in becomes require() (every dependency ships CommonJS): the loader's vm.Script has no ES module loader.
  supported: { 'dynamic-import': false },
  external: [...external, ...external.map((d) => `${d}/*`)],
  define: {
    HUDDLE_VERSION: JSON.stringify(pkg.version),
    // The server finds the dashboard beside it (relay/dashboard.ts): dist/cli/../web.
    'import.meta.dirname': '__dirname',
  },
  minifySyntax: true,
  minifyWhitespace: !process.env.HUDDLE_BUILD_NAMES,
  legalComments: 'none',
  plugins: [lazyChildProcess, noZodLocales, plainBuiltins],
  metafile: true,
  minifyIdentifiers: !process.env.HUDDLE_BUILD_NAMES,
  logLevel: 'warning',
});
// The package is "type": "module"; this folder holds the one CommonJS file.
fs.writeFileSync(path.join(outdir, 'package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
// The loader compiles it as a function body: no shebang line.
const bundleFile = path.join(outdir, 'huddle-bundle.js');
fs.writeFileSync(bundleFile, fs.readFileSync(bundleFile, 'utf8').replace(/^#![^\n]*\n/, ''));
// The command itself: a loader that runs the bundle from V8's code cache (see scripts/cli-loader.cjs).
fs.copyFileSync(path.join(root, 'scripts', 'cli-loader.cjs'), path.join(outdir, 'huddle.js'));
fs.chmodSync(path.join(outdir, 'huddle.js'), 0o755);
// The cache for this Node, made by running a command that compiles the common start-up path.
const made = spawnSync(process.execPath, [path.join(outdir, 'huddle.js'), 'peek', '--help'], { env: { ...process.env, HUDDLE_WRITE_COMPILE_CACHE: '1' }, stdio: 'ignore' });
if (made.status !== 0) throw new Error(`making the compile cache failed (exit ${made.status})`);
const bytes = result.metafile.outputs['dist/cli/huddle-bundle.js'].bytes;
if (process.env.HUDDLE_BUILD_ANALYZE) console.log(await (await import('esbuild')).analyzeMetafile(result.metafile));
console.log(`cli: dist/cli/huddle.js + huddle-bundle.js ${(bytes / 1024).toFixed(0)} KiB in ${Date.now() - t0} ms`);
