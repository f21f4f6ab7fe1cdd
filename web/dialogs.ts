/** Notices, toasts and the confirmation dialog, and who the page's writes are attributed to (a name asked once). */
import { ContextError, type Actor } from '../src/model/context.js';
import { $, setHtml } from './dom.js';
import type { Live } from './live.js';

export function notice(html: string | null): void {
  const n = $('notice');
  n.hidden = html === null;
  setHtml(n, html ?? '');
}

export function toast(text: string, kind: 'ok' | 'warn' | 'bad' = 'ok'): void {
  const t = document.createElement('div');
  t.className = `toast toast-${kind}`;
  t.textContent = text;
  $('toasts').append(t);
  setTimeout(() => t.remove(), 6000);
}

/** Ask before an action; `danger` styles the button as destructive (a forced release), not for adding things. */
const PERSON_KEY = 'huddle.person';

/** The person using this page, asked once (in the confirm dialog) and kept in localStorage. */
export function personName(): string {
  try {
    return localStorage.getItem(PERSON_KEY)?.trim() ?? '';
  } catch {
    return '';
  }
}

/** Who the page's writes are attributed to: the named person, not "dashboard". */
export function writer(l: Live): Actor {
  const name = personName() || 'someone at the dashboard';
  return { id: `${name.replace(/\s+/g, '-').toLowerCase()}@dashboard`, name, role: 'human' };
}

export function confirmAction(title: string, text: string, ok: string, withReason: boolean | string = false, danger = false): Promise<{ ok: boolean; reason: string }> {
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

export async function afterWrite(l: Live, done: string): Promise<void> {
  try {
    await l.conn.whenStored(5000);
    toast(`${done}.`);
  } catch {
    toast(`${done} here; the server has not confirmed it yet (it is sent when the connection is back).`, 'warn');
  }
}

export function failed(err: unknown): void {
  toast(err instanceof ContextError || err instanceof Error ? err.message : String(err), 'bad');
}
