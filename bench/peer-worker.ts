/**
 * A benchmark child process holding one embedded huddle peer (HuddlePeer from
 * src/peer/peer.ts), driven by its parent over the IPC channel. Used by the
 * presence section: one peer per process, as each agent session is its own
 * process in real use.
 *
 * Times are "epoch milliseconds with a fraction" (performance.timeOrigin +
 * performance.now()); the parent measures each child's clock offset with
 * ping/pong over IPC and corrects for it.
 *
 * Messages from the parent (WorkerCommand) and answers (WorkerReply) are
 * exported as types for bench/presence.ts.
 */
import { HuddlePeer } from '../src/peer/peer.js';
import { sessionOf } from '../src/model/session.js';

export type WorkerCommand =
  | { type: 'join'; url: string; project: string; id: string; role: string }
  | { type: 'clock'; n: number }
  /** Record every change of `intent` of session `sessionId` of the form `bench:<seq>`. */
  | { type: 'watch'; sessionId: string }
  | { type: 'report' }
  /** Take an exclusive lock on `path` (wait 0), keeping it if confirmed. */
  | { type: 'lock'; round: number; path: string }
  /** Release every lock this peer holds. */
  | { type: 'unlock'; round: number }
  | { type: 'sessions' }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'joined'; clientId: number }
  | { type: 'clock'; n: number; now: number }
  | { type: 'watching' }
  /** [seq, epoch ms when seen] */
  | { type: 'report'; samples: Array<[number, number]> }
  | { type: 'locked'; round: number; status: string; start: number; ms: number; holder: string | null }
  | { type: 'unlocked'; round: number; released: number }
  | { type: 'sessions'; n: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };

const now = () => performance.timeOrigin + performance.now();

let peer: HuddlePeer | null = null;
let samples: Array<[number, number]> = [];

function send(msg: WorkerReply): void {
  process.send?.(msg);
}

function watch(sessionId: string): void {
  const p = peer!;
  let clientId: number | null = null;
  let last: string | null = null;
  p.awareness.on('change', () => {
    const t = now();
    let state: unknown = clientId === null ? undefined : p.awareness.getStates().get(clientId);
    if (sessionOf(state)?.id !== sessionId) {
      clientId = null;
      for (const [id, st] of p.awareness.getStates()) {
        if (sessionOf(st)?.id === sessionId) {
          clientId = id;
          state = st;
          break;
        }
      }
    }
    const intent = sessionOf(state)?.intent;
    if (!intent || intent === last || !intent.startsWith('bench:')) return;
    last = intent;
    samples.push([Number(intent.slice(6)), t]);
  });
}

async function handle(cmd: WorkerCommand): Promise<void> {
  switch (cmd.type) {
    case 'join':
      peer = await HuddlePeer.join({ url: cmd.url, project: cmd.project, session: { id: cmd.id, name: cmd.id, role: cmd.role, agent: 'script' }, syncTimeoutMs: 20_000 });
      if (!peer.online) throw new Error(`peer ${cmd.id} not synced with ${cmd.url}`);
      send({ type: 'joined', clientId: peer.awareness.clientID });
      return;
    case 'clock':
      send({ type: 'clock', n: cmd.n, now: now() });
      return;
    case 'watch':
      watch(cmd.sessionId);
      send({ type: 'watching' });
      return;
    case 'report':
      send({ type: 'report', samples });
      samples = [];
      return;
    case 'lock': {
      const start = now();
      const r = await peer!.lock([cmd.path], { reason: 'bench' });
      const ms = now() - start;
      send({ type: 'locked', round: cmd.round, status: r.status, start, ms, holder: r.status === 'held' ? r.holder.session : null });
      return;
    }
    case 'unlock':
      send({ type: 'unlocked', round: cmd.round, released: peer!.unlock().length });
      return;
    case 'sessions':
      send({ type: 'sessions', n: peer ? peer.presenceView().sessions.length : 0 });
      return;
    case 'close':
      await peer?.close();
      send({ type: 'closed' });
      process.disconnect?.();
      setTimeout(() => process.exit(0), 50);
      return;
  }
}

process.on('message', (cmd: WorkerCommand) => {
  handle(cmd).catch((err: Error) => send({ type: 'error', message: err.stack ?? err.message }));
});
// The parent going away (even by SIGKILL) ends this process.
process.on('disconnect', () => process.exit(0));
