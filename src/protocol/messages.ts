/**
 * Wire messages of the y-websocket protocol, plus huddle's one opt-in extension.
 *
 * Pure encoding and decoding: no sockets, no timers. The relay and the library
 * peer both build on these so that they frame messages identically.
 */
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';

/** Message types of y-websocket (first varUint of every frame). */
export const MSG_SYNC = 0;
export const MSG_AWARENESS = 1;
export const MSG_AUTH = 2;
export const MSG_QUERY_AWARENESS = 3;

/**
 * huddle extension: a client sends MSG_STORED_SUBSCRIBE once (no payload) to
 * learn when its updates are durable. From then on the server answers every
 * update message from that client, once it is written to LevelDB, with
 * MSG_STORED carrying the state vector of the durably stored document.
 * Stock clients never send the subscription and so never see MSG_STORED.
 */
export const MSG_STORED_SUBSCRIBE = 100;
export const MSG_STORED = 101;

/**
 * huddle extension, sent only to clients that sent MSG_STORED_SUBSCRIBE, and only
 * by a server that syncs with an upstream team relay: one varUint, 1 when the
 * awareness order this server gives is authoritative (its upstream link is
 * connected and synced, and the upstream is itself authoritative), 0 when not.
 * Sent before the first MSG_STORED and again on every change. A client that gets
 * MSG_STORED without ever getting this message talks to an authoritative server.
 * Lock confirmation relies on it: claims confirmed in a non-authoritative order
 * could be confirmed on two machines at once, so they stay 'unconfirmed'.
 */
export const MSG_RELAY_STATUS = 102;

/** Sync sub-types, re-exported for readability at call sites. */
export const SYNC_STEP1 = syncProtocol.messageYjsSyncStep1;
export const SYNC_STEP2 = syncProtocol.messageYjsSyncStep2;
export const SYNC_UPDATE = syncProtocol.messageYjsUpdate;

/** A sync frame: MSG_SYNC, the sub-type, and one length-prefixed payload. */
function syncFrame(sub: number, payload: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_SYNC);
  encoding.writeVarUint(e, sub);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  return syncFrame(SYNC_STEP1, Y.encodeStateVector(doc));
}

/** Sync step 1 from a state vector already encoded. */
export function encodeSyncStep1FromSV(stateVector: Uint8Array): Uint8Array {
  return syncFrame(SYNC_STEP1, stateVector);
}

/** Sync step 2 carrying an update already encoded (e.g. Y.diffUpdate of stored bytes). */
export function encodeSyncStep2FromUpdate(update: Uint8Array): Uint8Array {
  return syncFrame(SYNC_STEP2, update);
}

/** Sync step 2 answering a peer's state vector, computed now. */
export function encodeSyncStep2(doc: Y.Doc, remoteStateVector?: Uint8Array): Uint8Array {
  return syncFrame(SYNC_STEP2, Y.encodeStateAsUpdate(doc, remoteStateVector));
}

export function encodeUpdate(update: Uint8Array): Uint8Array {
  return syncFrame(SYNC_UPDATE, update);
}

export function encodeAwareness(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_AWARENESS);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

export function encodeAwarenessOf(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  return encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
}

/** A query-awareness request (one byte): the server answers with every awareness state. */
export function encodeQueryAwareness(): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_QUERY_AWARENESS);
  return encoding.toUint8Array(e);
}

/** Auth message "permission denied" as y-protocols/auth frames it. */
export function encodePermissionDenied(reason: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_AUTH);
  encoding.writeVarUint(e, 0); // messagePermissionDenied
  encoding.writeVarString(e, reason);
  return encoding.toUint8Array(e);
}

export function encodeStoredSubscribe(): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_STORED_SUBSCRIBE);
  return encoding.toUint8Array(e);
}

export function encodeStored(stateVector: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_STORED);
  encoding.writeVarUint8Array(e, stateVector);
  return encoding.toUint8Array(e);
}

export function encodeRelayStatus(authoritative: boolean): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_RELAY_STATUS);
  encoding.writeVarUint(e, authoritative ? 1 : 0);
  return encoding.toUint8Array(e);
}

/** One entry of an awareness update, its state left as JSON text. */
export interface AwarenessEntryRaw {
  clientID: number;
  clock: number;
  json: string;
}

/**
 * Decode the entries of an awareness update without parsing the states. With `max`, a
 * frame announcing more entries is refused before any is decoded (a 1-byte entry count
 * could otherwise make the server decode millions).
 */
export function readAwarenessEntries(update: Uint8Array, max = Infinity): AwarenessEntryRaw[] {
  const d = decoding.createDecoder(update);
  const n = decoding.readVarUint(d);
  if (n > max) throw new ProtocolError(`awareness frame with ${n} client IDs (at most ${max})`, CLOSE_MALFORMED);
  // Each entry takes at least 3 bytes: a count beyond that is a lie, refused before the loop.
  if (n * 3 > update.length) throw new ProtocolError(`awareness frame announces ${n} entries in ${update.length} bytes`, CLOSE_MALFORMED);
  const out: AwarenessEntryRaw[] = [];
  for (let i = 0; i < n; i++) {
    const clientID = decoding.readVarUint(d);
    const clock = decoding.readVarUint(d);
    out.push({ clientID, clock, json: decoding.readVarString(d) });
  }
  return out;
}

