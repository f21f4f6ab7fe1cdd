/** Identifiers unique across peers without coordination: time-sortable, with 64 random bits. */

let last = 0;
let counter = 0;

export function newId(prefix: string): string {
  const now = Date.now();
  counter = now === last ? counter + 1 : 0;
  last = now;
  return `${prefix}-${now.toString(36)}${counter.toString(36).padStart(2, '0')}-${randomHex(8)}`;
}

/** A short form for people: the first characters that are random. */
export function shortId(id: string): string {
  const parts = id.split('-');
  return parts.length >= 3 ? `${parts[0]}-${parts[2].slice(0, 6)}` : id;
}

function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
