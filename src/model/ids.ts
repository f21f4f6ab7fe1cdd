/** Identifiers unique across peers without coordination: time-sortable, with 64 random bits. */

let last = 0;
let counter = 0;

export function newId(prefix: string): string {
  const now = Date.now();
  counter = now === last ? counter + 1 : 0;
  last = now;
  return `${prefix}-${now.toString(36)}${counter.toString(36).padStart(2, '0')}-${randomHex(8)}`;
}

/**
 * A short form for people: ours keep their kind and the first random characters
 * (`d-3f9a2c`), which every command accepts as a reference; other ids are cut.
 */
export function shortId(id: string): string {
  const parts = id.split('-');
  if (/^[a-z]-[0-9a-z]+-[0-9a-f]{16}$/.test(id)) return `${parts[0]}-${parts[2].slice(0, 6)}`;
  return id.length > 12 ? id.slice(0, 8) : id;
}

/** Whether `ref` names `id`: the whole id, a prefix of it, of its random part, or of its short form. */
export function matchesRef(id: string, ref: string): boolean {
  const parts = id.split('-');
  const rnd = parts[2] ?? '';
  return id.startsWith(ref) || rnd.startsWith(ref) || (ref.includes('-') && `${parts[0]}-${rnd}`.startsWith(ref));
}

function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
