/** What a relay connection is given (its options) and what it tells (its status and events). */
import type * as Y from 'yjs';
import type * as awarenessProtocol from 'y-protocols/awareness';
import type { AwarenessEntryRaw } from '../protocol/messages.js';
import type { SocketFactory } from './socket.js';
import type { EchoEntry } from './relay-awareness.js';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** An awareness entry as the relay sent it, its state left as JSON text. */
export type AwarenessEntry = AwarenessEntryRaw;

export interface ConnectionOptions {
  /** Relay base URL, e.g. ws://127.0.0.1:4321 */
  url: string;
  project: string;
  doc: Y.Doc;
  awareness: awarenessProtocol.Awareness;
  token?: string;
  /** How to open sockets. Default: `ws` in Node (token as a Bearer header), the global WebSocket elsewhere. */
  socket?: SocketFactory;
  /**
   * Certificate authorities to trust for wss:// URLs (PEM text), instead of the
   * system's; for a team relay with a private or self-signed certificate. Node
   * only (browsers use their own trust store).
   */
  ca?: string | string[];
  /** Connect at once. Default true. */
  connect?: boolean;
  /** Backoff bounds for reconnects, in ms. Default 100 and 5000; each delay is 50 to 100 % of its step (jitter). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Reconnect when nothing was received for this long. Default 70 s (the relay pings every 30 s). */
  silenceTimeoutMs?: number;
  /**
   * Relay mode, for a server that syncs to an upstream relay: forward every
   * awareness state that did not come from upstream (not only our own client's),
   * and on disconnect leave upstream states to the awareness timeout instead of
   * dropping them. Default false.
   */
  relayAwareness?: boolean;
  /** The origin of what this connection applies to doc and awareness. Default: the connection itself. */
  origin?: object;
  /**
   * Send local doc updates as they happen. Default true; a server's upstream link sets false
   * and sends only what is durable (sendUpdate).
   */
  forwardDocUpdates?: boolean;
  /**
   * Called with the send of each answer to the relay's sync step 1, instead of sending it at
   * once: a server's upstream link sends it only once everything the answer holds is durable
   * (the answer is computed on arrival, so later updates are not in it). Default: send at once.
   */
  holdSyncAnswer?: (send: () => void) => void;
}

export type ConnectionEvents = {
  status: (s: ConnectionStatus) => void;
  synced: () => void;
  stored: (stateVector: Map<number, number>) => void;
  /** After an awareness update from the relay is applied, in relay order. */
  awareness: (entries: AwarenessEntry[]) => void;
  /** Permanent close (4400-4499): bad project name, wrong token... */
  closed: (e: { code: number; reason: string }) => void;
  /** Every close of the socket by the relay or the network, with its code and reason (1013: the relay's store is unavailable, retried). */
  dropped: (e: { code: number; reason: string }) => void;
  denied: (reason: string) => void;
  /** `authoritative` changed. */
  authority: (authoritative: boolean) => void;
  /** Relay mode: some of the states we forwarded came back from the upstream relay (after it applied them). */
  echo: (entries: EchoEntry[]) => void;
};

