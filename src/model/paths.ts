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
  const parts = p.split('/').filter((s) => s !== '.' && s !== '');
  if (parts.some((s) => s === '..')) throw new PatternError(`path leaves the repository: ${input}`);
  // `/`, `./`, `\` or `.` name the repository root: refused rather than read as "everything"
  // (a slip of the keyboard would lock every file for every agent). Write `**` for that.
  if (parts.length === 0) throw new PatternError(`${JSON.stringify(input)} names the repository root, not a path; to lock the whole repository, write **`);
  const out = parts.join('/');
  const problem = patternProblem(out);
  if (problem) throw new PatternError(problem);
  return out;
}

/** Longest path or glob accepted (comparing two globs costs up to the product of their lengths). */
export const MAX_PATTERN = 1024;
/** Most wildcards (`*`, `?`, `[`) in one pattern: each adds a dimension to the overlap search. */
export const MAX_WILDCARDS = 32;

/** Why a (normalized) pattern is refused, or null. Also applied to claims read from awareness. */
export function patternProblem(p: string): string | null {
  if (p.length > MAX_PATTERN) return `path or glob is ${p.length} characters long (at most ${MAX_PATTERN})`;
  let w = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c === 92 /* \\ */) i++;
    else if (c === 42 || c === 63 || c === 91) w++;
  }
  if (w > MAX_WILDCARDS) return `glob has ${w} wildcards (at most ${MAX_WILDCARDS})`;
  return null;
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
  // One slot per (x, y), in a flat array: exact for any length (a fixed stride collided past
  // 4,096 tokens) and cheap (patterns are bounded, see patternProblem). 0 unknown, 1 false, 2 true.
  const stride = b.length + 1;
  const memo = new Uint8Array((a.length + 1) * stride);
  const go = (x: number, y: number): boolean => {
    const key = x * stride + y;
    const m = memo[key];
    if (m !== 0) return m === 2;
    memo[key] = 1;
    let r: boolean;
    if (x === a.length && y === b.length) r = true;
    else if (x < a.length && a[x].kind === 'star') r = go(x + 1, y) || (y < b.length && go(x, y + 1));
    else if (y < b.length && b[y].kind === 'star') r = go(x, y + 1) || (x < a.length && go(x + 1, y));
    else if (x === a.length || y === b.length) r = false;
    else r = charsMeet(a[x] as CharToken, b[y] as CharToken) && go(x + 1, y + 1);
    memo[key] = r ? 2 : 1;
    return r;
  };
  return go(0, 0);
}

const heads = new Map<string, string[]>();

/** The leading segments of a pattern that hold no glob or escape characters. */
export function literalHead(pattern: string): string[] {
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
  const stride = b.length + 1;
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * stride + j;
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
