/**
 * The huddle dashboard: a Yjs peer in the browser. It joins one project over
 * the y-websocket protocol (the same RelayConnection the library uses), shows
 * itself in awareness as a watcher, and renders the shared context and
 * everyone's presence live. Rendering is batched into one animation frame per
 * burst of changes, and only the sections that changed are rebuilt.
 */
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { RelayConnection, type SocketFactory, type SocketLike } from '../src/peer/connection.js';
import { ContextError, SharedContext, type Actor, type TimelineEvent } from '../src/model/context.js';
import { buildPresence, editOverlaps, type LockView, type PresenceView } from '../src/model/view.js';
import { newSessionState } from '../src/model/session.js';
import { newId } from '../src/model/ids.js';
import { forcedReleaseNotice } from '../src/model/enums.js';
import { KINDS } from '../src/model/kinds/index.js';
import { $, patchList, setHtml } from './dom.js';
import { clock, esc, plural } from './format.js';
import * as R from './render.js';
import { syncsHtml } from './syncs.js';
import { reportHtml } from './report.js';

type Access = 'none' | 'read' | 'write';
type Section = 'header' | 'sessions' | 'locks' | 'overlaps' | 'tasks' | 'syncs' | 'report' | 'messages' | 'decisions' | 'interfaces' | 'notes' | 'versions' | 'timeline';
/** Sections that show one kind of record each. */
const KIND_SECTIONS = new Set<Section>(['tasks', 'messages', 'decisions', 'interfaces', 'notes']);
const ALL: Section[] = ['header', 'sessions', 'locks', 'overlaps', 'tasks', 'syncs', 'report', 'messages', 'decisions', 'interfaces', 'notes', 'versions', 'timeline'];

interface ProjectInfo {
  name: string;
  loaded?: boolean;
  /** Has a stored document (something was ever written to it). */
  stored?: boolean;
  sessions?: number;
}

const pageUrl = new URL(location.href);
const token = pageUrl.searchParams.get('token') || undefined;
const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;

/** Timing, read by the browser test and handy in the console. */
const stats = { firstLiveRenderMs: null as number | null, renders: 0, renderMsTotal: 0, renderMsMax: 0, marks: {} as Record<string, number> };
const timing = (name: string) => (stats.marks[name] ??= Math.round(performance.now()));
timing('script');
(window as unknown as { __huddle: typeof stats }).__huddle = stats;

let access: Access = 'read';
let presenceTimeoutMs = 30_000;
let projects: ProjectInfo[] = [];
let current: Live | null = null;
let timelineLimit = 200;
/** After a drop, "reconnecting…" this long, then "offline as of TIME". */
const RECONNECTING_MS = 2000;

const socket: SocketFactory = (url, t) => new WebSocket(t ? `${url}?token=${encodeURIComponent(t)}` : url) as unknown as SocketLike;

async function api<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

/** One project's live connection and what the page knows of it. */
class Live {
  readonly doc = new Y.Doc();
  readonly awareness: Awareness;
  readonly ctx: SharedContext;
  readonly conn: RelayConnection;
  readonly actor: Actor;
  presence: PresenceView = { sessions: [], watchers: [], locks: [] };
  everLive = false;
  /** When we were last live: what the page shows is as of then. */
  lastLiveAt: number | null = null;
  droppedAt: number | null = null;
  closedReason: string | null = null;
  readonly departed = new Map<string, { name: string; role: string; at: number }>();

