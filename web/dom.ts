/** Small DOM helpers: keyed list patching and change-only HTML updates. */

const tpl = document.createElement('template');

function fromHtml(html: string): Element {
  tpl.innerHTML = html.trim();
  const el = tpl.content.firstElementChild;
  if (!el) throw new Error('empty row html');
  return el;
}

export interface Keyed {
  key: string;
  html: string;
}

const lists = new WeakMap<Element, Map<string, { el: Element; html: string }>>();

/**
 * Make `parent`'s children the rows of `items`, in order. Rows whose HTML did
 * not change keep their element (focus, hover and selection survive updates).
 */
export function patchList(parent: Element, items: Keyed[]): void {
  let known = lists.get(parent);
  const first = !known;
  if (!known) {
    known = new Map();
    parent.replaceChildren();
  }
  const next = new Map<string, { el: Element; html: string }>();
  for (const it of items) {
    if (next.has(it.key)) continue;
    const prev = known.get(it.key);
    const entry = prev && prev.html === it.html ? prev : { el: fromHtml(it.html), html: it.html };
    // A row that just appeared (not at the first render, not a placeholder) is highlighted briefly.
    if (!prev && !first && !it.key.startsWith('__')) entry.el.classList.add('updated');
    next.set(it.key, entry);
  }
  for (const [k, e] of known) if (next.get(k) !== e) e.el.remove();
  let before: ChildNode | null = parent.firstChild;
  for (const e of next.values()) {
    if (before === e.el) {
      before = e.el.nextSibling;
      continue;
    }
    parent.insertBefore(e.el, before);
  }
  // Anything left after the last row is not ours.
  while (before) {
    const n: ChildNode | null = before.nextSibling;
    before.remove();
    before = n;
  }
  lists.set(parent, next);
}

const last = new WeakMap<Element, string>();

/** Set innerHTML only when it changed. */
export function setHtml(el: Element, html: string): void {
  if (last.get(el) === html) return;
  last.set(el, html);
  el.innerHTML = html;
}

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}
