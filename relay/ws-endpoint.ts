/**
 * The WebSocket endpoint `ws://HOST:PORT/<project>`: an upgrade passes the request guard
 * (Host, Origin), then the connection the token, the store's health and the project name;
 * it is served here, or on a node of a team relay through the project's owner (cluster.ts).
 * Also the ping loop that reaps clients that stopped answering.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { projectNameProblem } from '../src/protocol/names.js';
import { CLOSE_BAD_NAME, CLOSE_SHUTDOWN, CLOSE_TRY_AGAIN, CLOSE_UNAUTHORIZED } from '../src/protocol/messages.js';
import type { ServerConfig } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Room } from './room.js';
import type { Access } from './http.js';
import { Connection, type ConnectionEnv } from './connection.js';
import { guardUpgrade, type GuardPolicy, type Refusal } from './request-guard.js';
import { FORWARDED_HEADER, type Cluster } from './cluster.js';

/** What the endpoint needs of its server. */
export interface WsEndpointEnv {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly cluster: Cluster | null;
  /** The server's open connections (a connection adds and removes itself). */
  readonly connections: Set<Connection>;
  closing(): boolean;
  writesRefused(): string | null;
  accessOf(req: http.IncomingMessage, url: URL, project?: string): Access;
  presentedToken(req: http.IncomingMessage, url: URL): string | null;
  guardPolicy(): GuardPolicy;
  noteRefused(refusal: Refusal, what: string, req: http.IncomingMessage): void;
  /** Whether the project is loaded on this node. */
  loaded(name: string): boolean;
  /** The project's room, loading it if needed (not awaited: a connection queues its frames). */
  roomNow(name: string): Room;
}

type Via = { forwarded: boolean; token: string | null };
type Early = Array<{ data: RawData; isBinary: boolean }>;

export class WsEndpoint {
  private readonly wss: WebSocketServer;
  private readonly connEnv: ConnectionEnv;

  constructor(private readonly env: WsEndpointEnv) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: env.config.maxMessage, perMessageDeflate: false });
    this.connEnv = { log: env.log, metrics: env.metrics, maxBufferedBytes: env.config.maxBufferedBytes, connections: env.connections };
  }

  onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroySocket);
    // Keep only what we need of the request: closures that held `req` kept every
    // connection's request object and headers alive as long as the socket.
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Browser pages of other origins (and rebound host names) never reach the WebSocket.
    const refusal = guardUpgrade({ path: url.pathname, headers: req.headers }, this.env.guardPolicy());
    if (refusal) {
      this.env.noteRefused(refusal, 'WebSocket upgrade', req);
      const text = JSON.stringify({ error: refusal.reason });
      socket.end(`HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
      return;
    }
    let project: string | undefined;
    try {
      project = decodeURIComponent(url.pathname.slice(1));
    } catch {
      project = undefined;
    }
    const access = this.env.accessOf(req, url, project);
    const remote = req.socket.remoteAddress;
    const via = this.env.cluster ? { forwarded: typeof req.headers[FORWARDED_HEADER] === 'string', token: this.env.presentedToken(req, url) } : null;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // ws handles socket errors from here on.
      socket.off('error', destroySocket);
      this.onConnection(ws, url, access, remote, via);
    });
  }

  private onConnection(ws: WebSocket, url: URL, access: Access, remote: string | undefined, via: Via | null = null): void {
    // Every socket gets an error listener before anything else can fail (Connection adds its own).
    ws.on('error', ignoreError);
    if (this.env.closing()) {
      ws.close(CLOSE_SHUTDOWN, 'server shutting down');
      return;
    }
    const refused = this.env.writesRefused();
    if (refused) {
      // Neither load (it would fail) nor serve a replica that cannot take writes: come back later.
      this.env.metrics.writesRefused++;
      ws.close(CLOSE_TRY_AGAIN, refused);
      return;
    }
    if (access === 'none') {
      this.env.metrics.rejectedAuth++;
      this.env.log.warn('connection refused: missing or wrong token', { remote });
      ws.close(CLOSE_UNAUTHORIZED, 'unauthorized: missing or wrong token');
      return;
    }
    let name: string;
    try {
      name = decodeURIComponent(url.pathname.slice(1));
    } catch {
      name = '\u0000';
    }
    const problem = projectNameProblem(name);
    if (problem) {
      this.env.log.warn('connection refused: bad project name', { reason: problem });
      ws.close(CLOSE_BAD_NAME, problem.slice(0, 120));
      return;
    }
    this.env.metrics.connectionsTotal++;
    if (this.env.cluster && via && !this.env.loaded(name)) {
      void this.routeConnection(ws, name, access, via);
      return;
    }
    this.serveHere(ws, name, access, []);
  }

  private serveHere(ws: WebSocket, name: string, access: Access, early: Early): void {
    const conn = new Connection(ws, this.env.roomNow(name), access === 'read', this.connEnv);
    ws.off('error', ignoreError);
    for (const f of early) conn.onMessage(f.data, f.isBinary);
    this.env.log.debug('client connected', { project: name, conn: conn.id, readOnly: access === 'read' });
  }

  /** Cluster mode: serve the project here if this node owns it (or takes it now), else through its owner. */
  private async routeConnection(ws: WebSocket, name: string, access: Access, via: Via): Promise<void> {
    const cluster = this.env.cluster!;
    const early: Early = [];
    const hold = (data: RawData, isBinary: boolean) => early.push({ data, isBinary });
    ws.on('message', hold);
    const route = await cluster.route(name, via.forwarded).catch((err: Error) => ({ kind: 'none' as const, reason: `cannot look up the owner of this project: ${err.message}`.slice(0, 120) }));
    ws.off('message', hold);
    if (ws.readyState !== ws.OPEN || this.env.closing()) {
      if (route.kind === 'owner' && !this.env.loaded(name)) cluster.release(name);
      ws.terminate();
      return;
    }
    if (route.kind === 'owner') return this.serveHere(ws, name, access, early);
    if (route.kind === 'none') {
      ws.close(CLOSE_TRY_AGAIN, route.reason.slice(0, 120));
      return;
    }
    ws.off('error', ignoreError);
    this.env.log.debug('client served through the owner', { project: name, owner: route.node });
    cluster.forward(ws, `${route.url.replace(/\/+$/, '')}/${encodeURIComponent(name)}`, early, {
      token: via.token,
      maxBufferedBytes: this.env.config.maxBufferedBytes,
      maxPayload: this.env.config.maxMessage,
      log: this.env.log,
      ca: this.env.config.upstreamCa ?? undefined,
    });
  }

  /** One round of the ping loop: a client that did not answer the last ping is reaped. */
  pingAll(): void {
    for (const conn of this.env.connections) {
      if (conn.awaitingPong) {
        this.env.log.info('reaping unresponsive client', { project: conn.room.name, conn: conn.id });
        conn.ws.terminate();
        continue;
      }
      conn.awaitingPong = true;
      try {
        conn.ws.ping();
      } catch {
        conn.ws.terminate();
      }
    }
  }
}

function ignoreError(): void {}

function destroySocket(this: Duplex): void {
  this.destroy();
}