  constructor(readonly project: string) {
    this.actor = { id: newId('w'), name: 'dashboard', role: 'watcher' };
    this.awareness = new Awareness(this.doc);
    this.awareness.setLocalState({
      huddle: newSessionState({ id: this.actor.id, name: 'dashboard', role: 'watcher', agent: 'human', kind: 'watcher' }, { host: 'browser', pid: 0, cwd: '' }, Date.now(), false),
    });
    this.ctx = new SharedContext(this.doc);
    // Each kind of record with a section on the page re-renders it when it changes (src/model/kinds).
    for (const k of KINDS) {
      const section = k.section as Section;
      if (KIND_SECTIONS.has(section)) this.doc.getMap(k.section).observeDeep(() => mark(section));
    }
    // The report is rebuilt with the slow tick (every 10 s), not per timeline entry: it scans the whole timeline.
    this.ctx.timelineArr.observe(() => mark('timeline'));
    this.ctx.versionsArr.observe(() => mark('versions'));
    this.doc.getMap('syncs').observeDeep(() => mark('syncs'));
    this.ctx.forcedMap.observe(() => this.presenceChanged());
    this.awareness.on('change', () => this.presenceChanged());
    this.conn = new RelayConnection({ url: wsBase, project, doc: this.doc, awareness: this.awareness, token, socket });
    this.conn.on('synced', () => {
      timing('synced');
      this.everLive = true;
      this.lastLiveAt = Date.now();
      this.droppedAt = null;
      this.presenceChanged();
      mark(...ALL);
    });
    this.conn.on('status', (s) => {
      if (s === 'connected') timing('socket-open');
      if (s !== 'connected' && this.lastLiveAt !== null && this.droppedAt === null) this.droppedAt = this.lastLiveAt = Date.now();
      mark('header');
    });
    this.conn.on('closed', (e) => {
      this.closedReason = e.reason || `closed (${e.code})`;
      mark('header');
    });
    this.conn.on('denied', (reason) => {
      // A read-only connection is told once that updates are refused (the sync handshake sends one): expected.
      if (access === 'write') toast(`The server refused a change: ${reason}`, 'bad');
    });
  }

  get live(): boolean {
    return this.conn.synced;
  }

  /** Recompute presence from awareness; while offline the last live view stays (shown as of then). */
  recompute(): void {
    if (!this.live) return;
    const now = Date.now();
    this.lastLiveAt = now;
    const before = this.presence.sessions;
    try {
      this.presence = buildPresence(this.awareness.getStates(), { now, isForced: (id) => this.ctx.isForced(id) });
    } catch (err) {
      // A malformed presence state from some peer: keep the last good view rather than break the connection's handler.
      console.warn('huddle dashboard: could not read presence:', err);
      return;
    }
    const present = new Set(this.presence.sessions.map((s) => s.id));
    for (const s of before) if (!present.has(s.id)) this.departed.set(s.id, { name: s.name, role: s.role, at: now });
    for (const [id, d] of this.departed) if (present.has(id) || now - d.at > 60_000) this.departed.delete(id);
  }

  presenceChanged(): void {
    if (!this.live) return;
    this.recompute();
    mark('header', 'sessions', 'locks', 'overlaps', 'syncs');
  }

  private renewedAt = Date.now();

  /** Renew the watcher's presence well within the server's timeout (y-protocols alone renews every 15 s). */
  renew(now: number): void {
    if (now - this.renewedAt < presenceTimeoutMs / 3) return;
    this.renewedAt = now;
    const mine = this.awareness.getLocalState();
    if (mine) this.awareness.setLocalState(mine);
  }

  /** Milliseconds since a client's presence was last renewed. */
  silentFor(clientId: number, now: number): number {
    const m = this.awareness.meta.get(clientId);
    return m ? now - m.lastUpdated : 0;
  }

  destroy(): void {
    // Leave at once: peers drop the watcher without waiting for a timeout.
    this.awareness.setLocalState(null);
    this.conn.destroy();
    this.awareness.destroy();
    this.doc.destroy();
  }
}

// ---- rendering ---------------------------------------------------------------

const dirty = new Set<Section>();
let frame = 0;

function mark(...sections: Section[]): void {
  for (const s of sections) dirty.add(s);
  if (!frame) frame = requestAnimationFrame(render);
}

/** Section containers, to show a failure where it happened. */
const SECTION_EL: Record<Section, string> = {
  header: 'summary',
  sessions: 'departed',
  locks: 'n-locks',
  overlaps: 'overlaps',
  tasks: 'board',
  syncs: 'syncs',
  report: 'report',
  messages: 'messages',
  decisions: 'decisions',
  interfaces: 'interfaces',
  notes: 'notes',
  versions: 'versions',
  timeline: 'n-timeline',
};

