/**
 * The dashboard's sync points, shown under the task board: each open sync
 * point with every participant arrived, waiting, missing (its session is not
 * here) or dropped, and the recently completed ones with their follow-up task.
 * Self-contained: main.ts gives it the shared context and the presence view.
 */
import type { SharedContext } from '../src/model/context.js';
import type { PresenceView } from '../src/model/view.js';
import { listSyncs, type SyncView } from '../src/model/syncs.js';
import { shortId } from '../src/model/ids.js';
import { ago, esc, plural } from './format.js';

function syncCard(s: SyncView, now: number): string {
  const parts = s.participants
    .map((p) => `<li class="sp sp-${esc(p.state)}" data-participant="${esc(p.name)}" title="${esc(p.summary ?? p.reason ?? '')}"><span class="sp-state">${esc(p.state)}</span> ${esc(p.name)}${p.kind === 'task' ? ` <small class="mono">${esc(shortId(p.id))}</small>` : ''}</li>`)
    .join('');
  const status = s.status === 'complete' ? `complete · follow-up <span class="mono">${esc(shortId(s.followUp ?? ''))}</span>` : `${s.counts.done} of ${s.participants.length} arrived${s.counts.missing ? ` · <strong class="warn">${esc(plural(s.counts.missing, 'missing', 'missing'))}</strong>` : ''}`;
  return `<li class="sync sync-${s.status}" data-sync="${esc(s.name)}"><div><strong>${esc(s.name)}</strong> <small>${status} · by ${esc(s.byName)} ${esc(ago(s.createdAt, now))}</small></div><ul class="sync-parts">${parts}</ul></li>`;
}

/** The sync points section's HTML, or '' when there are none. */
export function syncsHtml(ctx: SharedContext, presence: PresenceView, now: number): string {
  const { syncs } = listSyncs(ctx, presence.sessions);
  if (syncs.length === 0) return '';
  const open = syncs.filter((s) => s.status === 'open');
  return `<h3>Sync points <span class="count">${open.length} open</span></h3><ul class="syncs">${syncs.slice(-12).reverse().map((s) => syncCard(s, now)).join('')}</ul>`;
}
