/**
 * A bound on Yjs' pending set. Yjs keeps updates whose dependencies have not
 * arrived and re-merges them on every later update, so a client sending
 * thousands of updates that depend on nothing it will ever send makes each
 * update cost more than the last (5,000 such updates stalled the server 22 s).
 * In a star topology a well-behaved client's updates almost never wait: the
 * bound is generous for them and small enough to keep each update cheap.
 *
 * Pure: looks at and clears a Y.Doc's store, nothing else.
 */
import type * as Y from 'yjs';

/** Bytes of pending structs and deletions a document may hold (each later update re-merges them). */
export const MAX_PENDING_BYTES = 16 * 1024;
/** Updates of one connection that may add to the pending set (a well-behaved client: none). */
export const MAX_PENDING_ADDS = 100;
/** Clients a document may wait on at once. */
export const MAX_PENDING_CLIENTS = 256;

interface PendingStore {
  pendingStructs: { missing: Map<number, number>; update: Uint8Array } | null;
  pendingDs: Uint8Array | null;
}

function pendingBytes(doc: Y.Doc): number {
  const store = doc.store as unknown as PendingStore;
  return (store.pendingStructs?.update.byteLength ?? 0) + (store.pendingDs?.byteLength ?? 0);
}

/** Per sender: pending bytes before its update, and how many of its updates added to them. */
const adds = new WeakMap<object, { before: number; n: number }>();

/** Call right before applying `sender`'s update; then pendingProblem after it. */
export function beforeApply(doc: Y.Doc, sender: object): void {
  const a = adds.get(sender);
  if (a) a.before = pendingBytes(doc);
  else adds.set(sender, { before: pendingBytes(doc), n: 0 });
}

/** Why the document's pending set (or `sender`'s share in it) is over its bound, or null. */
export function pendingProblem(doc: Y.Doc, sender?: object, maxBytes = MAX_PENDING_BYTES, maxClients = MAX_PENDING_CLIENTS): string | null {
  const store = doc.store as unknown as PendingStore;
  const structs = store.pendingStructs;
  const bytes = pendingBytes(doc);
  const a = sender ? adds.get(sender) : undefined;
  if (a && bytes > a.before && ++a.n > MAX_PENDING_ADDS) return `more than ${MAX_PENDING_ADDS} updates wait for dependencies that never arrived`;
  if (bytes > maxBytes) return `${bytes} bytes of updates wait for dependencies that never arrived (at most ${maxBytes})`;
  const clients = structs?.missing.size ?? 0;
  if (clients > maxClients) return `updates wait on ${clients} clients that never sent them (at most ${maxClients})`;
  return null;
}

/**
 * Forget the pending set. What it held was never integrated, never stored in the log and
 * never broadcast; a client that really has the missing parts sends everything again when it
 * reconnects (sync step 1).
 */
export function dropPending(doc: Y.Doc): void {
  const store = doc.store as unknown as PendingStore;
  store.pendingStructs = null;
  store.pendingDs = null;
}