function render(): void {
  frame = 0;
  const t0 = performance.now();
  const todo = new Set(dirty);
  dirty.clear();
  const l = current;
  const now = Date.now();
  const names = new Map<string, string>();
  if (l) for (const s of l.presence.sessions) names.set(s.id, s.name);
  // Each section on its own: data from peers that one section cannot show does not stop the others.
  const run = (section: Section, fn: () => void) => {
    if (!todo.has(section)) return;
    try {
      fn();
    } catch (err) {
      console.warn(`huddle dashboard: could not render ${section}:`, err);
      $(SECTION_EL[section]).textContent = `(could not show this: ${(err as Error).message})`;
    }
  };
  run('header', () => renderHeader(l, now));
  if (l && l.everLive) {
    run('sessions', () => renderSessions(l, now));
    run('locks', () => renderLocks(l, names, now));
    run('overlaps', () => {
      const overlaps = editOverlaps(l.presence);
      $('n-overlaps').textContent = overlaps.length ? String(overlaps.length) : '';
      setHtml($('overlaps'), R.overlapsHtml(overlaps));
    });
    run('tasks', () => renderTasks(l, now));
    run('syncs', () => setHtml($('syncs'), syncsHtml(l.ctx, l.presence, now)));
    run('report', () => setHtml($('report'), reportHtml(l.ctx, l.presence, Number(($('rp-range') as HTMLSelectElement).value), now)));
    run('messages', () => {
      const all = l.ctx.messages();
      setHtml($('messages'), R.messagesHtml(l.ctx.openRequests(), all.slice(-15).reverse(), all.length, names, now, access === 'write'));
    });
    run('decisions', () => {
      const all = l.ctx.decisions();
      $('n-decisions').textContent = all.length ? String(all.length) : '';
      setHtml($('decisions'), R.decisionsHtml(all.slice(-12).reverse(), all.length, now));
    });
    run('interfaces', () => {
      const all = l.ctx.interfaces();
      $('n-interfaces').textContent = all.length ? String(all.length) : '';
      setHtml($('interfaces'), R.interfacesHtml(all, now));
    });
    run('notes', () => {
      const all = l.ctx.notes();
      $('n-notes').textContent = all.length ? String(all.length) : '';
      setHtml($('notes'), R.notesHtml(all, now));
    });
    run('versions', () => {
      const all = l.ctx.versions();
      $('n-versions').textContent = all.length ? String(all.length) : '';
      setHtml($('versions'), R.versionsHtml(all.slice(-10).reverse(), all.length, now));
    });
    run('timeline', () => renderTimeline(l, now));
    if (l.live && stats.firstLiveRenderMs === null) stats.firstLiveRenderMs = Math.round(performance.now());
  }
  const ms = performance.now() - t0;
  stats.renders++;
  stats.renderMsTotal += ms;
  stats.renderMsMax = Math.max(stats.renderMsMax, ms);
}

function renderHeader(l: Live | null, now: number): void {
  const conn = $('conn');
  let state: string;
  let text: string;
  if (!l) [state, text] = ['offline', 'no project'];
  else if (l.closedReason) [state, text] = ['offline', `closed: ${l.closedReason}`];
  else if (l.live) [state, text] = ['live', 'live'];
  else if (!l.everLive) [state, text] = ['connecting', 'connecting…'];
  else if (l.droppedAt !== null && now - l.droppedAt < RECONNECTING_MS) [state, text] = ['reconnecting', 'reconnecting…'];
  else [state, text] = ['offline', `offline as of ${clock(l.lastLiveAt ?? now, now)} · retrying`];
  conn.className = `conn conn-${state}`;
  if (conn.textContent !== text) conn.textContent = text;
  $('main').classList.toggle('as-of', !!l && l.everLive && !l.live);

  const a = $('access');
  a.textContent = access === 'write' ? 'can write' : access === 'read' ? 'read-only' : '';
  a.className = `access access-${access}`;
  a.title = access === 'write' ? 'Actions on this page change the shared context; each asks for confirmation.' : 'This token may only watch.';

  if (l && l.everLive) {
    const p = l.presence;
    const open = l.ctx.openRequests().length;
    const bits = [plural(p.sessions.length, 'session'), plural(p.locks.filter((x) => x.state !== 'blocked').length, 'lock')];
    if (open) bits.push(`${open} awaiting an answer`);
    $('summary').textContent = bits.join(' · ');
    renderProjects();
    document.title = `huddle · ${l.project} · ${plural(p.sessions.length, 'session')}${l.live ? '' : ' (offline)'}`;
  } else {
    $('summary').textContent = '';
    document.title = l ? `huddle · ${l.project}` : 'huddle';
  }
}

