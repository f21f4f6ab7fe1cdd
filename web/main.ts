/**
 * The huddle dashboard: a Yjs peer in the browser. It joins one project over
 * the y-websocket protocol (the same RelayConnection the library uses), shows
 * itself in awareness as a watcher, and renders the shared context and
 * everyone's presence live. Rendering is batched into one animation frame per
 * burst of changes, and only the sections that changed are rebuilt.
 *
 * The page: state.ts (what it shares), live.ts (the connection), sections.ts
 * (rendering), dialogs.ts, actions.ts (writes), projects.ts; this module binds
 * the controls and starts.
 */
import { $ } from './dom.js';
import { esc } from './format.js';
import { ALL, api, pageUrl, state, timing, token, type Access } from './state.js';
import { mark } from './sections.js';
import { notice } from './dialogs.js';
import { addDecision, addTask, answer, forceRelease, sendMessage, taskAction } from './actions.js';
import { refreshProjects, switchTo } from './projects.js';

function bind(): void {
  $('project').addEventListener('change', (e) => switchTo((e.target as HTMLSelectElement).value));
  for (const id of ['tl-range', 'tl-type']) $(id).addEventListener('change', () => ((state.timelineLimit = 200), mark('timeline')));
  $('tl-search').addEventListener('input', () => ((state.timelineLimit = 200), mark('timeline')));
  $('rp-range').addEventListener('change', () => mark('report'));
  $('tl-more').addEventListener('click', () => ((state.timelineLimit += 200), mark('timeline')));
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
    if (!b || state.access !== 'write') return;
    if (b.dataset.action === 'release' && b.dataset.claim) void forceRelease(b.dataset.claim);
    else if (b.dataset.action?.startsWith('task-') && b.dataset.task) void taskAction(b.dataset.action, b.dataset.task);
    else if (b.dataset.action === 'answer' && b.dataset.message) void answer(b.dataset.message);
  });
  addEventListener('pagehide', () => state.current?.awareness.setLocalState(null));
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
  state.access = info.access;
  state.presenceTimeoutMs = info.presenceTimeoutMs ?? state.presenceTimeoutMs;
  if (state.access === 'none') {
    state.current?.destroy();
    state.current = null;
    notice(
      token
        ? '<p><strong>The token in this address is not accepted by this server.</strong> Check it, or ask for the read-only token.</p>'
        : '<p><strong>This server needs a token.</strong> A read-only token is enough to watch.</p>',
    );
    tokenForm();
    mark('header');
    return;
  }
  const canWrite = state.access === 'write';
  for (const id of ['add-task', 'add-decision', 'send-message']) $(id).hidden = !canWrite;
  mark(...ALL);
  await refreshProjects();
  timing('projects');
  setInterval(() => void refreshProjects(), 5000);
  // Ages, statuses and lock expiry move with time: every second, or faster when the server's
  // presence timeout is short, so that an unresponsive session is shown before it is dropped.
  let slowAt = Date.now();
  setInterval(() => {
    if (!state.current) return;
    const now = Date.now();
    state.current.renew(now);
    state.current.recompute();
    mark('header', 'sessions', 'locks', 'overlaps');
    if (now - slowAt >= 10_000) {
      slowAt = now;
      mark('timeline', 'tasks', 'syncs', 'report', 'messages', 'decisions', 'interfaces', 'notes', 'versions');
    }
  }, Math.max(200, Math.min(1000, state.presenceTimeoutMs / 10)));
}

void start();
