/**
 * Per-room extension that writes presence history into the timeline: joins,
 * departures and lock holds (src/model/activity.ts), from awareness changes,
 * at most every THROTTLE_MS and never per heartbeat (a heartbeat changes no
 * fact the tracker records). With an upstream, the team relay records them,
 * so a team's history is written once.
 */
import { SharedContext } from '../src/model/context.js';
import { ActivityTracker, recordActivity } from '../src/model/activity.js';
import { buildPresence } from '../src/model/view.js';
import type { RoomExtension } from './extensions.js';
import type { ServerConfig } from './config.js';

const THROTTLE_MS = 500;
/** A session is recorded as gone once it has been absent this long (a reconnect is not a departure). */
const LEFT_AFTER_MS = 10_000;

export function activityExtension(config: ServerConfig): RoomExtension {
  return {
    name: 'activity',
    attach(room) {
      if (config.upstream) return;
      const ctx = new SharedContext(room.doc);
      const tracker = new ActivityTracker(ctx.timeline({ types: ['session'] }), LEFT_AFTER_MS);
      let timer: NodeJS.Timeout | null = null;
      const run = () => {
        timer = null;
        if (room.destroyed) return;
        const now = Date.now();
        recordActivity(ctx, tracker.feed(buildPresence(room.awareness.getStates(), { now, isForced: (id) => ctx.isForced(id) }), now));
      };
      const schedule = () => {
        if (!timer) timer = setTimeout(run, THROTTLE_MS);
      };
      room.awareness.on('change', schedule);
      // Departures are noticed with time, not with a change.
      const sweep = setInterval(run, LEFT_AFTER_MS / 2);
      sweep.unref();
      schedule();
      return () => {
        room.awareness.off('change', schedule);
        clearInterval(sweep);
        if (timer) clearTimeout(timer);
      };
    },
  };
}
