/**
 * Sockets to a relay: the part of the WebSocket API a connection uses, the default
 * way to open one on each platform, and the reconnect backoff.
 */

/** The part of the WebSocket API we use; satisfied by browsers and by `ws`. */
export interface SocketLike {
  binaryType: string;
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** Opens a socket to `url`, presenting `token` if given. */
export type SocketFactory = (url: string, token: string | undefined) => SocketLike;

/** WebSocket.OPEN, which `ws` and browsers share. */
export const OPEN = 1;

type NodeWS = new (url: string, opts: { headers: Record<string, string>; ca?: string | string[] }) => SocketLike;
let nodeWS: NodeWS | null = null;

/** Load `ws` lazily so that browser bundles never see it. */
export async function defaultFactory(ca?: string | string[]): Promise<SocketFactory> {
  const g = globalThis as { WebSocket?: new (url: string) => SocketLike; process?: unknown };
  if (!g.process && g.WebSocket) {
    const WS = g.WebSocket;
    return (url, token) => new WS(token ? `${url}?token=${encodeURIComponent(token)}` : url);
  }
  if (!nodeWS) nodeWS = (await import('ws')).default as unknown as NodeWS;
  const WS = nodeWS;
  return (url, token) => new WS(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, ...(ca ? { ca } : {}) });
}

/** Reconnect delays: doubling from `min` up to `max`, each cut by a random part of up to half. */
export class Backoff {
  private attempts = 0;

  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {}

  /** The delay before the next attempt, in ms. */
  next(): number {
    const base = Math.min(this.max, this.min * 2 ** this.attempts);
    this.attempts++;
    return base * (0.5 + Math.random() * 0.5);
  }

  /** Start over from `min` (after a sync succeeded). */
  reset(): void {
    this.attempts = 0;
  }
}
