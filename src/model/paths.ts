/**
 * Lock targets: repository-relative paths and gitignore-style globs, and the
 * exact, symmetric test of whether two of them can touch the same file.
 *
 * Patterns are anchored at the repository root (unlike .gitignore, a name
 * without a slash is not matched at every depth: `huddle lock package.json`
 * means the root one; write `**\/package.json` for all). A pattern also covers
 * everything below what it matches, so a lock on `src` or `src/*` covers
 * `src/ui/a.ts`. Supported: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`, `**` as a
 * whole segment, and `\` to escape.
 */
type CharToken = { kind: 'char'; test: (c: string) => boolean; sample: string[] };
type StarToken = { kind: 'star' };
type SegToken = CharToken | StarToken;
type Segment = { kind: 'globstar' } | { kind: 'seg'; tokens: SegToken[] };

export class PatternError extends Error {}

/** Normalize a user-given path or pattern to repository-relative POSIX form. */
export function normalizePattern(input: string): string {
  let p = input.trim().replace(/\\(?![*?[\]\\])/g, '/');
  if (p === '') throw new PatternError('empty path');
  p = p.replace(/^\.\/+/, '').replace(/^\/+/, '').replace(/\/+$/, '').replace(/\/{2,}/g, '/');
  const parts = p.split('/').filter((s) => s !== '.');
  if (parts.some((s) => s === '..')) throw new PatternError(`path leaves the repository: ${input}`);
  if (parts.length === 0) return '**';
  return parts.join('/');
}

export function isGlob(pattern: string): boolean {
  return /(^|[^\\])[*?[]/.test(pattern);
}

const cache = new Map<string, Segment[]>();

function parse(pattern: string): Segment[] {
  let segs = cache.get(pattern);
  if (segs) return segs;
  segs = pattern.split('/').map((s): Segment => (s === '**' ? { kind: 'globstar' } : { kind: 'seg', tokens: parseSegment(s) }));
  if (cache.size > 5000) cache.clear();
  cache.set(pattern, segs);
  return segs;
}

function literal(c: string): CharToken {
  return { kind: 'char', test: (x) => x === c, sample: [c] };
}

function parseSegment(s: string): SegToken[] {
  const tokens: SegToken[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      tokens.push(literal(s[++i]));
    } else if (c === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') {
      tokens.push({ kind: 'char', test: () => true, sample: ['a'] });
    } else if (c === '[') {
      const end = s.indexOf(']', i + 2);
      if (end < 0) {
        tokens.push(literal('['));
        continue;
      }
      let body = s.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      const ranges: Array<[string, string]> = [];
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === '-' && k + 2 < body.length) {
          ranges.push([body[k], body[k + 2]]);
          k += 2;
        } else ranges.push([body[k], body[k]]);
      }
      const inSet = (x: string) => ranges.some(([a, b]) => x >= a && x <= b);
      const test = negate ? (x: string) => !inSet(x) : inSet;
      // Samples: the range ends, plus a few characters outside any range for negated sets.
      const sample = negate ? [' ', '~', '0', 'a', 'Z', '_', '\u00e9'].concat(ranges.flat()) : ranges.flat();
      tokens.push({ kind: 'char', test, sample });
      i = end;
    } else tokens.push(literal(c));
  }
  return tokens;
}

/** Whether two single-character tokens can match one same character. */
function charsMeet(a: CharToken, b: CharToken): boolean {
  return a.sample.some((c) => a.test(c) && b.test(c)) || b.sample.some((c) => a.test(c) && b.test(c));
}

/** Whether two segment globs (no '/') match at least one common string. */
function segmentsMeet(a: SegToken[], b: SegToken[]): boolean {
  const memo = new Map<number, boolean>();
  const go = (x: number, y: number): boolean => {
    const key = x * 4096 + y;
    const m = memo.get(key);
    if (m !== undefined) return m;
    memo.set(key, false);
    let r: boolean;
    if (x === a.length && y === b.length) r = true;
    else if (x < a.length && a[x].kind === 'star') r = go(x + 1, y) || (y < b.length && go(x, y + 1));
    else if (y < b.length && b[y].kind === 'star') r = go(x, y + 1) || (x < a.length && go(x + 1, y));
    else if (x === a.length || y === b.length) r = false;
    else r = charsMeet(a[x] as CharToken, b[y] as CharToken) && go(x + 1, y + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

const heads = new Map<string, string[]>();

/** The leading segments of a pattern that hold no glob or escape characters. */
function literalHead(pattern: string): string[] {
  let h = heads.get(pattern);
  if (h) return h;
  h = [];
  for (const seg of pattern.split('/')) {
    if (/[*?[\\]/.test(seg)) break;
    h.push(seg);
  }
  if (heads.size > 5000) heads.clear();
  heads.set(pattern, h);
  return h;
}

/**
 * Whether a pattern also covers what lies below the things it matches. A
 * pattern whose last segment looks like a file name (a dot after its first
 * character: `a.ts`, `*.test.ts`) matches files only; any other (`src`,
 * `src/*`, `**`) may match folders, and then covers their contents.
 */
export function coversBelow(pattern: string): boolean {
  const last = pattern.slice(pattern.lastIndexOf('/') + 1);
  return last === '**' || last.indexOf('.', 1) < 0;
}

/**
 * True when some file is covered by both patterns. Symmetric. A pattern that
 * ends while the other still has segments matches a folder holding the other's
 * files, which counts as overlap.
 */
export function patternsOverlap(p: string, q: string): boolean {
  if (p === q) return true;
  // Fast path: a file covered by both has both patterns' leading literal segments; if they differ, none is.
  const la = literalHead(p);
  const lb = literalHead(q);
  for (let i = 0, n = Math.min(la.length, lb.length); i < n; i++) if (la[i] !== lb[i]) return false;
  const a = parse(p);
  const b = parse(q);
  const aOpen = coversBelow(p);
  const bOpen = coversBelow(q);
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * 4096 + j;
    const m = memo.get(key);
    if (m !== undefined) return m;
    memo.set(key, false);
    let r: boolean;
    if (i === a.length && j === b.length) r = true;
    else if (i === a.length) r = aOpen || (b[j].kind === 'globstar' && go(i, j + 1));
    else if (j === b.length) r = bOpen || (a[i].kind === 'globstar' && go(i + 1, j));
    else if (a[i].kind === 'globstar') r = go(i + 1, j) || go(i, j + 1);
    else if (b[j].kind === 'globstar') r = go(i, j + 1) || go(i + 1, j);
    else r = segmentsMeet((a[i] as { tokens: SegToken[] }).tokens, (b[j] as { tokens: SegToken[] }).tokens) && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}
