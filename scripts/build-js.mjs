#!/usr/bin/env node
/**
 * Compile huddle's TypeScript to dist/ file by file with esbuild (no bundling,
 * no type check): the same layout tsc's `outDir`/`rootDir` gives, in about a
 * second, where tsc 5 emitting took ten or more on 2 cores (issue 15: `npm test`
 * builds first). Types are checked by `npm run typecheck` (tsc, no output), which
 * `npm test` runs beside this build, and the package's declaration files come
 * from `tsc --emitDeclarationOnly` in `npm run build`: so every JavaScript file
 * huddle runs or ships is made here, one way.
 *
 * What is compiled: every .ts file under the folders tsconfig.json includes,
 * and every local file they import from elsewhere (test/fixtures import
 * test/helpers.ts), found from esbuild's own import records. cli/ is left to
 * scripts/build-cli.mjs, which bundles it.
 */
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const ROOTS = ['src', 'relay', 'bench', 'test/fixtures'];

function tsFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const t0 = Date.now();
const files = new Set(ROOTS.flatMap(tsFiles));
// Local imports from outside those folders: a scan (bundle mode, so esbuild resolves every import, each
// one then left external) lists them; the files it adds are scanned in turn, until nothing new turns up.
const seen = new Set();
const recordImports = {
  name: 'record-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.path.startsWith('.')) {
        const ts = path.relative(root, path.resolve(args.resolveDir, args.path)).split(path.sep).join('/').replace(/\.js$/, '.ts');
        if (!ts.startsWith('cli/') && fs.existsSync(path.join(root, ts))) seen.add(ts);
      }
      return { path: args.path, external: true };
    });
  },
};
for (let scan = [...files]; scan.length > 0; ) {
  await build({ absWorkingDir: root, entryPoints: scan, bundle: true, write: false, outdir: 'dist', outbase: '.', platform: 'node', format: 'esm', plugins: [recordImports], logLevel: 'silent' });
  scan = [...seen].filter((f) => !files.has(f));
  for (const f of scan) files.add(f);
}
await build({
  absWorkingDir: root,
  entryPoints: [...files],
  outdir: 'dist',
  outbase: '.',
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
// The fixtures tests start as child processes (lock racers, chaos sessions, peers in their own process) are
// bundled over their compiled copies: loading src/ and lib0 as some hundred ES modules cost each start
// 0.4 s of CPU here, the bundle 0.2 (issue 15: the suite starts some hundred of them). Packages with native
// parts or their own optional requires stay in node_modules; the rest, Yjs included, is inside (one copy
// per process). Fixtures that tests or the bench import (pg-cluster, claude-hook-payloads) stay modules.
const SPAWNED = ['chaos-session', 'dash-peer', 'lease-holder', 'lock-racer', 'persistence-writer', 'pg-append-child', 'stall-server', 'store-session', 'writer'];
await build({
  absWorkingDir: root,
  entryPoints: SPAWNED.map((f) => `test/fixtures/${f}.ts`),
  outdir: 'dist/test/fixtures',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: ['classic-level', 'pg', 'ws'],
  // CommonJS inside an ES module bundle calls require() for Node's built-ins.
  banner: { js: "import { createRequire as __huddleRequire } from 'node:module'; const require = __huddleRequire(import.meta.url);" },
  logLevel: 'warning',
});
console.log(`js: ${files.size} files to dist/ in ${Date.now() - t0} ms (${SPAWNED.length} fixtures bundled)`);