function renderSessions(l: Live, now: number): void {
  // Presence not renewed for most of the server's timeout: the process is probably gone or hung.
  const silentAfter = presenceTimeoutMs * 0.7;
  const rows: R.SessionRow[] = l.presence.sessions.map((s) => {
    const silent = l.live ? l.silentFor(s.clientId, now) : 0;
    const overdue = silent > silentAfter;
    return { ...s, shown: overdue ? 'stale' : s.status, silentMs: overdue ? silent : null };
  });
  $('n-sessions').textContent = rows.length ? String(rows.length) : '';
  patchList($('sessions'), R.sessionRows(rows, now));
  setHtml($('departed'), R.departedLine(Array.from(l.departed.values()), now));
  const others = l.presence.watchers.filter((w) => w.id !== l.actor.id).length;
  $('watchers').textContent = `This page watches without being a session${others ? `; ${plural(others, 'other dashboard')} watching too` : ''}.`;
  const roles = new Set<string>();
  for (const s of l.presence.sessions) roles.add(s.role);
  setHtml($('roles'), Array.from(roles).sort().map((r) => `<option value="${esc(r)}"></option>`).join(''));
  setHtml($('recipients'), ['all', ...Array.from(roles).sort().map((r) => `role:${r}`), ...l.presence.sessions.map((s) => s.id)].map((v) => `<option value="${esc(v)}"></option>`).join(''));
}

function renderLocks(l: Live, names: Map<string, string>, now: number): void {
  const canWrite = access === 'write';
  const locks = l.presence.locks;
  $('n-locks').textContent = locks.length ? String(locks.length) : '';
  const head = $('locks-head');
  const hasAction = head.lastElementChild?.textContent === 'Action';
  if (canWrite && !hasAction) head.insertAdjacentHTML('beforeend', '<th scope="col">Action</th>');
  if (!canWrite && hasAction) head.lastElementChild!.remove();
  patchList($('locks'), R.lockRows(locks, names, now, canWrite));
}

function renderTasks(l: Live, now: number): void {
  const tasks = l.ctx.tasks();
  const notDone = tasks.filter((t) => t.status !== 'done').length;
  $('n-tasks').textContent = tasks.length ? `${notDone} open of ${tasks.length}` : '';
  setHtml($('board'), R.boardHtml(tasks, (t) => l.ctx.pendingDeps(t).length, now, 12, access === 'write'));
}

function renderTimeline(l: Live, now: number): void {
  const all = l.ctx.timeline();
  const range = Number(($('tl-range') as HTMLSelectElement).value);
  const typeSel = $('tl-type') as HTMLSelectElement;
  const type = typeSel.value;
  const q = ($('tl-search') as HTMLInputElement).value.trim().toLowerCase();
  // Type choices: the first segment of every type seen.
  const kinds = Array.from(new Set(all.map((e) => e.type.split('.')[0]))).sort();
  const kindsHtml = `<option value="">all types</option>${kinds.map((k) => `<option value="${esc(k)}"${k === type ? ' selected' : ''}>${esc(k)}</option>`).join('')}`;
  if (typeSel.dataset.kinds !== kinds.join('\u0000')) {
    typeSel.dataset.kinds = kinds.join('\u0000');
    typeSel.innerHTML = kindsHtml;
    typeSel.value = type;
  }
  const since = range > 0 ? now - range : -Infinity;
  const match = (e: TimelineEvent) =>
    e.at >= since &&
    (!type || e.type === type || e.type.startsWith(type + '.')) &&
    (!q || e.summary.toLowerCase().includes(q) || e.actorName.toLowerCase().includes(q) || e.type.includes(q));
  const hits: TimelineEvent[] = [];
  for (let i = all.length - 1; i >= 0; i--) if (match(all[i])) hits.push(all[i]);
  const shown = hits.slice(0, timelineLimit);
  $('n-timeline').textContent = `${shown.length < hits.length ? `${shown.length} of ` : ''}${plural(hits.length, 'event')}${hits.length !== all.length ? ` (${all.length} in all)` : ''}`;
  patchList($('timeline'), R.timelineRows(shown, now));
  const more = $('tl-more') as HTMLButtonElement;
  more.hidden = shown.length >= hits.length;
  more.textContent = `Show ${Math.min(200, hits.length - shown.length)} more`;
}

