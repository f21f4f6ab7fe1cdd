/**
 * Human output of the huddle command (issue 15): tables fit the terminal width
 * with every column labelled, plurals, short ids in text for people, and diff
 * lines that say what changed. In-process: these are pure functions.
 */
import { describe, expect, it } from 'vitest';
import { plural, shortIds, table } from '../cli/format.js';
import { changeText } from '../cli/commands/history.js';
import { SESSION_HEADER, sessionRows } from '../cli/commands/peek.js';
import { publicJson, selectField } from '../cli/json.js';

describe('human output', () => {
  it('cuts a wide table to 80 columns, keeping the header', () => {
    const now = Date.now();
    const sessions = [1, 2, 3].map((i) => ({
      id: `s${i}`, name: `backend-session-with-a-long-name-${i}`, role: 'backend', agent: 'codex', status: 'active', lastActive: now - 5000,
      task: 'Rate-limit every login endpoint per IP and per account', intent: 'reading the middleware and the tests first',
      locks: ['src/api/login.ts', 'src/api/middleware/rate-limit.ts'],
    })) as never;
    const text = table(sessionRows(sessions, now), '  ', SESSION_HEADER, 80);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/NAME\s+ROLE\s+AGENT\s+STATUS\s+SEEN\s+DOING\s+LOCKS/);
    expect(lines[1]).toMatch(/backend\s+codex\s+active/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(text).toContain('…');
    // Unlimited (a pipe): no column is cut to fit.
    expect(table(sessionRows(sessions, now), '  ', SESSION_HEADER, Infinity)).toContain('src/api/login.ts, src/api/middleware/rate-limit.ts');
  });

  it('plurals, short ids, diff text', () => {
    expect(plural(1, 'conflict')).toBe('1 conflict');
    expect(plural(2, 'conflict')).toBe('2 conflicts');
    expect(plural(0, 'file')).toBe('0 files');
    expect(shortIds('two (supersedes d-mx5221zu00-8d32e4e4c4e41686)')).toBe('two (supersedes d-8d32e4)');
    expect(changeText({ section: 'tasks', key: 't-1', change: 'changed', before: { title: 'Login', status: 'open' }, after: { title: 'Login', status: 'done' } })).toBe('Login (status: open -> done)');
    expect(changeText({ section: 'decisions', key: 'd-1', change: 'added', after: { text: 'Use zod' } })).toBe('added: Use zod');
    expect(changeText({ section: 'notes', key: 'url', change: 'removed', before: { key: 'url', value: 'https://x' } })).toBe('removed: https://x');
  });

  it('JSON: one actor vocabulary, optional keys null, --field paths', () => {
    const ev = publicJson({ at: 1, type: 'task.added', actor: 's1', actorName: 'alice', summary: 'x' });
    expect(ev).toEqual({ at: 1, type: 'task.added', by: 's1', byName: 'alice', summary: 'x', ref: null, path: null });
    const lock = publicJson({ id: 'l-1', path: 'a.ts', mode: 'exclusive', claimedAt: 1, expiresAt: 2, capAt: 3, confirmed: true, clientId: 9, session: 's1', sessionName: 'alice', role: 'r', state: 'held', holderStatus: 'active' }) as Record<string, unknown>;
    expect(lock).toMatchObject({ by: 's1', byName: 'alice', reason: null, blockedBy: null });
    expect('session' in lock).toBe(false);
    expect(selectField({ a: [{ b: 1 }, { b: 2 }] }, 'a.b')).toEqual([1, 2]);
    expect(selectField({ a: [{ b: 1 }, { b: 2 }] }, 'a.1.b')).toBe(2);
    expect(selectField({ a: 1 }, 'x.y')).toBeUndefined();
  });
});
