/** The projects on the server (polled), switching between them, and the server's link to its team relay. */
import { $ } from './dom.js';
import { clock, esc } from './format.js';
import { ALL, api, pageUrl, state, type ProjectInfo } from './state.js';
import { Live } from './live.js';
import { mark, renderProjects } from './sections.js';
import { notice } from './dialogs.js';

export function switchTo(name: string): void {
  if (state.current?.project === name) return;
  state.current?.destroy();
  state.current = new Live(name);
  state.timelineLimit = 200;
  pageUrl.searchParams.set('project', name);
  history.replaceState(null, '', pageUrl);
  renderProjects();
  notice(null);
  mark(...ALL);
}

export async function refreshProjects(): Promise<void> {
  // While the server is unreachable the connection state says so; polling would only add failed requests.
  if (state.current && state.current.everLive && !state.current.live) return;
  try {
    const r = await api<{ projects: Array<ProjectInfo | string> }>('/api/projects');
    state.projects = (r.projects ?? []).map((p) => (typeof p === 'string' ? { name: p } : p));
  } catch {
    return; // the connection state tells the story; try again on the next round
  }
  renderProjects();
  warnUnknownProject();
  void refreshRelay();
  if (!state.current) {
    const wanted = pageUrl.searchParams.get('project');
    const pick = wanted ?? state.projects.slice().sort((a, b) => (b.sessions ?? 0) - (a.sessions ?? 0))[0]?.name;
    if (pick) switchTo(pick);
    else notice('<p><strong>No projects yet.</strong> A project appears here once an agent joins it (for example after <code>huddle init</code> in a repository). This page checks every few seconds.</p>');
  }
}

type LinkStatus = { status: string; authoritative: boolean; reason?: string | null; downSince?: number | null };

/** The server's link to its team relay, from /healthz: its state always, with the reason while it is not connected. */
export async function refreshRelay(): Promise<void> {
  let h: { upstream?: { url: string; projects: Record<string, LinkStatus> } | null };
  try {
    h = await api('/healthz');
  } catch {
    return;
  }
  const el = $('relay');
  const up = h.upstream;
  const link = up && state.current ? up.projects?.[state.current.project] : undefined;
  if (!up || !link) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  if (link.status === 'connected' && link.authoritative) {
    el.textContent = `team relay ${up.url}: connected`;
    el.className = 'relay relay-ok';
    el.hidden = false;
    return;
  }
  const now = Date.now();
  const why = link.reason === 'unreachable' && link.downSince ? `unreachable since ${clock(link.downSince, now)}` : link.reason ?? link.status;
  el.textContent = `team relay ${up.url}: ${why}; changes stay on this machine until it is back`;
  el.className = `relay relay-${link.reason?.startsWith('refused') ? 'refused' : 'away'}`;
  el.hidden = false;
}

/** A `?project=` nobody has used (a typo?) is an empty project: say so instead of showing an empty page. */
export function warnUnknownProject(): void {
  const wanted = pageUrl.searchParams.get('project');
  if (!wanted || state.current?.project !== wanted) return;
  const p = state.projects.find((x) => x.name === wanted);
  const unknown = !p || (p.stored === false && !p.sessions);
  const el = $('notice');
  if (!unknown) {
    if (el.dataset.kind === 'unknown-project') {
      delete el.dataset.kind;
      notice(null);
    }
    return;
  }
  const others = state.projects.filter((x) => x.name !== wanted && (x.stored || x.sessions)).map((x) => `<code>${esc(x.name)}</code>`);
  notice(`<p><strong>No project named “${esc(wanted)}” exists on this server yet</strong> (is the address right?). It is empty until an agent joins it.${others.length ? ` Known projects: ${others.join(', ')}.` : ''}</p>`);
  el.dataset.kind = 'unknown-project';
}
