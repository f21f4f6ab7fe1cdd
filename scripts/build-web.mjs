#!/usr/bin/env node
/**
 * Build the browser dashboard into dist/web: web/main.ts bundled with its
 * imports (yjs, y-protocols, lib0 and huddle's own model and connection code)
 * by esbuild, plus the page and its stylesheet. `npm run build` runs this after
 * tsc; the server serves the folder (relay/dashboard.ts).
 */
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist', 'web');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const t0 = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: ['web/main.ts'],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  // The connection module loads `ws` lazily and only where there is no global WebSocket; never in a browser.
  external: ['ws'],
  metafile: true,
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) fs.copyFileSync(path.join(root, 'web', f), path.join(out, f));
const bytes = result.metafile.outputs['dist/web/app.js']?.bytes ?? fs.statSync(path.join(out, 'app.js')).size;
console.log(`dashboard: dist/web/app.js ${(bytes / 1024).toFixed(0)} KiB in ${Date.now() - t0} ms`);