/** An awareness update (the payload, not a frame) from entries whose states are JSON text. */
export function encodeAwarenessUpdateOf(entries: AwarenessEntryRaw[]): Uint8Array {
  const u = encoding.createEncoder();
  encoding.writeVarUint(u, entries.length);
  for (const x of entries) {
    encoding.writeVarUint(u, x.clientID);
    encoding.writeVarUint(u, x.clock);
    encoding.writeVarString(u, x.json);
  }
  return encoding.toUint8Array(u);
}

/** An awareness frame built from entries whose states are already JSON text. */
export function encodeAwarenessEntries(entries: AwarenessEntryRaw[]): Uint8Array {
  return encodeAwareness(encodeAwarenessUpdateOf(entries));
}

/** A decoded client frame. Decoding validates framing only; Yjs validates updates. */
export type ClientMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'query-awareness' }
  | { type: 'auth'; payload: Uint8Array }
  | { type: 'stored-subscribe' }
  | { type: 'stored'; stateVector: Uint8Array };

export class ProtocolError extends Error {
  constructor(message: string, readonly closeCode: number) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Close codes used by the relay (4400-4499 stop y-websocket from retrying). */
export const CLOSE_MALFORMED = 1007;
export const CLOSE_UNSUPPORTED = 1003;
export const CLOSE_SLOW_READER = 4008;
/** Policy violation: e.g. too many updates whose dependencies never arrive. */
export const CLOSE_POLICY = 1008;
/** A client sent awareness far faster than its budget (relay/rate-limit.ts); it may reconnect. */
export const CLOSE_RATE_LIMIT = 4029;
export const CLOSE_BAD_NAME = 4400;
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_SHUTDOWN = 1001;
/** The relay cannot store writes now (its database is unreachable): reconnect later, the client keeps its updates. */
export const CLOSE_TRY_AGAIN = 1013;

/**
 * Decode one frame. Throws ProtocolError on truncated varints, bad lengths,
 * trailing garbage or unknown types, so that the caller closes only this socket.
 */
export function decodeMessage(frame: Uint8Array): ClientMessage {
  try {
    const d = decoding.createDecoder(frame);
    const type = decoding.readVarUint(d);
    let msg: ClientMessage;
    switch (type) {
      case MSG_SYNC: {
        const sub = decoding.readVarUint(d);
        const payload = decoding.readVarUint8Array(d);
        // A state vector is checked here, so that a garbage one is bad input (1007), not a server error.
        if (sub === SYNC_STEP1) {
          decodeStateVectorStrict(payload);
          msg = { type: 'sync-step1', stateVector: payload };
        }
        else if (sub === SYNC_STEP2) msg = { type: 'sync-step2', update: payload };
        else if (sub === SYNC_UPDATE) msg = { type: 'update', update: payload };
        else throw new ProtocolError(`unknown sync message type ${sub}`, CLOSE_UNSUPPORTED);
        break;
      }
      case MSG_AWARENESS:
        msg = { type: 'awareness', update: decoding.readVarUint8Array(d) };
        break;
      case MSG_QUERY_AWARENESS:
        msg = { type: 'query-awareness' };
        break;
      case MSG_AUTH:
        msg = { type: 'auth', payload: decoding.readTailAsUint8Array(d) };
        break;
      case MSG_STORED_SUBSCRIBE:
        msg = { type: 'stored-subscribe' };
        break;
      case MSG_STORED:
        msg = { type: 'stored', stateVector: decoding.readVarUint8Array(d) };
        break;
      default:
        throw new ProtocolError(`unknown message type ${type}`, CLOSE_UNSUPPORTED);
    }
    if (decoding.hasContent(d)) throw new ProtocolError('trailing bytes after message', CLOSE_MALFORMED);
    return msg;
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`malformed message: ${(err as Error).message}`, CLOSE_MALFORMED);
  }
}

/** Decode a state vector, throwing ProtocolError when it is not one. */
export function decodeStateVectorStrict(sv: Uint8Array): Map<number, number> {
  try {
    const d = decoding.createDecoder(sv);
    const n = decoding.readVarUint(d);
    const out = new Map<number, number>();
    for (let i = 0; i < n; i++) out.set(decoding.readVarUint(d), decoding.readVarUint(d));
    if (decoding.hasContent(d)) throw new Error('trailing bytes');
    return out;
  } catch (err) {
    throw new ProtocolError(`malformed state vector: ${(err as Error).message}`, CLOSE_MALFORMED);
  }
}

/** True when every clock in `have` is at least the one in `want`. */
export function stateVectorCovers(have: Map<number, number>, want: Map<number, number>): boolean {
  for (const [client, clock] of want) {
    if ((have.get(client) ?? 0) < clock) return false;
  }
  return true;
}
