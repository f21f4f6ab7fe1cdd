/**
 * Who made a change: the origin of every Y.Doc transaction and awareness update
 * a huddle process applies, as one typed union instead of identity checks
 * against sentinels. The object of a connection, hosted session or upstream
 * link is itself the origin (it carries `kind`), so that "skip the sender" stays
 * an identity check on an object that is already there.
 */

export type Origin =
  /** A client connection of the server (relay/connection.ts). */
  | { readonly kind: 'connection' }
  /** A session the server hosts for a thin client (relay/hosted.ts). */
  | { readonly kind: 'hosted' }
  /** The link to a team relay (relay/upstream.ts). */
  | { readonly kind: 'upstream' }
  /** The stored state, applied when a document loads. Never stored again. */
  | { readonly kind: 'load' }
  /** A library peer's local replica, applied at join. Never stored again. */
  | { readonly kind: 'replica' }
  /** The server itself: API operations of hosted sessions, the janitor, anything else in process. */
  | { readonly kind: 'server'; readonly by?: string };

export type OriginKind = Origin['kind'];

export const LOAD: Origin = Object.freeze({ kind: 'load' });
export const REPLICA: Origin = Object.freeze({ kind: 'replica' });
export const SERVER: Origin = Object.freeze({ kind: 'server' });

const KINDS = new Set<string>(['connection', 'hosted', 'upstream', 'load', 'replica', 'server']);

/**
 * The typed origin of a transaction or awareness update. Yjs hands origins over as
 * `unknown`; anything that is not one of ours (null: a SharedContext write in this
 * process) is the server's own.
 */
export function originOf(o: unknown): Origin {
  if (o !== null && typeof o === 'object' && KINDS.has((o as { kind?: unknown }).kind as string)) return o as Origin;
  return SERVER;
}
