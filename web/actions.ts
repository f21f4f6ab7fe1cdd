/** What a lead does from the page (write access only, each confirmed): release a lock, add a task or decision, claim, complete or reassign a task, answer a request, send a message. */
import { forcedReleaseNotice } from '../src/model/enums.js';
import type { LockView } from '../src/model/view.js';
import { afterWrite, confirmAction, failed, toast, writer } from './dialogs.js';
import { state } from './state.js';

export async function forceRelease(claimId: string): Promise<void> {
  const l = state.current;
  const lock: LockView | undefined = l?.presence.locks.find((x) => x.id === claimId);
  if (!l || !lock) return toast('That lock is gone already.', 'warn');
  const r = await confirmAction('Force-release a lock', `Release the lock on ${lock.path} held by ${lock.sessionName} (${lock.role})? ${lock.sessionName} loses it at once and is told by a message.`, 'Release lock', true, true);
  if (!r.ok || state.current !== l) return;
  try {
    l.doc.transact(() => {
      l.ctx.forceRelease(writer(l), lock, r.reason || undefined);
      l.ctx.send(writer(l), { to: lock.session, kind: 'fyi', text: forcedReleaseNotice(lock.path, writer(l).name, r.reason || undefined) });
    });
  } catch (err) {
    return failed(err);
  }
  await afterWrite(l, `Released the lock on ${lock.path}`);
}

export async function addTask(form: HTMLFormElement): Promise<void> {
  const l = state.current;
  if (!l) return;
  const data = new FormData(form);
  const title = String(data.get('title') ?? '').trim();
  const role = String(data.get('role') ?? '').trim();
  const detail = String(data.get('detail') ?? '').trim();
  if (!title) return toast('A task needs a title.', 'warn');
  const r = await confirmAction('Add a task', `Add the task “${title}”${role ? ` for role ${role}` : ''} to ${l.project}?`, 'Add task');
  if (!r.ok || state.current !== l) return;
  try {
    l.ctx.addTask(writer(l), { title, role: role || undefined, detail: detail || undefined });
  } catch (err) {
    return failed(err);
  }
  form.reset();
  await afterWrite(l, `Added the task “${title}”`);
}

export async function addDecision(form: HTMLFormElement): Promise<void> {
  const l = state.current;
  if (!l) return;
  const data = new FormData(form);
  const text = String(data.get('text') ?? '').trim();
  const rationale = String(data.get('rationale') ?? '').trim();
  if (!text) return toast('A decision needs text.', 'warn');
  const r = await confirmAction('Add a decision', `Record the decision “${text}” in ${l.project}? Every agent sees it.`, 'Add decision');
  if (!r.ok || state.current !== l) return;
  try {
    l.ctx.decide(writer(l), { text, rationale: rationale || undefined });
  } catch (err) {
    return failed(err);
  }
  form.reset();
  await afterWrite(l, 'Recorded the decision');
}

/** Claim, complete or reassign a task; completing another's claimed task tells them. */
export async function taskAction(action: string, id: string): Promise<void> {
  const l = state.current;
  if (!l) return;
  const t = l.ctx.tasks().find((x) => x.id === id);
  if (!t) return;
  const who = t.assignee && t.status === 'claimed' ? t.assignee : null;
  if (action === 'task-claim') {
    const r = await confirmAction('Claim a task', `Claim “${t.title}”${who ? ` (claimed by ${who.name}, who is told)` : ''}?`, 'Claim');
    if (!r.ok || state.current !== l) return;
    try {
      l.ctx.claimTask(writer(l), id, { take: true }); // tells the holder (src/model/context.ts)
    } catch (err) {
      return failed(err);
    }
    return afterWrite(l, `Claimed “${t.title}”`);
  }
  if (action === 'task-done') {
    const r = await confirmAction('Complete a task', `Mark “${t.title}” done${who ? ` (claimed by ${who.name}, who is told)` : ''}?`, 'Mark done');
    if (!r.ok || state.current !== l) return;
    try {
      l.ctx.completeTask(writer(l), id); // tells the holder
    } catch (err) {
      return failed(err);
    }
    return afterWrite(l, `Marked “${t.title}” done`);
  }
  const r = await confirmAction('Reassign a task', `Hand “${t.title}” to a session or role:NAME (with a summary in the message).`, 'Reassign', 'To (a session or role:NAME)');
  if (!r.ok || state.current !== l || !r.reason) return;
  try {
    l.ctx.handoff(writer(l), id, { to: r.reason, summary: `reassigned from the dashboard by ${writer(l).name}` });
  } catch (err) {
    return failed(err);
  }
  return afterWrite(l, `Handed “${t.title}” to ${r.reason}`);
}

/** Answer an open request: a response to its sender, marked as the reply. */
export async function answer(messageId: string): Promise<void> {
  const l = state.current;
  if (!l) return;
  const m = l.ctx.openRequests().find((x) => x.id === messageId);
  if (!m) return;
  const r = await confirmAction('Answer a request', `${m.byName} asked: “${m.text}”`, 'Send answer', 'Your answer');
  if (!r.ok || state.current !== l || !r.reason) return;
  try {
    l.ctx.send(writer(l), { to: m.by, kind: 'response', text: r.reason, replyTo: m.id });
  } catch (err) {
    return failed(err);
  }
  return afterWrite(l, `Answered ${m.byName}`);
}

export async function sendMessage(form: HTMLFormElement): Promise<void> {
  const l = state.current;
  if (!l) return;
  const data = new FormData(form);
  const to = String(data.get('to') ?? '').trim();
  const text = String(data.get('text') ?? '').trim();
  if (!to || !text) return toast('A message needs a recipient and text.', 'warn');
  const r = await confirmAction('Send a message', `Send to ${to}: “${text}”?`, 'Send');
  if (!r.ok || state.current !== l) return;
  try {
    l.ctx.send(writer(l), { to, kind: 'fyi', text });
  } catch (err) {
    return failed(err);
  }
  form.reset();
  return afterWrite(l, `Sent to ${to}`);
}
