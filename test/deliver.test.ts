import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup, startServer, tempDir } from './helpers.js';
import type { HuddleServer } from '../relay/server.js';
import { selectDelivery, stopRequest, DELIVER_GAP_MS } from '../src/model/deliver.js';
import { FENCE_OPEN } from '../src/model/inject.js';
import type { Message } from '../src/model/context.js';

afterEach(async () => {
  await cleanup();
});

async function hook(server: HuddleServer, payload: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await fetch(`${server.url}/hooks/claude-code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

async function op(server: HuddleServer, name: string, session: Record<string, unknown>, args: Record<string, unknown>) {
  const res = await fetch(`${server.url}/api/p/deliver1/op/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session, ...args }) });
  const j = (await res.json()) as { ok: boolean; result: any; error?: string };
  if (!j.ok) throw new Error(j.error);
  return j.result;
}

function repo(): string {
  const root = path.join(tempDir(), 'repo');
  fs.mkdirSync(path.join(root, '.git'), { recursive: true });
  fs.writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  fs.mkdirSync(path.join(root, '.huddle'));
  fs.writeFileSync(path.join(root, '.huddle', 'config.json'), JSON.stringify({ project: 'deliver1' }));
  return root;
}

const base = (session: string, cwd: string, event: string) => ({ session_id: session, transcript_path: '/tmp/t.jsonl', cwd, permission_mode: 'default', hook_event_name: event });
let n = 0;
const post = (session: string, cwd: string) => ({ ...base(session, cwd, 'PostToolUse'), tool_name: 'Read', tool_input: { file_path: path.join(cwd, 'x') }, tool_response: {}, tool_use_id: `toolu_${++n}` });
const ctxOf = (b: Record<string, any>): string | undefined => b.hookSpecificOutput?.additionalContext;

describe('delivery between tool calls (policy, real server)', () => {
  it('a message sent mid-loop is in the next PostToolUse answer, once; non-urgent waits out the gap, a request to this session does not; Stop is held once', async () => {
    const server = await startServer();
    const root = repo();
    const me = 'sess-worker';
    await hook(server, { ...base(me, root, 'SessionStart'), source: 'startup' });
    const other = { id: 'sess-lead', name: 'lead', role: 'lead' };

    // Nothing new: nothing injected.
    expect(ctxOf(await hook(server, post(me, root)))).toBeUndefined();

    await op(server, 'send', other, { to: 'all', text: 'schema moved to v2' });
    const first = ctxOf(await hook(server, post(me, root)));
    expect(first).toContain('schema moved to v2');
    expect(first).toContain(FENCE_OPEN);
    expect(first!.length).toBeLessThan(800);
    // Never the same item twice.
    expect(ctxOf(await hook(server, post(me, root)))).toBeUndefined();

    // Non-urgent within the gap: held back (still new for later).
    await op(server, 'send', other, { to: 'all', text: 'fyi lunch' });
    expect(ctxOf(await hook(server, post(me, root)))).toBeUndefined();

    // A request addressed to this session bypasses the gap, and carries the held-back item too.
    await op(server, 'send', other, { to: me, text: 'stop, I am changing that interface', kind: 'request' });
    const urgent = ctxOf(await hook(server, post(me, root)));
    expect(urgent).toContain('stop, I am changing that interface');
    expect(urgent).toContain('fyi lunch');

    // Stop with that request unanswered: kept going once, then allowed to stop.
    const stop1 = await hook(server, { ...base(me, root, 'Stop'), stop_hook_active: false });
    expect(stop1.decision).toBe('block');
    expect(stop1.reason).toContain('stop, I am changing that interface');
    const stop2 = await hook(server, { ...base(me, root, 'Stop'), stop_hook_active: true });
    expect(stop2.decision).toBeUndefined();
  });
});

describe('selectDelivery (pure)', () => {
  const me = { id: 's1', name: 'w', role: 'backend' };
  const msg = (id: string, extra: Partial<Message> = {}): Message => ({ id, to: 'all', text: `text ${id}`, kind: 'fyi', by: 'x', byName: 'x', at: 1, needsReply: false, ...extra }) as Message;
  it('nothing new gives nothing; the gap holds non-urgent items; urgent bypasses; more than fits gives counts and a command', () => {
    expect(selectDelivery({ me, messages: [], decisions: [], lockChanges: [], now: 10_000, lastAt: 0 })).toBeNull();
    expect(selectDelivery({ me, messages: [msg('m-a')], decisions: [], lockChanges: [], now: 10_000, lastAt: 10_000 - DELIVER_GAP_MS + 1 })).toBeNull();
    expect(selectDelivery({ me, messages: [msg('m-a')], decisions: [], lockChanges: [], now: 10_000, lastAt: 10_000 - DELIVER_GAP_MS })?.text).toContain('text m-a');
    const u = selectDelivery({ me, messages: [msg('m-b', { to: 's1', needsReply: true, kind: 'request' } as Partial<Message>)], decisions: [], lockChanges: [], now: 10_000, lastAt: 9_999 });
    expect(u?.urgent).toBe(true);
    const many = selectDelivery({ me, messages: ['1', '2', '3', '4', '5'].map((i) => msg(`m-${i}`)), decisions: [], lockChanges: [], now: 10_000, lastAt: 0 });
    expect(many?.text).toContain('2 more');
    expect(many?.text).toContain('huddle inbox');
    expect(many!.messages.length).toBe(3);
  });
  it('stopRequest: only a request addressed to this session, once each', () => {
    const r = msg('m-r', { to: 's1', needsReply: true } as Partial<Message>);
    expect(stopRequest([msg('m-all', { needsReply: true } as Partial<Message>), r], me, new Set())?.id).toBe('m-r');
    expect(stopRequest([r], me, new Set(['m-r']))).toBeNull();
  });
});