// ---- notices, toasts, confirmation ---------------------------------------------

function notice(html: string | null): void {
  const n = $('notice');
  n.hidden = html === null;
  setHtml(n, html ?? '');
}

function toast(text: string, kind: 'ok' | 'warn' | 'bad' = 'ok'): void {
  const t = document.createElement('div');
  t.className = `toast toast-${kind}`;
  t.textContent = text;
  $('toasts').append(t);
  setTimeout(() => t.remove(), 6000);
}

/** Ask before an action; `danger` styles the button as destructive (a forced release), not for adding things. */
const PERSON_KEY = 'huddle.person';

/** The person using this page, asked once (in the confirm dialog) and kept in localStorage. */
function personName(): string {
  try {
    return localStorage.getItem(PERSON_KEY)?.trim() ?? '';
  } catch {
    return '';
  }
}

/** Who the page's writes are attributed to: the named person, not "dashboard". */
function writer(l: Live): Actor {
  const name = personName() || 'someone at the dashboard';
  return { id: `${name.replace(/\s+/g, '-').toLowerCase()}@dashboard`, name, role: 'human' };
}

function confirmAction(title: string, text: string, ok: string, withReason: boolean | string = false, danger = false): Promise<{ ok: boolean; reason: string }> {
  const dlg = $('confirm') as HTMLDialogElement;
  $('confirm-ok').className = danger ? 'danger' : 'primary';
  $('confirm-reason-text').textContent = typeof withReason === 'string' ? withReason : 'Reason (told to the holder)';
  const name = $('confirm-name') as HTMLInputElement;
  $('confirm-name-label').hidden = personName() !== '';
  name.value = '';
  dlg.addEventListener('close', () => {
    const n = name.value.trim();
    if (dlg.returnValue === 'ok' && n) {
      try {
        localStorage.setItem(PERSON_KEY, n);
      } catch {
        /* private mode: asked again next time */
      }
    }
  }, { once: true });
  const reason = $('confirm-reason') as HTMLInputElement;
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  $('confirm-reason-label').hidden = withReason === false;
  reason.value = '';
  dlg.returnValue = '';
  dlg.showModal();
  (withReason ? reason : $('confirm-cancel')).focus();
  return new Promise((resolve) => dlg.addEventListener('close', () => resolve({ ok: dlg.returnValue === 'ok', reason: reason.value.trim() }), { once: true }));
}

async function afterWrite(l: Live, done: string): Promise<void> {
  try {
    await l.conn.whenStored(5000);
    toast(`${done}.`);
  } catch {
    toast(`${done} here; the server has not confirmed it yet (it is sent when the connection is back).`, 'warn');
  }
}

function failed(err: unknown): void {
  toast(err instanceof ContextError || err instanceof Error ? err.message : String(err), 'bad');
}

// ---- actions (write access only, each confirmed) ---------------------------------

