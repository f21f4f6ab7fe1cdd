/** The two ways a Presence reaches the relay's order: its own connection, or a server hosting it. */
import * as awarenessProtocol from 'y-protocols/awareness';
import type { Awareness } from 'y-protocols/awareness';
import type { PresenceTransport } from './presence.js';
import type { RelayConnection } from './connection.js';

/** An embedded peer: its state is ordered when the relay echoes it back. */
export function connectionTransport(conn: RelayConnection): PresenceTransport {
  const aw = conn.awareness;
  return {
    local: aw,
    view: aw,
    online: () => conn.status === 'connected',
    onOrdered(clock, cb) {
      const onAwareness = (entries: Array<{ clientID: number; clock: number }>) => {
        if (entries.some((e) => e.clientID === aw.clientID && e.clock >= clock)) {
          conn.off('awareness', onAwareness);
          cb();
        }
      };
      conn.on('awareness', onAwareness);
      return () => conn.off('awareness', onAwareness);
    },
    onStatus(cb) {
      // Online once synced: by then the relay has sent us every state it holds.
      const onSynced = () => cb(true);
      const onStatus = (s: string) => s !== 'connected' && cb(false);
      conn.on('synced', onSynced);
      conn.on('status', onStatus);
      return () => {
        conn.off('synced', onSynced);
        conn.off('status', onStatus);
      };
    },
  };
}

/**
 * A session hosted by a server: it has its own awareness (own client ID), piped
 * into the room's awareness, which is the relay's order itself. `authoritative`
 * says whether the room's order is final (no upstream, or the upstream is connected).
 */
export function hostedTransport(
  local: Awareness,
  room: Awareness,
  origin: unknown,
  authoritative: () => boolean = () => true,
  onAuthority?: (cb: (online: boolean) => void) => () => void,
): PresenceTransport & { detach(): void } {
  const pipe = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
    const ids = added.concat(updated, removed).filter((id) => id === local.clientID);
    if (ids.length) awarenessProtocol.applyAwarenessUpdate(room, awarenessProtocol.encodeAwarenessUpdate(local, ids), origin);
  };
  local.on('update', pipe);
  // Publish what the session already holds.
  if (local.getLocalState() !== null) pipe({ added: [local.clientID], updated: [], removed: [] });
  return {
    local,
    view: room,
    online: authoritative,
    onOrdered(clock, cb) {
      if ((room.meta.get(local.clientID)?.clock ?? -1) >= clock) {
        cb();
        return () => {};
      }
      const onUpdate = () => {
        if ((room.meta.get(local.clientID)?.clock ?? -1) >= clock) {
          room.off('update', onUpdate);
          cb();
        }
      };
      room.on('update', onUpdate);
      return () => room.off('update', onUpdate);
    },
    onStatus: onAuthority ?? (() => () => {}),
    detach() {
      local.off('update', pipe);
    },
  };
}
