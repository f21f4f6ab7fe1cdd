/**
 * The dashboard's "what each session did" view: a small chart of sessions
 * over time (inline SVG, one lane per session, a bar per presence span, a tick
 * per task done) and one line of facts per session. Self-contained: main.ts
 * gives it the shared context, the presence view and the window.
 */
import type { SharedContext } from '../src/model/context.js';
import type { PresenceView } from '../src/model/view.js';
import { buildReport, reportLines, type Report } from '../src/model/report.js';
import { esc } from './format.js';

const W = 600;
const LANE = 14;
const LEFT = 110;

/** The chart: lanes of presence spans, task completions as ticks, an hour grid. */
export function chartSvg(r: Report): string {
  const rows = r.sessions.slice(0, 20);
  const span = Math.max(1, r.until - r.since);
  const x = (t: number) => LEFT + ((Math.min(Math.max(t, r.since), r.until) - r.since) / span) * (W - LEFT - 4);
  const h = rows.length * LANE + 18;
  const grid: string[] = [];
  const hour = 3600_000;
  const step = span > 12 * hour ? 6 * hour : span > 3 * hour ? hour : 15 * 60_000;
  for (let t = Math.ceil(r.since / step) * step; t <= r.until; t += step) {
    // A label starts at its line, except near the right edge, where it would leave the chart (and its card): it ends there.
    const anchor = x(t) > W - 40 ? ' text-anchor="end"' : '';
    grid.push(`<line class="rg" x1="${x(t).toFixed(1)}" y1="0" x2="${x(t).toFixed(1)}" y2="${h - 14}"/><text class="rt" x="${x(t).toFixed(1)}" y="${h - 3}"${anchor}>${new Date(t).toISOString().slice(11, 16)}</text>`);
  }
  const lanes = rows.map((s, i) => {
    const y = i * LANE;
    const bars = s.spans.map((sp) => `<rect class="rbar${sp.to === null ? ' rnow' : ''}" x="${x(sp.from).toFixed(1)}" y="${y + 3}" width="${Math.max(1, x(sp.to ?? r.until) - x(sp.from)).toFixed(1)}" height="${LANE - 6}"><title>${esc(s.name)}</title></rect>`).join('');
    const ticks = s.tasksDone.map((t) => `<rect class="rdone" x="${(x(t.at) - 1).toFixed(1)}" y="${y + 1}" width="2" height="${LANE - 2}"><title>${esc(`done: ${t.title}`)}</title></rect>`).join('');
    return `<text class="rl" x="0" y="${y + LANE - 3}">${esc(s.name.slice(0, 16))}</text>${bars}${ticks}`;
  });
  return `<svg class="report-chart" viewBox="0 0 ${W} ${h}" width="100%" role="img" aria-label="Sessions over time">${grid.join('')}${lanes.join('')}</svg>`;
}

export function reportHtml(ctx: SharedContext, presence: PresenceView, windowMs: number, now: number): string {
  const r = buildReport({ events: ctx.timeline(), messages: ctx.messages(), sessions: presence.sessions, since: now - windowMs, now });
  if (r.sessions.length === 0) return '<p class="empty">No session activity in this range.</p>';
  const list = r.sessions
    .map((s) => {
      const [head, ...rest] = reportLines(s, now);
      return `<li data-report="${esc(s.name)}"><strong>${esc(head)}</strong>${rest.length ? `<ul>${rest.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : ''}</li>`;
    })
    .join('');
  return `${chartSvg(r)}<ul class="report-list">${list}</ul>`;
}
