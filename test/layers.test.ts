/** Layers point one way: src/ is the library, relay/ the server on it, cli/ the command on both. */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
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

/** Every relative import (static, dynamic, type-only) of a file, as a repository path. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((f) => f.startsWith('.'))
    .map((f) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), f)).replace(/\.js$/, '.ts'));
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
    const deps = ts.preProcessFile("import { x } from '../cli/config.js';\nconst y = await import('../relay/api.js');", true, true).importedFiles.map((f) => f.fileName);
    expect(deps).toEqual(['../cli/config.js', '../relay/api.js']);
  });
});
