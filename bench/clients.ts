/**
 * Benchmark clients, identical for both servers: the stock y-websocket 3.1
 * WebsocketProvider (with `ws` as its WebSocket), and a raw `ws` socket that
 * speaks the y-websocket protocol (y-protocols framing) for cases where a
 * provider would measure the client more than the server.
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const tick = () => new Promise<void>((r) => setImmediate(r));

/** Poll until `fn` returns truthy; throws after `timeoutMs` with `what`. */
export async function waitFor<T>(fn: () => T, what: string, timeoutMs = 10_000, intervalMs = 5): Promise<T> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (performance.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

type ProviderOptions = NonNullable<ConstructorParameters<typeof WebsocketProvider>[3]>;
type WebSocketPolyfill = NonNullable<ProviderOptions['WebSocketPolyfill']>;

export interface StockClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  destroy(): void;
}

/** A stock WebsocketProvider, unchanged but for the Node WebSocket and no BroadcastChannel. */
export function stockClient(wsUrl: string, room: string, doc = new Y.Doc()): StockClient {
  const provider = new WebsocketProvider(wsUrl, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as WebSocketPolyfill,
    disableBc: true,
  });
  return {
    doc,
    provider,
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** Resolves on the provider's first completed sync (a sync step 2 from the server). */
export function whenSynced(provider: WebsocketProvider, timeoutMs = 20_000): Promise<void> {
  if (provider.synced) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      provider.off('sync', on);
      reject(new Error(`provider for ${provider.roomname} not synced within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (s: boolean) => {
      if (!s) return;
      clearTimeout(t);
      provider.off('sync', on);
      resolve();
    };
    provider.on('sync', on);
  });
}

// ---- raw protocol ----------------------------------------------------------

const MSG_SYNC = 0;

export function encodeSyncUpdate(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_SYNC);
  syncProtocol.writeUpdate(e, update);
  return encoding.toUint8Array(e);
}

export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_SYNC);
  syncProtocol.writeSyncStep1(e, doc);
  return encoding.toUint8Array(e);
}

/** Message types 0..127 and sync sub-types 0..2 are one byte each as varUints. */
function isSyncStep2(frame: Uint8Array): boolean {
  return frame.length >= 2 && frame[0] === MSG_SYNC && frame[1] === syncProtocol.messageYjsSyncStep2;
}

/**
 * A raw protocol socket. It counts the sync step 2 answers it receives and
 * otherwise ignores what the server sends (it applies nothing), so that its
 * cost in the bench process stays small.
 */
export class RawClient {
  step2Count = 0;
  framesIn = 0;
  private step2Waiters: Array<{ n: number; resolve: () => void }> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.framesIn++;
      if (isSyncStep2(data)) {
        this.step2Count++;
        this.step2Waiters = this.step2Waiters.filter((w) => {
          if (this.step2Count >= w.n) {
            w.resolve();
            return false;
          }
          return true;
        });
      }
    });
  }

  static connect(url: string, timeoutMs = 20_000): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      const t = setTimeout(() => {
        ws.terminate();
        reject(new Error(`raw socket to ${url} not open within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('error', (err) => {
        clearTimeout(t);
        reject(err);
      });
      ws.once('open', () => {
        clearTimeout(t);
        ws.on('error', () => {});
        resolve(new RawClient(ws));
      });
    });
  }

  send(frame: Uint8Array): void {
    this.ws.send(frame);
  }

  /** Resolves once `n` sync step 2 answers in total have arrived. */
  whenStep2(n: number, timeoutMs = 60_000): Promise<void> {
    if (this.step2Count >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { n, resolve: () => {} };
      const t = setTimeout(() => {
        this.step2Waiters = this.step2Waiters.filter((x) => x !== w);
        reject(new Error(`sync step 2 #${n} not received within ${timeoutMs} ms (got ${this.step2Count})`));
      }, timeoutMs);
      w.resolve = () => {
        clearTimeout(t);
        resolve();
      };
      this.step2Waiters.push(w);
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
