/** src/model/inject.ts: what an agent is told, compact and bounded. */
import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { SharedContext } from '../src/model/context.js';
import { deltaText, sessionSummary } from '../src/model/inject.js';

const me = { id: 'me', name: 'me', role: 'frontend' };
const bob = { id: 'bob', name: 'bob', role: 'backend' };

describe('injected context', () => {
  it('the summary stays within its bound and says how much it left out', () => {
    const ctx = new SharedContext(new Y.Doc());
    for (let i = 0; i < 60; i++) ctx.decide(bob, { text: `decision number ${i} `.repeat(8) });
    for (let i = 0; i < 30; i++) ctx.addTask(bob, { title: `task ${i}`, role: 'frontend' });
    const s = sessionSummary({ project: 'p', me, sessions: [], locks: [], inbox: [], decisions: ctx.decisions(), tasks: ctx.tasks() }, 800);
    expect(s.text.length).toBeLessThanOrEqual(800);
    expect(s.text).toContain('No other session is here.');
    expect(s.text).toMatch(/Latest decisions \(\d+ of 60, newest first\)/);
  });

  it('tasks of other roles are not listed; unread messages are, by short id', () => {
    const ctx = new SharedContext(new Y.Doc());
    ctx.addTask(bob, { title: 'backend only', role: 'backend' });
    ctx.addTask(bob, { title: 'for me', role: 'frontend' });
    const m = ctx.send(bob, { to: 'role:frontend', text: 'ping' });
    const s = sessionSummary({ project: 'p', me, sessions: [], locks: [], inbox: ctx.inbox(me), decisions: [], tasks: ctx.tasks() });
    expect(s.text).toContain('for me');
    expect(s.text).not.toContain('backend only');
    expect(s.messageIds).toEqual([m.id]);
  });

  it('the delta is empty when nothing changed', () => {
    expect(deltaText({ messages: [], decisions: [], lockChanges: [] })).toBe('');
    const ctx = new SharedContext(new Y.Doc());
    const d = ctx.decide(bob, { text: 'REST' });
    expect(deltaText({ messages: [], decisions: [d], lockChanges: [{ path: 'a.ts', now: null, before: 'bob' }] })).toMatch(/New decisions:[\s\S]*REST[\s\S]*a\.ts is no longer locked by bob/);
  });
});
