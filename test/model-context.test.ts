/** src/model/context.ts and src/model/kinds: records, versions, diff and rollback over every kind. */
import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { ContextError, SharedContext } from '../src/model/context.js';
import { KINDS, VERSIONED_KINDS } from '../src/model/kinds/index.js';
import { timelineEvent } from '../src/model/snapshot.js';

const me = { id: 's1', name: 'one', role: 'backend' };

describe('shared context', () => {
  it('a version counts every versioned kind; diff and rollback cover each of them', () => {
    const ctx = new SharedContext(new Y.Doc());
    ctx.decide(me, { text: 'REST' });
    ctx.declare(me, { name: 'UserApi', file: 'src/u.ts' });
    const t = ctx.addTask(me, { title: 'form' });
    ctx.setNote(me, 'k', 'v');
    const v = ctx.snapshot(me, { name: 'base' });
    expect(v.summary).toBe('1 decision, 1 interface, 1 task, 1 note');
    const other = new SharedContext(new Y.Doc());
    other.decide(me, { text: 'a' });
    other.decide(me, { text: 'b' });
    expect(other.snapshot(me, {}).summary).toBe('2 decisions, 0 interfaces, 0 tasks, 0 notes');
    ctx.decide(me, { text: 'GraphQL after all' });
    ctx.claimTask(me, t.id);
    ctx.deleteNote(me, 'k');
    ctx.send(me, { to: 'all', text: 'hi' });
    const d = ctx.diff('base');
    expect(d.changes.map((c) => `${c.section}:${c.change}`).sort()).toEqual(['decisions:added', 'notes:removed', 'tasks:changed']);
    const r = ctx.rollback(me, 'base');
    expect(r.changes).toBe(3);
    expect(ctx.decisions().map((x) => x.text)).toEqual(['REST']);
    expect(ctx.task(t.id).status).toBe('open');
    expect(ctx.getNote('k')?.value).toBe('v');
    // Messages are not versioned: a rollback never unsends.
    expect(ctx.messages()).toHaveLength(1);
    expect(ctx.diff('base').changes).toEqual([]);
  });

  it('every kind reads back what the context wrote, under its section', () => {
    const doc = new Y.Doc();
    const ctx = new SharedContext(doc);
    const d = ctx.decide(me, { text: 'x' });
    const m = ctx.send(me, { to: 'all', text: 'y' });
    const read = Object.fromEntries(KINDS.map((k) => [k.section, Object.keys(k.read(doc))]));
    expect(read).toMatchObject({ decisions: [d.id], messages: [m.id], tasks: [], notes: [], interfaces: [] });
    expect(VERSIONED_KINDS.map((k) => k.section)).toEqual(['decisions', 'interfaces', 'tasks', 'notes']);
  });

  it('timeline entries become watch events of their kind', () => {
    const ev = (type: string) => timelineEvent({ at: 1, type, actor: 'a', actorName: 'A', summary: 's' });
    expect(ev('decision').type).toBe('decision');
    // The timeline's own type names (issue 15: watch and timeline say the same).
    expect(ev('task.claimed')).toMatchObject({ type: 'task.claimed', summary: 'A: s' });
    expect(ev('note.deleted')).toMatchObject({ type: 'note.deleted', summary: 'A: s' });
    expect(ev('lock.forced').type).toBe('lock.forced');
    expect(ev('weird')).toMatchObject({ type: 'other', summary: 'A: weird: s' });
  });

  it('ids resolve by unique prefix; unknown and ambiguous ones say so', () => {
    const ctx = new SharedContext(new Y.Doc());
    const t = ctx.addTask(me, { title: 'a' });
    expect(ctx.task(t.id.split('-')[2].slice(0, 6)).id).toBe(t.id);
    expect(() => ctx.task('zzzz')).toThrow(ContextError);
    ctx.addTask(me, { title: 'b' });
    expect(() => ctx.task('t-')).toThrow(/ambiguous/);
  });
});
