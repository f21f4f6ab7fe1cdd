/**
 * Per-room extensions: something that lives beside a loaded room (the janitor,
 * the link to a team relay) attaches once the room has loaded and is cleaned
 * up when the room is destroyed. The server keeps a list and runs it for every
 * room; a new per-room feature is one more entry, not another hook in the server.
 */
import type { Room } from './room.js';
import type { ServerConfig } from './config.js';
import type { Logger } from './log.js';
import { Janitor } from './janitor.js';
import { UpstreamLink } from './upstream.js';

export interface RoomExtension {
  readonly name: string;
  /** Called once the room has loaded; the returned cleanup runs when the room is destroyed. */
  attach(room: Room): (() => void) | void;
}

/** Run every extension for a room, registering their cleanups with it. */
export function attachAll(extensions: readonly RoomExtension[], room: Room, log: Logger): void {
  for (const ext of extensions) {
    try {
      const cleanup = ext.attach(room);
      if (cleanup) room.onDestroy(cleanup);
    } catch (err) {
      log.error('room extension failed to attach', { project: room.name, extension: ext.name, error: (err as Error).message });
    }
  }
}

/** Returns gone sessions' claimed tasks to open. With an upstream, the team relay arbitrates task claims; this server only mirrors. */
export function janitorExtension(config: ServerConfig): RoomExtension {
  return {
    name: 'janitor',
    attach(room) {
      const janitor = new Janitor(room, { orphanAfterMs: config.orphanAfterMs, arbitrate: () => !config.upstream });
      return () => janitor.destroy();
    },
  };
}

/** Syncs the room with the team relay; `links` is the server's registry of live links (health, snapshots). */
export function upstreamExtension(config: ServerConfig, log: Logger, links: Map<string, UpstreamLink>): RoomExtension {
  return {
    name: 'upstream',
    attach(room) {
      if (!config.upstream) return;
      const link = new UpstreamLink(room, { url: config.upstream, token: config.upstreamToken ?? undefined, ca: config.upstreamCa ?? undefined }, log);
      links.set(room.name, link);
      return () => {
        link.close();
        if (links.get(room.name) === link) links.delete(room.name);
      };
    },
  };
}
