/**
 * What the relay lets through of one awareness entry's state (issue 13 §4), decided on the
 * parsed JSON, never on its text: a read-only client may not publish locks (however the
 * JSON is spelled: spaces, `\u006cocks`), and a session id belongs to its first live
 * owner (a connection, a hosted session, an upstream link): a state from another
 * publisher claiming that id is refused, so that nobody can hide, replace or forge
 * another session's presence and locks. Pure: the caller says who owns what.
 */

export type ScreenVerdict = null | 'unparsable' | 'read-only-locks' | 'session-owned-elsewhere';

export interface ScreenInput {
  /** The entry's state as JSON text ('null' removals are not screened here). */
  json: string;
  /** The publisher may only read. */
  readOnly: boolean;
  /** Whoever publishes this entry (compared by identity). */
  publisher: unknown;
  /** The publisher of the live state that claims `sessionId` under another client ID, if any. */
  ownerOfSession: (sessionId: string) => unknown;
}

/** The huddle session id a parsed awareness state claims, or null. */
export function sessionIdOf(state: unknown): string | null {
  if (!state || typeof state !== 'object') return null;
  const h = (state as { huddle?: unknown }).huddle;
  if (!h || typeof h !== 'object') return null;
  const id = (h as { id?: unknown }).id;
  return typeof id === 'string' ? id : null;
}

/** Null when the entry may be applied, else why it is dropped. */
export function screenPresence(input: ScreenInput): ScreenVerdict {
  let state: unknown;
  try {
    state = JSON.parse(input.json);
  } catch {
    return 'unparsable';
  }
  if (input.readOnly && state && typeof state === 'object') {
    const h = (state as { huddle?: unknown }).huddle;
    // Any `locks` other than an empty list counts as publishing locks: a wrong type is no excuse.
    const locks = h && typeof h === 'object' ? (h as { locks?: unknown }).locks : undefined;
    if (locks !== undefined && !(Array.isArray(locks) && locks.length === 0)) return 'read-only-locks';
  }
  const sid = sessionIdOf(state);
  if (sid !== null) {
    const owner = input.ownerOfSession(sid);
    if (owner !== undefined && owner !== input.publisher) return 'session-owned-elsewhere';
  }
  return null;
}

/**
 * Who owns each session id now: the publisher of the first live state (in the awareness'
 * order) that claims it. Computed once per frame, on first use. `ownerOf(sid, clientID)`
 * ignores the state of `clientID` itself (the one being replaced).
 */
export function sessionOwners(awareness: { states: Map<number, unknown> }, owners: Map<number, unknown>): (sid: string, clientID: number) => unknown {
  let bySession: Map<string, number> | null = null;
  return (sid, clientID) => {
    if (!bySession) {
      bySession = new Map();
      for (const [cid, st] of awareness.states) {
        const s = sessionIdOf(st);
        if (s !== null && !bySession.has(s)) bySession.set(s, cid);
      }
    }
    const cid = bySession.get(sid);
    return cid === undefined || cid === clientID ? undefined : owners.get(cid);
  };
}

/**
 * Whether a read-write connection may take over a client ID another connection owns:
 * only to go on publishing the same session (a client reconnecting before its old socket
 * is reaped). Removing it (`null`) or publishing another session under it is refused.
 */
export function takeoverAllowed(json: string, current: unknown): boolean {
  if (json === 'null') return false;
  let next: unknown;
  try {
    next = JSON.parse(json);
  } catch {
    return false;
  }
  const sid = sessionIdOf(current);
  return sid !== null && sessionIdOf(next) === sid;
}