async function forceRelease(claimId: string): Promise<void> {
  const l = current;
  const lock: LockView | undefined = l?.presence.locks.find((x) => x.id === claimId);
  if (!l || !lock) return toast('That lock is gone already.', 'warn');
  const r = await confirmAction('Force-release a lock', `Release the lock on ${lock.path} held by ${lock.sessionName} (${lock.role})? ${lock.sessionName} loses it at once and is told by a message.`, 'Release lock', true, true);
  if (!r.ok || current !== l) return;
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

async function addTask(form: HTMLFormElement): Promise<void> {
  const l = current;
  if (!l) return;
  const data = new FormData(form);
  const title = String(data.get('title') ?? '').trim();
  const role = String(data.get('role') ?? '').trim();
  const detail = String(data.get('detail') ?? '').trim();
  if (!title) return toast('A task needs a title.', 'warn');
  const r = await confirmAction('Add a task', `Add the task “${title}”${role ? ` for role ${role}` : ''} to ${l.project}?`, 'Add task');
  if (!r.ok || current !== l) return;
  try {
    l.ctx.addTask(writer(l), { title, role: role || undefined, detail: detail || undefined });
  } catch (err) {
    return failed(err);
  }
  form.reset();
  await afterWrite(l, `Added the task “${title}”`);
}

async function addDecision(form: HTMLFormElement): Promise<void> {
  const l = current;
  if (!l) return;
  const data = new FormData(form);
  const text = String(data.get('text') ?? '').trim();
  const rationale = String(data.get('rationale') ?? '').trim();
  if (!text) return toast('A decision needs text.', 'warn');
  const r = await confirmAction('Add a decision', `Record the decision “${text}” in ${l.project}? Every agent sees it.`, 'Add decision');
  if (!r.ok || current !== l) return;
  try {
    l.ctx.decide(writer(l), { text, rationale: rationale || undefined });
  } catch (err) {
    return failed(err);
  }
  form.reset();
  await afterWrite(l, 'Recorded the decision');
}

/** Claim, complete or reassign a task; completing another's claimed task tells them. */
async function taskAction(action: string, id: string): Promise<void> {
  const l = current;
  if (!l) return;
  const t = l.ctx.tasks().find((x) => x.id === id);
  if (!t) return;
  const who = t.assignee && t.status === 'claimed' ? t.assignee : null;
  if (action === 'task-claim') {
    const r = await confirmAction('Claim a task', `Claim “${t.title}”${who ? ` (claimed by ${who.name}, who is told)` : ''}?`, 'Claim');
    if (!r.ok || current !== l) return;
    try {
      l.ctx.claimTask(writer(l), id, { take: true }); // tells the holder (src/model/context.ts)
    } catch (err) {
      return failed(err);
    }
    return afterWrite(l, `Claimed “${t.title}”`);
  }
  if (action === 'task-done') {
    const r = await confirmAction('Complete a task', `Mark “${t.title}” done${who ? ` (claimed by ${who.name}, who is told)` : ''}?`, 'Mark done');
    if (!r.ok || current !== l) return;
    try {
      l.ctx.completeTask(writer(l), id); // tells the holder
    } catch (err) {
      return failed(err);
    }
    return afterWrite(l, `Marked “${t.title}” done`);
  }
  const r = await confirmAction('Reassign a task', `Hand “${t.title}” to a session or role:NAME (with a summary in the message).`, 'Reassign', 'To (a session or role:NAME)');
  if (!r.ok || current !== l || !r.reason) return;
  try {
    l.ctx.handoff(writer(l), id, { to: r.reason, summary: `reassigned from the dashboard by ${writer(l).name}` });
  } catch (err) {
    return failed(err);
  }
  return afterWrite(l, `Handed “${t.title}” to ${r.reason}`);
}

/** Answer an open request: a response to its sender, marked as the reply. */
async function answer(messageId: string): Promise<void> {
  const l = current;
  if (!l) return;
  const m = l.ctx.openRequests().find((x) => x.id === messageId);
  if (!m) return;
  const r = await confirmAction('Answer a request', `${m.byName} asked: “${m.text}”`, 'Send answer', 'Your answer');
  if (!r.ok || current !== l || !r.reason) return;
  try {
    l.ctx.send(writer(l), { to: m.by, kind: 'response', text: r.reason, replyTo: m.id });
  } catch (err) {
    return failed(err);
  }
  return afterWrite(l, `Answered ${m.byName}`);
}

async function sendMessage(form: HTMLFormElement): Promise<void> {
  const l = current;
  if (!l) return;
  const data = new FormData(form);
  const to = String(data.get('to') ?? '').trim();
  const text = String(data.get('text') ?? '').trim();
  if (!to || !text) return toast('A message needs a recipient and text.', 'warn');
  const r = await confirmAction('Send a message', `Send to ${to}: “${text}”?`, 'Send');
  if (!r.ok || current !== l) return;
  try {
    l.ctx.send(writer(l), { to, kind: 'fyi', text });
  } catch (err) {
    return failed(err);
  }
  form.reset();
  return afterWrite(l, `Sent to ${to}`);
}

// ---- projects ---------------------------------------------------------------------

function switchTo(name: string): void {
  if (current?.project === name) return;
  current?.destroy();
  current = new Live(name);
  timelineLimit = 200;
  pageUrl.searchParams.set('project', name);
  history.replaceState(null, '', pageUrl);
  renderProjects();
  notice(null);
  mark(...ALL);
}

function renderProjects(): void {
  const sel = $('project') as HTMLSelectElement;
  const list = projects.map((p) => ({ ...p }));
  if (current && !list.some((p) => p.name === current!.project)) list.push({ name: current.project });
  // The current project's count is live; the others come from the last poll.
  const mine = current?.everLive ? list.find((p) => p.name === current!.project) : undefined;
  if (mine && current) mine.sessions = current.presence.sessions.length;
  const html = list.map((p) => `<option value="${esc(p.name)}">${esc(p.name)}${p.sessions ? ` (${plural(p.sessions, 'session')})` : ''}</option>`).join('');
  setHtml(sel, html);
  sel.disabled = list.length === 0;
  if (current) sel.value = current.project;
}

async function refreshProjects(): Promise<void> {
  // While the server is unreachable the connection state says so; polling would only add failed requests.
  if (current && current.everLive && !current.live) return;
  try {
    const r = await api<{ projects: Array<ProjectInfo | string> }>('/api/projects');
    projects = (r.projects ?? []).map((p) => (typeof p === 'string' ? { name: p } : p));
  } catch {
    return; // the connection state tells the story; try again on the next round
  }
  renderProjects();
  warnUnknownProject();
  void refreshRelay();
  if (!current) {
    const wanted = pageUrl.searchParams.get('project');
    const pick = wanted ?? projects.slice().sort((a, b) => (b.sessions ?? 0) - (a.sessions ?? 0))[0]?.name;
    if (pick) switchTo(pick);
    else notice('<p><strong>No projects yet.</strong> A project appears here once an agent joins it (for example after <code>huddle init</code> in a repository). This page checks every few seconds.</p>');
  }
}

type LinkStatus = { status: string; authoritative: boolean; reason?: string | null; downSince?: number | null };

/** The server's link to its team relay, from /healthz: shown with its reason while it is not connected. */
async function refreshRelay(): Promise<void> {
  let h: { upstream?: { url: string; projects: Record<string, LinkStatus> } | null };
  try {
    h = await api('/healthz');
  } catch {
    return;
  }
  const el = $('relay');
  const up = h.upstream;
  const link = up && current ? up.projects?.[current.project] : undefined;
  if (!up || !link || (link.status === 'connected' && link.authoritative)) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  const now = Date.now();
  const why = link.reason === 'unreachable' && link.downSince ? `unreachable since ${clock(link.downSince, now)}` : link.reason ?? link.status;
  el.textContent = `team relay ${up.url}: ${why}; changes stay on this machine until it is back`;
  el.className = `relay relay-${link.reason?.startsWith('refused') ? 'refused' : 'away'}`;
  el.hidden = false;
}

/** A `?project=` nobody has used (a typo?) is an empty project: say so instead of showing an empty page. */
function warnUnknownProject(): void {
  const wanted = pageUrl.searchParams.get('project');
  if (!wanted || current?.project !== wanted) return;
  const p = projects.find((x) => x.name === wanted);
  const unknown = !p || (p.stored === false && !p.sessions);
  const el = $('notice');
  if (!unknown) {
    if (el.dataset.kind === 'unknown-project') {
      delete el.dataset.kind;
      notice(null);
    }
    return;
  }
  const others = projects.filter((x) => x.name !== wanted && (x.stored || x.sessions)).map((x) => `<code>${esc(x.name)}</code>`);
  notice(`<p><strong>No project named “${esc(wanted)}” exists on this server yet</strong> (is the address right?). It is empty until an agent joins it.${others.length ? ` Known projects: ${others.join(', ')}.` : ''}</p>`);
  el.dataset.kind = 'unknown-project';
}

// ---- start --------------------------------------------------------------------

function bind(): void {
  $('project').addEventListener('change', (e) => switchTo((e.target as HTMLSelectElement).value));
  for (const id of ['tl-range', 'tl-type']) $(id).addEventListener('change', () => ((timelineLimit = 200), mark('timeline')));
  $('tl-search').addEventListener('input', () => ((timelineLimit = 200), mark('timeline')));
  $('rp-range').addEventListener('change', () => mark('report'));
  $('tl-more').addEventListener('click', () => ((timelineLimit += 200), mark('timeline')));
  $('confirm-ok').addEventListener('click', () => ($('confirm') as HTMLDialogElement).close('ok'));
  $('confirm-cancel').addEventListener('click', () => ($('confirm') as HTMLDialogElement).close('cancel'));
  $('confirm-reason').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') ($('confirm') as HTMLDialogElement).close('ok');
  });
  $('task-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void addTask(e.target as HTMLFormElement);
  });
  $('message-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void sendMessage(e.target as HTMLFormElement);
  });
  $('decision-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void addDecision(e.target as HTMLFormElement);
  });
  document.addEventListener('click', (e) => {
    const b = (e.target as Element | null)?.closest?.('button[data-action]') as HTMLButtonElement | null;
    if (!b || access !== 'write') return;
    if (b.dataset.action === 'release' && b.dataset.claim) void forceRelease(b.dataset.claim);
    else if (b.dataset.action?.startsWith('task-') && b.dataset.task) void taskAction(b.dataset.action, b.dataset.task);
    else if (b.dataset.action === 'answer' && b.dataset.message) void answer(b.dataset.message);
  });
  addEventListener('pagehide', () => current?.awareness.setLocalState(null));
}

