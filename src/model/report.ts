/**
 * What each session did, from the timeline (bounded: what it still holds) and
 * the current presence: when it joined and left, tasks claimed and done, files
 * edited, locks held and how long others waited on them, edits it was denied
 * (conflicts avoided), messages sent and answered. Pure: callers pass the
 * events, the messages, the sessions and the time. Event `data` is read
 * through guards: a wrongly typed field is ignored.
 */
import type { Message, TimelineEvent } from './context.js';
import type { SessionView } from './view.js';

export interface SessionReport {
  id: string;
  name: string;
  role: string;
  /** Presence spans in the window (to: null while still here). */
  spans: Array<{ from: number; to: number | null }>;
  here: boolean;
  tasksClaimed: Array<{ id?: string; title: string; at: number }>;
  tasksDone: Array<{ id?: string; title: string; at: number }>;
  filesEdited: string[];
  locksHeld: Array<{ path: string; ms: number; at: number }>;
  /** Others that waited on (or were refused by) this session's locks. */
  othersWaited: Array<{ path: string; session: string; name: string; ms: number; got: boolean }>;
  /** This session waiting on others' locks. */
  waited: Array<{ path: string; holder: string; ms: number; got: boolean }>;
  /** Edits this session was refused (conflicts avoided). */
  denied: Array<{ path: string; holder: string; at: number }>;
  /** Others' edits refused because of this session's locks. */
  deniedOthers: number;
  messagesSent: number;
  /** Requests addressed to it that it answered, and its own requests that got an answer. */
  answered: number;
  requestsAnswered: number;
  requestsOpen: number;
  syncsArrived: number;
  events: number;
}

export interface Report {
  since: number;
  until: number;
  sessions: SessionReport[];
  /** Live sessions over time: [time, count] steps, for the chart. */
  timeline: Array<[number, number]>;
  /** The oldest event the timeline still holds (older activity is gone: the timeline is bounded). */
  oldest: number | null;
}

