/**
 * Rendering: changes mark sections dirty, and one animation frame per burst
 * rebuilds only those, each on its own (data one section cannot show does not
 * stop the others).
 */
import type { TimelineEvent } from '../src/model/context.js';
import { editOverlaps } from '../src/model/view.js';
import { $, patchList, setHtml } from './dom.js';
import { clock, esc, plural } from './format.js';
import * as R from './render.js';
import { syncsHtml } from './syncs.js';
import { reportHtml } from './report.js';
import { RECONNECTING_MS, state, stats, type Section } from './state.js';
import type { Live } from './live.js';

const dirty = new Set<Section>();
let frame = 0;

export function mark(...sections: Section[]): void {
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

export function render(): void {
  frame = 0;
  const t0 = performance.now();
  const todo = new Set(dirty);
  dirty.clear();
  const l = state.current;
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
      setHtml($('messages'), R.messagesHtml(l.ctx.openRequests(), all.slice(-15).reverse(), all.length, names, now, state.access === 'write'));
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

export function renderHeader(l: Live | null, now: number): void {
  const conn = $('conn');
  let shown: string;
  let text: string;
  if (!l) [shown, text] = ['offline', 'no project'];
  else if (l.closedReason) [shown, text] = ['offline', `closed: ${l.closedReason}`];
  else if (l.live) [shown, text] = ['live', 'live'];
  else if (!l.everLive) [shown, text] = ['connecting', 'connecting…'];
  else if (l.droppedAt !== null && now - l.droppedAt < RECONNECTING_MS) [shown, text] = ['reconnecting', 'reconnecting…'];
  else [shown, text] = ['offline', `offline as of ${clock(l.lastLiveAt ?? now, now)} · retrying`];
  conn.className = `conn conn-${shown}`;
  if (conn.textContent !== text) conn.textContent = text;
  $('main').classList.toggle('as-of', !!l && l.everLive && !l.live);

  const a = $('access');
  a.textContent = state.access === 'write' ? 'can write' : state.access === 'read' ? 'read-only' : '';
  a.className = `access access-${state.access}`;
  a.title = state.access === 'write' ? 'Actions on this page change the shared context; each asks for confirmation.' : 'This token may only watch.';

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

export function renderSessions(l: Live, now: number): void {
  // Presence not renewed for most of the server's timeout: the process is probably gone or hung.
  const silentAfter = state.presenceTimeoutMs * 0.7;
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

export function renderLocks(l: Live, names: Map<string, string>, now: number): void {
  const canWrite = state.access === 'write';
  const locks = l.presence.locks;
  $('n-locks').textContent = locks.length ? String(locks.length) : '';
  const head = $('locks-head');
  const hasAction = head.lastElementChild?.textContent === 'Action';
  if (canWrite && !hasAction) head.insertAdjacentHTML('beforeend', '<th scope="col">Action</th>');
  if (!canWrite && hasAction) head.lastElementChild!.remove();
  patchList($('locks'), R.lockRows(locks, names, now, canWrite));
}

export function renderTasks(l: Live, now: number): void {
  const tasks = l.ctx.tasks();
  const notDone = tasks.filter((t) => t.status !== 'done').length;
  $('n-tasks').textContent = tasks.length ? `${notDone} open of ${tasks.length}` : '';
  setHtml($('board'), R.boardHtml(tasks, (t) => l.ctx.pendingDeps(t).length, now, 12, state.access === 'write'));
}

export function renderTimeline(l: Live, now: number): void {
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
  const shown = hits.slice(0, state.timelineLimit);
  $('n-timeline').textContent = `${shown.length < hits.length ? `${shown.length} of ` : ''}${plural(hits.length, 'event')}${hits.length !== all.length ? ` (${all.length} in all)` : ''}`;
  patchList($('timeline'), R.timelineRows(shown, now));
  const more = $('tl-more') as HTMLButtonElement;
  more.hidden = shown.length >= hits.length;
  more.textContent = `Show ${Math.min(200, hits.length - shown.length)} more`;
}


export function renderProjects(): void {
  const sel = $('project') as HTMLSelectElement;
  const list = state.projects.map((p) => ({ ...p }));
  if (state.current && !list.some((p) => p.name === state.current!.project)) list.push({ name: state.current.project });
  // The current project's count is live; the others come from the last poll.
  const mine = state.current?.everLive ? list.find((p) => p.name === state.current!.project) : undefined;
  if (mine && state.current) mine.sessions = state.current.presence.sessions.length;
  const html = list.map((p) => `<option value="${esc(p.name)}">${esc(p.name)}${p.sessions ? ` (${plural(p.sessions, 'session')})` : ''}</option>`).join('');
  setHtml(sel, html);
  sel.disabled = list.length === 0;
  if (state.current) sel.value = state.current.project;
}