/** A field for the token on the "needs a token" notice: opens the page again with ?token= (and the project kept). */
function tokenForm(): void {
  const form = document.createElement('form');
  form.className = 'token-form';
  form.innerHTML = '<label>Token <input name="token" type="password" autocomplete="off" required></label><button type="submit" class="primary">Open the dashboard</button>';
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = (form.elements.namedItem('token') as HTMLInputElement).value.trim();
    if (!t) return;
    const u = new URL(location.href);
    u.searchParams.set('token', t);
    location.assign(u.toString());
  });
  $('notice').append(form);
}

async function start(): Promise<void> {
  bind();
  mark('header');
  // With a project in the address, connect at once, in parallel with the API calls.
  const wanted = pageUrl.searchParams.get('project');
  if (wanted) switchTo(wanted);
  let info: { access: Access; tokenRequired: boolean; presenceTimeoutMs?: number };
  try {
    // With a project named, the access on it (a project-scoped token grants nothing server-wide).
    info = await api(wanted ? `/api/access?project=${encodeURIComponent(wanted)}` : '/api/access');
  } catch (err) {
    notice(`<p><strong>The huddle server did not answer:</strong> ${esc((err as Error).message)}. Reload the page once it runs.</p>`);
    return;
  }
  timing('access');
  access = info.access;
  presenceTimeoutMs = info.presenceTimeoutMs ?? presenceTimeoutMs;
  if (access === 'none') {
    current?.destroy();
    current = null;
    notice(
      token
        ? '<p><strong>The token in this address is not accepted by this server.</strong> Check it, or ask for the read-only token.</p>'
        : '<p><strong>This server needs a token.</strong> A read-only token is enough to watch.</p>',
    );
    tokenForm();
    mark('header');
    return;
  }
  const canWrite = access === 'write';
  for (const id of ['add-task', 'add-decision', 'send-message']) $(id).hidden = !canWrite;
  mark(...ALL);
  await refreshProjects();
  timing('projects');
  setInterval(() => void refreshProjects(), 5000);
  // Ages, statuses and lock expiry move with time: every second, or faster when the server's
  // presence timeout is short, so that an unresponsive session is shown before it is dropped.
  let slowAt = Date.now();
  setInterval(() => {
    if (!current) return;
    const now = Date.now();
    current.renew(now);
    current.recompute();
    mark('header', 'sessions', 'locks', 'overlaps');
    if (now - slowAt >= 10_000) {
      slowAt = now;
      mark('timeline', 'tasks', 'syncs', 'report', 'messages', 'decisions', 'interfaces', 'notes', 'versions');
    }
  }, Math.max(200, Math.min(1000, presenceTimeoutMs / 10)));
}

void start();
