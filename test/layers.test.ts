/** Layers point one way: src/ is the library, relay/ the server on it, cli/ the command on both. */
import fs from 'node:fs';
import path from 'node:path';
import { parseSync } from 'rolldown/utils';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (/\.ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Every relative import (static, dynamic, type-only, re-export) of a file, as a repository path (oxc's parser, via rolldown). */
function importsOf(file: string): string[] {
  return specifiersOf(file, fs.readFileSync(path.join(ROOT, file), 'utf8'))
    .filter((f) => f.startsWith('.'))
    .map((f) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), f)).replace(/\.js$/, '.ts'));
}

/** The module specifiers a TypeScript text imports or re-exports, in order of kind: static, re-exports, dynamic. */
function specifiersOf(file: string, text: string): string[] {
  const { module: m, errors } = parseSync(file, text, { lang: 'ts' });
  if (errors.length) throw new Error(`${file}: ${errors[0].message}`);
  const specs = [
    ...m.staticImports.map((i) => i.moduleRequest.value),
    ...m.staticExports.flatMap((e) => e.entries.map((x) => x.moduleRequest?.value ?? '')),
    // A dynamic import's argument as written: a string literal, quotes and all.
    ...m.dynamicImports.map((d) => text.slice(d.moduleRequest.start, d.moduleRequest.end).replace(/^['"`]|['"`]$/g, '')),
  ];
  return specs.filter(Boolean);
}

function violations(from: string, forbidden: string[]): string[] {
  const bad: string[] = [];
  for (const file of sources(from)) {
    for (const imp of importsOf(file)) if (forbidden.some((f) => imp === f || imp.startsWith(f + path.sep))) bad.push(`${file} imports ${imp}`);
  }
  return bad;
}

describe('layers', () => {
  it('src/ imports neither relay/ nor cli/', () => {
    expect(violations('src', ['relay', 'cli', 'web'])).toEqual([]);
  });

  it('relay/ never imports cli/', () => {
    expect(violations('relay', ['cli', 'web'])).toEqual([]);
  });

  it('web/ (the dashboard) builds on src/ only', () => {
    expect(violations('web', ['relay', 'cli'])).toEqual([]);
  });

  it('feature modules of the server do not import the server (they get relay/http.ts services)', () => {
    const bad = sources('relay')
      .filter((f) => f !== path.join('relay', 'server.ts'))
      .flatMap((f) => importsOf(f).filter((i) => i === path.join('relay', 'server.ts')).map((i) => `${f} imports ${i}`));
    expect(bad).toEqual([]);
  });

  it('the scanner sees imports (a fixture with a forbidden one is caught)', () => {
    const text = [
      "import { x } from '../cli/config.js';",
      "import type { T } from '../relay/server.js';",
      "export type { U } from '../relay/room.js';",
      "export * from '../cli/json.js';",
      "// import z from '../cli/in-a-comment.js'",
      "const s = \"import q from '../cli/in-a-string.js'\";",
      "const y = await import('../relay/api.js');",
    ].join('\n');
    expect(specifiersOf('src/fixture.ts', text)).toEqual(['../cli/config.js', '../relay/server.js', '../relay/room.js', '../cli/json.js', '../relay/api.js']);
  });
});
