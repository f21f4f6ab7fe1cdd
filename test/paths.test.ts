import { describe, expect, it } from 'vitest';
import { normalizePattern, patternsOverlap, PatternError } from '../src/model/paths.js';

// [a, b, overlap?] — every row is also checked the other way round (symmetry).
const TABLE: Array<[string, string, boolean]> = [
  // path vs path
  ['src/a.ts', 'src/a.ts', true],
  ['src/a.ts', 'src/b.ts', false],
  ['src/a.ts', 'src/a.tsx', false],
  ['src', 'src/a.ts', true], // path under a locked folder
  ['src/ui', 'src/ui/button/x.ts', true],
  ['src/ui', 'src/uix/a.ts', false], // prefix of a name is not a folder
  ['lib', 'src/lib/a.ts', false],
  // glob vs path
  ['src/*.ts', 'src/a.ts', true],
  ['src/*.ts', 'src/a.js', false],
  ['src/*.ts', 'src/ui/a.ts', false], // * stays within one segment
  ['src/*', 'src/ui/a.ts', true], // src/* matches the folder src/ui
  ['src/**/*.ts', 'src/ui/deep/a.ts', true],
  ['src/**/*.ts', 'src/a.ts', true], // ** matches zero segments
  ['src/**/*.ts', 'test/a.ts', false],
  ['**/*.test.ts', 'test/unit/a.test.ts', true],
  ['**/*.test.ts', 'src/a.ts', false],
  ['*.json', 'package.json', true],
  ['*.json', 'config/app.json', false], // anchored at the root
  ['src/?.ts', 'src/a.ts', true],
  ['src/?.ts', 'src/ab.ts', false],
  ['src/[ab].ts', 'src/b.ts', true],
  ['src/[ab].ts', 'src/c.ts', false],
  ['src/[!ab].ts', 'src/c.ts', true],
  ['src/[!ab].ts', 'src/a.ts', false],
  ['src/[a-c]*.ts', 'src/beta.ts', true],
  ['src/[a-c]*.ts', 'src/delta.ts', false],
  ['src', 'src/**/*.ts', true], // a folder against a glob below it
  ['docs', 'src/**', false],
  // glob vs glob
  ['src/*.ts', 'src/a*', true],
  ['src/*.ts', 'src/*.js', false],
  ['src/a*.ts', 'src/*b.ts', true], // e.g. src/ab.ts
  ['src/a*', 'src/b*', false],
  ['src/**', 'src/ui/*.css', true],
  ['**/*.css', 'src/**/*.ts', false],
  ['**/*.css', 'src/**', true],
  ['src/*/index.ts', 'src/ui/*', true],
  ['src/*/index.ts', 'src/ui/main.ts', false],
  ['**', 'anything/at/all', true],
  ['a/**/b', 'a/x/y/b', true],
  ['a/**/b', 'a/x/c.ts', false],
  ['a/**/b', 'a/x/c', true], // a/x/c may be a folder holding a/x/c/b
  ['src/a.ts', 'src/a.ts/x', false], // a file name covers nothing below it
  ['**/*.ts', 'src/a.ts', true],
  ['**/*.ts', 'src/ui', true], // src/ui may hold .ts files
  ['a/**/b/*.ts', '**/b/c.ts', true],
  ['src/\\*.ts', 'src/a.ts', false], // escaped star is literal
  ['src/\\*.ts', 'src/*.ts', true],
];

describe('lock target overlap', () => {
  it.each(TABLE)('%s ~ %s is %s, both ways', (a, b, want) => {
    expect(patternsOverlap(a, b)).toBe(want);
    expect(patternsOverlap(b, a)).toBe(want);
  });

  it('normalizes user paths', () => {
    expect(normalizePattern('./src//a.ts')).toBe('src/a.ts');
    expect(normalizePattern('/src/ui/')).toBe('src/ui');
    expect(normalizePattern('src/./a.ts')).toBe('src/a.ts');
    expect(() => normalizePattern('../etc/passwd')).toThrow(PatternError);
    expect(() => normalizePattern('  ')).toThrow(PatternError);
  });
});
