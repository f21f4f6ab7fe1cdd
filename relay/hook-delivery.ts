/**
 * What a hook delivers to a session between its prompts: what is new
 * (messages, decisions by others, lock changes on files it touched,
 * interfaces on files it edits), delivered after a tool call compact and
 * rate-limited (deliver.ts), and the request that keeps a stopping turn going.
 */
import { blockingLock, type LockView } from '../src/model/view.js';
import { deltaText, shortId, type Me } from '../src/model/inject.js';
import { DELIVER_MAX, selectDelivery, stopRequest, type LockChange } from '../src/model/deliver.js';
import type { InterfaceDecl, Message } from '../src/model/context.js';
import { normalizePattern } from '../src/model/paths.js';
import { forcedReleaseNotice } from '../src/model/enums.js';
import type { HookDecision } from '../src/agents/event.js';
import { SessionMemory, type SessionNotes } from './session-memory.js';
import { lostChanges } from './lost-locks.js';
import type { HostedSession } from './hosted.js';

/** The session as the model's functions name it. */
export function sessionMe(session: HostedSession): Me {
  const st = session.presence.published;
  return { id: st.id, name: st.name, role: st.role };
}

/** What `touched` remembers of a file's blocking lock, to tell when it changed ('' when none). */
export function lockKey(l: LockView | null): string {
  return l ? `${l.id}|${l.sessionName}` : '';
}

/** An interface version: it is new again when re-declared. */
export function interfaceKey(i: InterfaceDecl): string {
  return `${i.name}\u0000${i.at}\u0000${i.status}`;
}

/**
 * What is new for this session (messages, decisions by others, lock changes on files it touched),
 * shared by the prompt-time delta and post-tool delivery. Nothing is remembered until `commit`
 * (a rate-limited delivery leaves the items new for the next call), except the lost-lock notices,
 * which are taken: they are urgent, so a delivery that has them always goes out.
 */
export function collect(session: HostedSession, mem: SessionNotes) {
  const me = sessionMe(session);
  const ctx = session.ctx;
  const notices = session.notices.takeNotices('hook');
  // The forcer's message saying the same as a lost-lock line is not shown twice.
  const forcedTexts = new Set(notices.filter((n) => n.reason === 'forced').map((n) => forcedReleaseNotice(n.path, n.holder ?? '', n.why)));
  const unseen = ctx.inbox({ id: me.id, role: me.role, name: me.name }).filter((m) => !mem.messages.has(m.id));
  const same = unseen.filter((m) => m.kind === 'fyi' && forcedTexts.has(m.text));
  const messages = unseen.filter((m) => !same.includes(m));
  const decisions = ctx.decisions({ includeSuperseded: false }).filter((d) => !mem.decisions.has(d.id) && d.by !== me.id);
  const view = session.presence.view();
  for (const e of session.presence.current.editing) if (!mem.touched.has(e.path)) mem.touched.set(e.path, '');
  const lockChanges: LockChange[] = [];
  const keys: Array<[string, string]> = [];
  for (const [p, before] of mem.touched) {
    const l = blockingLock(view, me.id, p);
    const key = lockKey(l);
    if (key !== before) {
      lockChanges.push({ path: p, now: l, before: before ? before.split('|')[1] : null });
      keys.push([p, key]);
    }
  }
  // Interfaces others declared or changed on a file this session edits.
  const editing = Array.from(mem.touched.keys());
  const allIfaces = ctx.interfaces();
  const interfaces = allIfaces.filter((i) => i.by !== me.id && !mem.interfaces.has(interfaceKey(i)) && mem.touched.has(patternOf(i.file)));
  const commit = (shown: Message[]) => {
    for (const [p, k] of keys) mem.touched.set(p, k);
    // Our own decisions are known to us; remember every decision seen.
    for (const d of ctx.decisions({ includeSuperseded: false })) mem.decisions.add(d.id);
    for (const i of allIfaces) mem.interfaces.add(interfaceKey(i));
    for (const m of [...shown, ...same]) mem.messages.add(m.id);
    ctx.markRead(me.id, [...shown, ...same].map((m) => m.id));
    SessionMemory.trim(mem);
  };
  return { me, messages, decisions, lockChanges: [...lostChanges(notices), ...dedupeLockChanges(lockChanges)], interfaces, editing, commit };
}

/** After a tool call: what is new, compact and rate-limited (urgent items, such as a lock this session lost, bypass the limit). */
export function deliverAfterTool(session: HostedSession, mem: SessionNotes): string | undefined {
  if (!mem.introduced) {
    // No summary seen yet (a server restart): only the lost locks, not the whole backlog.
    const lost = lostChanges(session.notices.takeNotices('hook'));
    return lost.length ? deltaText({ messages: [], decisions: [], lockChanges: lost }, DELIVER_MAX) : undefined;
  }
  const d = collect(session, mem);
  const now = Date.now();
  const out = selectDelivery({ me: d.me, messages: d.messages, decisions: d.decisions, lockChanges: d.lockChanges, interfaces: d.interfaces, editing: d.editing, now, lastAt: mem.deliveredAt });
  if (!out) return undefined;
  d.commit(out.messages);
  mem.deliveredAt = now;
  return out.text;
}

/** A turn about to stop with an unanswered request addressed to this session: keep it going, once per request. */
export function keepGoing(session: HostedSession, mem: SessionNotes): HookDecision {
  const me = sessionMe(session);
  const req = stopRequest(session.ctx.openRequests(), me, mem.stopHeld);
  if (!req) return {};
  mem.stopHeld.add(req.id);
  mem.messages.add(req.id);
  SessionMemory.trim(mem);
  const text = deltaText({ messages: [req], decisions: [], lockChanges: [] }, DELIVER_MAX);
  return { keepGoing: `${text}\nThis request waits for this session's answer: reply with \`huddle send --reply-to ${shortId(req.id)} …\` (or the huddle MCP send tool) before stopping.` };
}

/** An interface's file as a lock pattern (what `touched` is keyed by), or '' when it is not a valid one. */
function patternOf(file: string): string {
  try {
    return normalizePattern(file);
  } catch {
    return '';
  }
}

function dedupeLockChanges<T extends { now: LockView | null }>(xs: T[]): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    if (!x.now) return true;
    if (seen.has(x.now.id)) return false;
    seen.add(x.now.id);
    return true;
  });
}
