/**
 * Pure renderers: model data in, HTML strings out. Every value that came from
 * a peer is escaped with esc(); no inline styles or handlers (the page's CSP
 * forbids them); actions are buttons with data-action, handled by delegation.
 */
import type { Decision, InterfaceDecl, Message, Note, Task, TimelineEvent, Version } from '../src/model/context.js';
import type { EditOverlap, LockView, SessionView } from '../src/model/view.js';
import { shortId } from '../src/model/ids.js';
import { ago, clock, duration, esc, fullTime, isoTime, plural } from './format.js';
import type { Keyed } from './dom.js';

export type DisplayStatus = 'active' | 'idle' | 'stale';

export interface SessionRow extends SessionView {
  shown: DisplayStatus;
  /** ms since the presence was last renewed, when that is overdue. */
  silentMs: number | null;
}

const empty = (cols: number, text: string): Keyed => ({ key: '__empty', html: `<tr class="empty"><td colspan="${cols}">${esc(text)}</td></tr>` });

function statusBadge(s: DisplayStatus, title: string): string {
  return `<span class="status status-${s}" title="${esc(title)}"><span class="dot" aria-hidden="true"></span>${s}</span>`;
}

export function sessionRows(rows: SessionRow[], now: number): Keyed[] {
  if (rows.length === 0) return [empty(8, 'No sessions in this project right now. Run huddle init in the repository, then start an agent there (or huddle update to show yourself).')];
  return rows.map((s) => {
    const silent = s.silentMs !== null ? `no presence renewal for ${duration(s.silentMs)}` : '';
    const title = silent || `last sign of life ${fullTime(s.lastActive)}`;
    const host = s.host;
    const agent = s.agent && s.agent !== 'script' ? `<span class="tag">${esc(s.agent)}</span>` : '';
    const locks = s.locks.length ? `<span class="mono" title="${esc(s.locks.join('\n'))}">${esc(plural(s.locks.length, 'lock'))}</span>` : '';
    return {
      key: s.id,
      html: `<tr data-session="${esc(s.id)}" class="row-${s.shown}">
        <td data-label="Session"><strong>${esc(s.name)}</strong> ${agent}</td>
        <td data-label="Role"><span class="role">${esc(s.role)}</span></td>
        <td data-label="Status">${statusBadge(s.shown, title)}</td>
        <td data-label="Task">${esc(s.task ?? '')}</td>
        <td data-label="Intent">${esc(s.intent ?? '')}</td>
        <td data-label="Last sign of life" title="${esc(title)}">${esc(ago(s.lastActive, now))}${silent ? `<br><small class="warn">${esc(silent)}</small>` : ''}</td>
        <td data-label="Host" title="pid ${esc(s.pid)} · ${esc(s.cwd)}">${esc(host)}${s.hosted ? ' <small class="tag" title="No process of its own: the huddle server keeps this session present while its hooks, CLI or MCP calls show signs of life">kept by the server</small>' : ''}${s.branch ? `<br><small class="mono">${esc(s.branch)}</small>` : ''}</td>
        <td data-label="Locks">${locks}</td>
      </tr>`,
    };
  });
}

export function departedLine(departed: Array<{ name: string; role: string; at: number }>, now: number): string {
  if (departed.length === 0) return '';
  return `Left recently: ${departed.map((d) => `<span class="departed">${esc(d.name)} <small>(${esc(d.role)}, ${esc(ago(d.at, now))})</small></span>`).join(', ')}`;
}

