/** The two ways a Presence reaches the relay's order: its own connection, or a server hosting it. */
import * as awarenessProtocol from 'y-protocols/awareness';
import type { Awareness } from 'y-protocols/awareness';
import type { PresenceTransport } from './presence.js';
import type { EchoEntry, RelayConnection } from './connection.js';

/**
 * Wait until an echo of our own state at `clock` or later comes back. An echo counts only
 * when its content is one we published at `clock` or later: a relay may lift the clock of an
 * older state it sends back (after a reconnect), and that older state does not carry what we
 * published since.
 */
function contentWatch(local: Awareness) {
  const id = local.clientID;
  const published = new Set<string>();
  const remember = () => {
    const s = local.getLocalState();
    if (s !== null) published.add(JSON.stringify(s));
  };
  remember();
  const onLocal = ({ added, updated }: { added: number[]; updated: number[] }) => {
    if (added.includes(id) || updated.includes(id)) remember();
  };
  local.on('update', onLocal);
  return {
    matches: (json: string) => published.has(json),
    stop: () => local.off('update', onLocal),
  };
}

/**
 * An embedded peer: its state is ordered when the relay echoes it back. The relay's order
 * counts only while the connection is authoritative (connected, synced, and the relay is not
 * a machine's server cut off from its team relay).
 */
export function connectionTransport(conn: RelayConnection): PresenceTransport {
  const aw = conn.awareness;
  return {
    local: aw,
    view: aw,
    online: () => conn.authoritative,
    onOrdered(clock, cb) {
      const watch = contentWatch(aw);
      const onAwareness = (entries: Array<{ clientID: number; clock: number; json: string }>) => {
        if (!conn.authoritative) return;
        if (entries.some((e) => e.clientID === aw.clientID && e.clock >= clock && e.json !== 'null' && watch.matches(e.json))) {
          stop();
          cb();
        }
      };
      const stop = () => {
        conn.off('awareness', onAwareness);
        watch.stop();
      };
      conn.on('awareness', onAwareness);
      return stop;
    },
    onStatus(cb) {
      // Online once authoritative: synced (the relay has sent us every state it holds) and its order is final.
      const onAuthority = (a: boolean) => cb(a);
      conn.on('authority', onAuthority);
      return () => conn.off('authority', onAuthority);
    },
  };
}

/** Where a hosted session learns the team relay's order when its server has an upstream (upstream.ts). */
export interface UpstreamEchoes {
  /** Whether the upstream's order is authoritative now (connected and synced). */
  readonly authoritative: boolean;
  onAuthority(cb: (authoritative: boolean) => void): () => void;
  /** Our forwarded states as the upstream echoed them, in its order (after they are applied). */
  onEcho(cb: (entries: EchoEntry[]) => void): () => void;
}

/**
 * A session hosted by a server: it has its own awareness (own client ID), piped
 * into the room's awareness. Without an upstream the room's order is the relay's
 * order itself: a state is ordered once it is in the room. With one (`upstream`),
 * the team relay decides: a state is ordered when the upstream echoes it, and only
 * while the link is authoritative. Without one, the room's order is always final.
 */
export function hostedTransport(local: Awareness, room: Awareness, origin: unknown, upstream?: UpstreamEchoes): PresenceTransport & { detach(): void } {
  const id = local.clientID;
  const pipe = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
    const ids = added.concat(updated, removed).filter((x) => x === id);
    if (ids.length) awarenessProtocol.applyAwarenessUpdate(room, awarenessProtocol.encodeAwarenessUpdate(local, ids), origin);
  };
  // The room may come to hold our state at a higher clock than ours (an upstream relay lifted
  // it after a reconnect, or the room timed it out): publish ours again above it, or the room
  // would ignore our next updates until our clock caught up.
  const onRoom = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, o: unknown) => {
    if (o === origin || !(added.includes(id) || updated.includes(id) || removed.includes(id))) return;
    const state = local.getLocalState();
    const mine = local.meta.get(id);
    const theirs = room.meta.get(id)?.clock ?? 0;
    if (state === null || !mine || mine.clock > theirs) return;
    mine.clock = theirs;
    local.setLocalState(state);
  };
  local.on('update', pipe);
  room.on('update', onRoom);
  // Publish what the session already holds.
  if (local.getLocalState() !== null) pipe({ added: [id], updated: [], removed: [] });
  const online = upstream ? () => upstream.authoritative : () => true;
  return {
    local,
    view: room,
    online,
    onOrdered(clock, cb) {
      if (upstream) {
        const watch = contentWatch(local);
        let unsub: () => void = () => {};
        unsub = upstream.onEcho((entries) => {
          if (!upstream.authoritative) return;
          if (entries.some((e) => e.clientID === id && e.clock >= clock && watch.matches(e.json))) {
            stop();
            cb();
          }
        });
        const stop = () => {
          unsub();
          watch.stop();
        };
        return stop;
      }
      if ((room.meta.get(id)?.clock ?? -1) >= clock) {
        cb();
        return () => {};
      }
      const onUpdate = () => {
        if ((room.meta.get(id)?.clock ?? -1) >= clock) {
          room.off('update', onUpdate);
          cb();
        }
      };
      room.on('update', onUpdate);
      return () => room.off('update', onUpdate);
    },
    onStatus: upstream ? (cb) => upstream.onAuthority(cb) : () => () => {},
    detach() {
      local.off('update', pipe);
      room.off('update', onRoom);
    },
  };
}
