/** src/ops: the operation table runs on a bare SharedContext; arguments and errors are checked once. */
import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { SharedContext } from '../src/model/context.js';
import { OPS, findOp } from '../src/ops/table.js';
import { OpError, toOpError } from '../src/ops/errors.js';
import { parseArgs } from '../src/ops/input.js';
import { ContextError } from '../src/model/context.js';

const actor = { id: 's1', name: 'one', role: 'backend' };

describe('operation table', () => {
  it('context operations run on the document alone; presence ones say they need the server', async () => {
    const env = { ctx: new SharedContext(new Y.Doc()), actor };
    const d = await OPS.decide.run(parseArgs(OPS.decide.input, { text: 'REST', session: { id: 'x' } }), env);
    expect((await OPS.decisions.run(parseArgs(OPS.decisions.input, {}), env)).map((x) => x.id)).toEqual([d.id]);
    expect(() => OPS.lock.run(parseArgs(OPS.lock.input, { paths: ['a'] }), env)).toThrow(OpError);
    for (const [name, op] of Object.entries(OPS)) if (op.needs === 'presence') expect(op.access, name).toBe('write');
  });

  it('arguments: absent, null and empty are not given; wrong types and values are named', () => {
    expect(() => parseArgs(OPS.decide.input, { text: '' })).toThrow('missing "text"');
    expect(() => parseArgs(OPS.decide.input, { text: 5 })).toThrow('"text" must be a string');
    expect(() => parseArgs(OPS.send.input, { to: 'all', text: 'x', kind: 'shout' })).toThrow(/"kind" must be one of fyi/);
    expect(() => parseArgs(OPS.lock.input, { paths: ['a'], ttlMs: 10 })).toThrow('ttl must be between 1 s and 24 h');
    expect(parseArgs(OPS['note.set'].input, { key: 'k', value: null })).toEqual({ key: 'k' });
    expect(parseArgs(OPS.decide.input, { text: 'a\ud800' }).text).toBe('a\ufffd');
  });

  it('one mapping of errors to statuses: a conflict is 409 wherever it comes from', () => {
    expect(toOpError(new ContextError('taken', 'conflict')).status).toBe(409);
    expect(toOpError(new ContextError('no', 'not-found')).status).toBe(404);
    expect(toOpError(Object.assign(new Error('big'), { status: 413 })).code).toBe('too-large');
    expect(toOpError(new Error('bug')).status).toBe(500);
    expect(findOp('toString')).toBeUndefined();
  });
});