/** A path that may break after each slash. */
const pathHtml = (p: string) => esc(p).replace(/\//g, '/<wbr>');

export function lockRows(locks: LockView[], names: Map<string, string>, now: number, canWrite: boolean): Keyed[] {
  if (locks.length === 0) return [empty(canWrite ? 5 : 4, 'No locks held.')];
  return locks.map((l) => {
    const state = l.state === 'blocked' ? `blocked by ${names.get(l.blockedBy ?? '') ?? l.blockedBy ?? '?'}` : l.state === 'pending' ? 'pending' : 'held';
    const stateTitle = l.state === 'pending' ? 'claimed, not yet confirmed by the relay' : l.state === 'blocked' ? 'waits behind an earlier claim' : 'in force';
    const holderNote = l.holderStatus !== 'active' ? ` <small class="warn">(${esc(l.holderStatus)})</small>` : '';
    const ends = Math.min(l.expiresAt, l.capAt);
    const action = canWrite
      ? `<td data-label="Action"><button type="button" class="danger small" data-action="release" data-claim="${esc(l.id)}" aria-label="Force release the lock on ${esc(l.path)} held by ${esc(l.sessionName)}">Release…</button></td>`
      : '';
    return {
      key: l.id,
      html: `<tr data-lock="${esc(l.path)}" class="lock-${l.state}">
        <td data-label="Path"><span class="mono">${pathHtml(l.path)}</span> <span class="tag mode-${l.mode === 'shared' ? 'shared' : 'exclusive'}" title="mode">${esc(l.mode)}</span>${l.reason ? `<div class="reason">${esc(l.reason)}</div>` : ''}</td>
        <td data-label="Holder"><strong>${esc(l.sessionName)}</strong> <span class="role">${esc(l.role)}</span>${holderNote}</td>
        <td data-label="Since" class="nowrap" title="claimed ${esc(fullTime(l.claimedAt))}, lapses ${esc(fullTime(ends))} unless renewed">${esc(ago(l.claimedAt, now))}<br><small>lapses in ${esc(duration(ends - now))}</small></td>
        <td data-label="State"><span class="lockstate-${l.state}" title="${esc(stateTitle)}">${esc(state)}</span></td>
        ${action}
      </tr>`,
    };
  });
}

const rangeText = (r: Array<[number, number]>) => r.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(', ');
const ranges = (r?: Array<[number, number]>) => (Array.isArray(r) && r.length ? ` <small class="mono">L${esc(rangeText(r))}</small>` : '');

export function overlapsHtml(list: EditOverlap[]): string {
  if (list.length === 0) return '<p class="empty">No file is being edited by two sessions.</p>';
  return `<ul class="overlaps">${list
    .map(
      (o) => `<li class="${o.conflict ? 'conflict' : ''}">
        <div><span class="mono">${pathHtml(o.path)}</span> ${o.conflict ? `<span class="badge badge-bad">conflict L${esc(rangeText(o.overlapping))}</span>` : '<span class="badge">same file</span>'}</div>
        <div class="who">${o.sessions.map((s) => `${esc(s.name)} <span class="role">${esc(s.role)}</span>${ranges(s.ranges)}`).join(' · ')}</div>
      </li>`,
    )
    .join('')}</ul>`;
}

function recipient(to: string, names: Map<string, string>): string {
  if (to === 'all') return 'everyone';
  if (to.startsWith('role:')) return `role ${to.slice(5)}`;
  return names.get(to) ?? to;
}

function messageItem(m: Message, names: Map<string, string>, now: number, open: boolean, canWrite = false): string {
  return `<li class="msg kind-${esc(m.kind)}${open ? ' open' : ''}">
    <div class="meta"><strong>${esc(m.byName)}</strong> → ${esc(recipient(m.to, names))} <span class="tag">${esc(m.kind)}</span> <span class="time" title="${esc(fullTime(m.at))}">${esc(ago(m.at, now))}</span></div>
    <div class="text">${esc(m.text)}</div>
    ${open && canWrite ? `<div class="actions"><button type="button" class="small" data-action="answer" data-message="${esc(m.id)}" aria-label="Answer ${esc(m.byName)}">Answer…</button></div>` : ''}
  </li>`;
}

export function messagesHtml(open: Message[], recent: Message[], total: number, names: Map<string, string>, now: number, canWrite = false): string {
  const openHtml = open.length
    ? `<ul class="msgs">${open.slice(-30).reverse().map((m) => messageItem(m, names, now, true, canWrite)).join('')}</ul>`
    : '<p class="empty">No request is waiting for an answer.</p>';
  const recentHtml = recent.length ? `<ul class="msgs">${recent.map((m) => messageItem(m, names, now, false)).join('')}</ul>` : '<p class="empty">No messages yet.</p>';
  return `<h3>Awaiting an answer <span class="count">${open.length}</span></h3>${openHtml}
    <h3>Latest messages <span class="count">${recent.length} of ${total}</span></h3>${recentHtml}`;
}

export function decisionsHtml(list: Decision[], total: number, now: number): string {
  if (list.length === 0) return '<p class="empty">No decisions yet.</p>';
  const more = total > list.length ? `<p class="more">${total - list.length} older not shown</p>` : '';
  return `<ol class="decisions">${list
    .map(
      (d) => `<li class="${d.supersededBy ? 'superseded' : ''}">
        <div class="text">${esc(d.text)}</div>
        ${d.rationale ? `<div class="why">${esc(d.rationale)}</div>` : ''}
        <div class="meta">${esc(d.byName)} · <span title="${esc(fullTime(d.at))}">${esc(ago(d.at, now))}</span> · <span class="mono">${esc(shortId(d.id))}</span>${d.supersededBy ? ` · superseded by <span class="mono">${esc(shortId(d.supersededBy))}</span>` : ''}${d.supersedes ? ` · supersedes <span class="mono">${esc(shortId(d.supersedes))}</span>` : ''}</div>
      </li>`,
    )
    .join('')}</ol>${more}`;
}

export function interfacesHtml(list: InterfaceDecl[], now: number): string {
  if (list.length === 0) return '<p class="empty">No interfaces declared.</p>';
  return `<table class="grid-table"><thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">File</th><th scope="col">Owner</th><th scope="col">Updated</th></tr></thead><tbody>${list
    .map(
      (i) => `<tr>
        <td data-label="Name"><strong>${esc(i.name)}</strong>${i.description ? `<br><small>${esc(i.description)}</small>` : ''}</td>
        <td data-label="Status"><span class="tag if-${esc(i.status)}">${esc(i.status)}</span></td>
        <td data-label="File" class="mono">${pathHtml(i.file)}</td>
        <td data-label="Owner">${esc(i.ownerName)}</td>
        <td data-label="Updated" title="${esc(fullTime(i.at))}">${esc(ago(i.at, now))}</td>
      </tr>`,
    )
    .join('')}</tbody></table>`;
}

export function notesHtml(list: Note[], now: number): string {
  if (list.length === 0) return '<p class="empty">No notes yet (<code>huddle note set KEY VALUE</code>).</p>';
  return `<ul class="notes">${list
    .map(
      (n) => `<li data-note="${esc(n.key)}">
        <div><strong class="mono">${esc(n.key)}</strong></div>
        <div class="value">${esc(n.value)}</div>
        <div class="meta">${esc(n.byName)} · <span title="${esc(fullTime(n.at))}">${esc(ago(n.at, now))}</span></div>
      </li>`,
    )
    .join('')}</ul>`;
}

/** Saved versions, newest first; `huddle diff` and `huddle rollback` take their names and ids. */
export function versionsHtml(list: Array<Omit<Version, 'content'>>, total: number, now: number): string {
  if (list.length === 0) return '<p class="empty">No versions saved yet (<code>huddle snapshot --name NAME</code>).</p>';
  const more = total > list.length ? `<p class="more">${total - list.length} older not shown</p>` : '';
  return `<ol class="versions">${list
    .map(
      (v) => `<li data-version="${esc(v.id)}">
        <div>${v.name ? `<strong>${esc(v.name)}</strong> · ` : ''}<span class="mono">${esc(shortId(v.id))}</span> <span class="tag">${v.auto ? 'automatic' : 'saved'}</span></div>
        <div>${esc(v.summary)}</div>
        <div class="meta">${esc(v.byName)} · <span title="${esc(fullTime(v.at))}">${esc(ago(v.at, now))}</span></div>
      </li>`,
    )
    .join('')}</ol>${more}`;
}

const STATUS_LABEL: Record<Task['status'], string> = { open: 'Open', claimed: 'In progress', blocked: 'Blocked', done: 'Done' };

function taskCard(t: Task, pending: number, now: number, canWrite: boolean): string {
  const bits: string[] = [];
  if (t.assignee && t.status !== 'open') bits.push(`<span class="who">${esc(t.assignee.name)}</span>`);
  if (pending) bits.push(`<span class="warn">waits on ${esc(plural(pending, 'task'))}</span>`);
  if (t.status === 'blocked' && t.blockedReason) bits.push(`<span class="bad">${esc(t.blockedReason)}</span>`);
  if (t.orphaned) bits.push(`<span class="warn">orphaned from ${esc(t.orphaned.fromName)}</span>`);
  if (t.handoff) bits.push(`<span>handed to ${esc(t.handoff.to.startsWith('role:') ? `role ${t.handoff.to.slice(5)}` : t.handoff.to)} by ${esc(t.handoff.fromName)}: ${esc(t.handoff.summary)}</span>`);
  if (t.lastNote) bits.push(`<span class="note">“${esc(t.lastNote)}”</span>`);
  return `<li class="card" data-task="${esc(t.id)}">
    <div class="title">${esc(t.title)}</div>
    ${t.detail ? `<div class="detail">${esc(t.detail)}</div>` : ''}
    <div class="meta"><span class="mono">${esc(shortId(t.id))}</span> · <span title="${esc(fullTime(t.updatedAt))}">${esc(ago(t.updatedAt, now))}</span>${bits.length ? ' · ' + bits.join(' · ') : ''}</div>
    ${canWrite && t.status !== 'done' ? `<div class="actions"><button type="button" class="small" data-action="task-claim" data-task="${esc(t.id)}" aria-label="Claim the task ${esc(t.title)}">Claim</button><button type="button" class="small" data-action="task-done" data-task="${esc(t.id)}" aria-label="Mark the task ${esc(t.title)} done">Done</button><button type="button" class="small" data-action="task-reassign" data-task="${esc(t.id)}" aria-label="Reassign the task ${esc(t.title)}">Reassign…</button></div>` : ''}
  </li>`;
}

/** Columns by status; inside each, cards grouped by role. */
export function boardHtml(tasks: Task[], pendingOf: (t: Task) => number, now: number, doneShown = 12, canWrite = false): string {
  const order: Task['status'][] = ['open', 'claimed', 'blocked', 'done'];
  const cols = order.map((status) => {
    let list = tasks.filter((t) => t.status === status);
    const count = list.length;
    let more = '';
    if (status === 'done') {
      list = list.sort((a, b) => (b.doneAt ?? b.updatedAt) - (a.doneAt ?? a.updatedAt)).slice(0, doneShown);
      if (count > list.length) more = `<p class="more">${count - list.length} older done tasks not shown</p>`;
    }
    const byRole = new Map<string, Task[]>();
    for (const t of list) {
      const r = t.role ?? '';
      byRole.set(r, [...(byRole.get(r) ?? []), t]);
    }
    const roles = Array.from(byRole.keys()).sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
    const groups = roles
      .map((r) => `<div class="lane"><h4>${r ? `role <span class="role">${esc(r)}</span>` : 'any role'}</h4><ul>${byRole.get(r)!.map((t) => taskCard(t, pendingOf(t), now, canWrite)).join('')}</ul></div>`)
      .join('');
    return `<section class="col col-${status}" aria-label="${STATUS_LABEL[status]} tasks"><h3>${STATUS_LABEL[status]} <span class="count">${count}</span></h3>${groups || '<p class="empty">—</p>'}${more}</section>`;
  });
  return cols.join('');
}

export function timelineRows(events: TimelineEvent[], now: number): Keyed[] {
  if (events.length === 0) return [{ key: '__empty', html: '<li class="empty">No events in this range.</li>' }];
  return events.map((e, i) => ({
    // Events have no id; time, actor and text identify them well enough for reuse.
    key: `${e.at}\u0000${e.actor}\u0000${e.type}\u0000${e.ref ?? ''}\u0000${e.summary}\u0000${i > 0 && events[i - 1].at === e.at ? i : ''}`,
    html: `<li class="ev ev-${esc(e.type.split('.')[0])}"><time datetime="${esc(isoTime(e.at))}" title="${esc(fullTime(e.at))}">${esc(clock(e.at, now))}</time> <span class="tag">${esc(e.type)}</span> <strong>${esc(e.actorName)}</strong> <span class="text">${esc(e.summary)}</span></li>`,
  }));
}