export interface ReportInput {
  events: TimelineEvent[];
  messages: Message[];
  sessions: SessionView[];
  since: number;
  now: number;
  /** Only this session (id or name). */
  session?: string;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export function buildReport(input: ReportInput): Report {
  const { since, now } = input;
  const all = input.events.slice().sort((a, b) => a.at - b.at);
  const byId = new Map<string, SessionReport>();
  const names = new Map<string, string>();
  const rep = (id: string, name: string, role = 'agent'): SessionReport => {
    let r = byId.get(id);
    if (!r) {
      r = { id, name, role, spans: [], here: false, tasksClaimed: [], tasksDone: [], filesEdited: [], locksHeld: [], othersWaited: [], waited: [], denied: [], deniedOthers: 0, messagesSent: 0, answered: 0, requestsAnswered: 0, requestsOpen: 0, syncsArrived: 0, events: 0 };
      byId.set(id, r);
    }
    return r;
  };
  const open = new Map<string, number>();
  const files = new Map<string, Set<string>>();
  const addFiles = (id: string, fs: string[]) => {
    const set = files.get(id) ?? new Set<string>();
    for (const f of fs.slice(0, 50)) set.add(f);
    files.set(id, set);
  };
  for (const e of all) {
    names.set(e.actor, e.actorName);
    if (e.actor === 'huddle-server') continue;
    const d = e.data ?? {};
    // Presence spans are built from every event (a join before the window opens a span in it).
    if (e.type === 'session.joined') {
      const r = rep(e.actor, e.actorName, str(d.role) ?? undefined);
      if (!open.has(e.actor)) open.set(e.actor, e.at);
      if (e.at >= since) r.events++;
      continue;
    }
    if (e.type === 'session.left') {
      const r = rep(e.actor, e.actorName, str(d.role) ?? undefined);
      const from = open.get(e.actor) ?? (num(d.ms) !== null ? e.at - num(d.ms)! : e.at);
      open.delete(e.actor);
      if (e.at >= since) {
        r.spans.push({ from: Math.max(from, since), to: e.at });
        addFiles(e.actor, strs(d.files));
        r.events++;
      }
      continue;
    }
    if (e.at < since || e.at > now) continue;
    const r = rep(e.actor, e.actorName);
    r.events++;
    switch (e.type) {
      case 'task.claimed':
        r.tasksClaimed.push({ id: e.ref, title: e.summary, at: e.at });
        break;
      case 'task.done':
        r.tasksDone.push({ id: e.ref, title: e.summary, at: e.at });
        break;
      case 'lock.held': {
        const path = str(d.path) ?? e.ref;
        const ms = num(d.ms);
        if (path && ms !== null) r.locksHeld.push({ path, ms, at: e.at });
        break;
      }
      case 'lock.waited': {
        const path = str(d.path) ?? e.ref ?? '';
        const holder = str(d.holder);
        const ms = num(d.ms) ?? 0;
        const got = d.got === true;
        r.waited.push({ path, holder: str(d.holderName) ?? holder ?? '?', ms, got });
        if (holder) rep(holder, str(d.holderName) ?? holder).othersWaited.push({ path, session: e.actor, name: e.actorName, ms, got });
        break;
      }
      case 'edit.denied': {
        const holder = str(d.holder);
        r.denied.push({ path: str(d.path) ?? e.ref ?? '', holder: str(d.holderName) ?? holder ?? '?', at: e.at });
        if (holder) rep(holder, str(d.holderName) ?? holder).deniedOthers++;
        break;
      }
      case 'message':
        r.messagesSent++;
        break;
      case 'sync.done':
        r.syncsArrived++;
        break;
    }
  }
  // Still here: open spans run to now; live sessions with no join in the timeline are here since they started.
  const live = new Map(input.sessions.filter((s) => s.kind !== 'watcher').map((s) => [s.id, s]));
  for (const [id, from] of open) {
    const r = byId.get(id)!;
    r.spans.push({ from: Math.max(from, since), to: live.has(id) ? null : now });
  }
  for (const s of live.values()) {
    const r = rep(s.id, s.name, s.role);
    r.name = s.name;
    r.role = s.role;
    r.here = true;
    if (!open.has(s.id)) r.spans.push({ from: Math.max(s.startedAt, since), to: null });
    addFiles(s.id, (s.editing ?? []).map((e) => e.path));
  }
  // Messages: answers given (replies by it) and its requests answered, from the messages kept.
  const byMsg = new Map(input.messages.map((m) => [m.id, m]));
  const replied = new Set<string>();
  for (const m of input.messages) {
    if (!m.replyTo) continue;
    replied.add(m.replyTo);
    const orig = byMsg.get(m.replyTo);
    if (m.at >= since && byId.has(m.by)) byId.get(m.by)!.answered++;
    if (orig && m.at >= since && byId.has(orig.by)) byId.get(orig.by)!.requestsAnswered++;
  }
  for (const m of input.messages) if (m.needsReply && !replied.has(m.id) && byId.has(m.by)) byId.get(m.by)!.requestsOpen++;
  for (const [id, set] of files) if (byId.has(id)) byId.get(id)!.filesEdited = Array.from(set).sort();
  let sessions = Array.from(byId.values()).filter((r) => r.events > 0 || r.spans.length > 0);
  if (input.session) sessions = sessions.filter((r) => r.id === input.session || r.name === input.session);
  sessions.sort((a, b) => (a.spans[0]?.from ?? now) - (b.spans[0]?.from ?? now) || a.name.localeCompare(b.name));
  // Count of sessions present over time.
  const edges: Array<[number, number]> = [];
  for (const r of byId.values()) for (const sp of r.spans) {
    edges.push([sp.from, 1]);
    if (sp.to !== null) edges.push([sp.to, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const steps: Array<[number, number]> = [[since, 0]];
  let n = 0;
  for (const [t, dlt] of edges) {
    n += dlt;
    if (steps.at(-1)![0] === t) steps.at(-1)![1] = n;
    else steps.push([t, n]);
  }
  return { since, until: now, sessions, timeline: steps, oldest: all[0]?.at ?? null };
}

const dur = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : ms < 3600_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3600_000).toFixed(1)} h`);
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);

/** One session's report as a few lines for people. */
export function reportLines(r: SessionReport, now: number): string[] {
  const spans = r.spans.map((s) => `${hhmm(s.from)}–${s.to === null ? 'now' : hhmm(s.to)}`).join(', ');
  const lines = [`${r.name} (${r.role})${r.here ? ', here now' : ''}${spans ? `: ${spans} UTC` : ''}`];
  const list = (xs: string[], n = 5) => (xs.length <= n ? xs.join(', ') : `${xs.slice(0, n).join(', ')} +${xs.length - n}`);
  if (r.tasksClaimed.length || r.tasksDone.length) lines.push(`tasks: ${r.tasksClaimed.length} claimed, ${r.tasksDone.length} done${r.tasksDone.length ? ` (${list(r.tasksDone.map((t) => t.title), 3)})` : ''}`);
  if (r.filesEdited.length) lines.push(`files edited: ${list(r.filesEdited)}`);
  if (r.locksHeld.length) lines.push(`locks held: ${list(r.locksHeld.map((l) => `${l.path} ${dur(l.ms)}`))}`);
  if (r.othersWaited.length) lines.push(`others waited on its locks: ${list(r.othersWaited.map((w) => `${w.name} ${dur(w.ms)} on ${w.path}${w.got ? '' : ' (refused)'}`))}`);
  if (r.waited.length) lines.push(`waited on others: ${list(r.waited.map((w) => `${w.path} behind ${w.holder} ${dur(w.ms)}`))}`);
  if (r.denied.length || r.deniedOthers) lines.push(`conflicts avoided: ${r.denied.length} of its edits refused${r.denied.length ? ` (${list(r.denied.map((d) => `${d.path} held by ${d.holder}`), 3)})` : ''}, ${r.deniedOthers} edits of others refused by its locks`);
  if (r.messagesSent || r.answered || r.requestsOpen) lines.push(`messages: ${r.messagesSent} sent, ${r.answered} answers given, ${r.requestsAnswered} of its requests answered${r.requestsOpen ? `, ${r.requestsOpen} still open` : ''}`);
  void now;
  return lines;
}
