/**
 * The huddle server: an HTTP server with a y-websocket endpoint at
 * `ws://HOST:PORT/<project>`, `/healthz`, `/metrics`, and room for more routes.
 */
import http from 'node:http';
import https from 'node:https';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Persistence } from '../src/store/persistence.js';
import { LeveldbPersistence } from '../src/store/leveldb-persistence.js';
import { projectNameProblem } from '../src/protocol/names.js';
import { CLOSE_BAD_NAME, CLOSE_SHUTDOWN, CLOSE_UNAUTHORIZED } from '../src/protocol/messages.js';
import { DEFAULT_CONFIG, configProblems, type ServerConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { Room } from './room.js';
import { Connection, type ConnectionEnv } from './connection.js';
import { Janitor } from './janitor.js';
import { registerDashboard } from './dashboard.js';
import { registerApi } from './api.js';
import { registerHooks } from './hooks.js';
import { HostedSessions } from './hosted.js';
import { UpstreamLink } from './upstream.js';
import { timingSafeEqual } from 'node:crypto';

export type Access = 'write' | 'read' | 'none';

export interface HttpContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  access: Access;
  params: Record<string, string>;
}

export type HttpHandler = (ctx: HttpContext) => void | Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: HttpHandler;
  /** Minimum access needed; 'none' routes are public (health). */
  needs: Access;
}

/** What the server is built from, beside its configuration. */
export interface ServerDeps {
  /** Where documents are kept. Default: the write-ahead log + LevelDB in `config.dataDir`. */
  persistence?: Persistence;
  logger?: Logger;
}

export class HuddleServer {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly metrics = new Metrics();
  readonly persistence: Persistence;
  readonly startedAt = Date.now();
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly rooms = new Map<string, Room>();
  private readonly connections = new Set<Connection>();
  private readonly connEnv: ConnectionEnv;
  private readonly routes: Route[] = [];
  private pingTimer: NodeJS.Timeout | null = null;
  private persistenceHealthy = true;
  private closing: Promise<void> | null = null;
  private readonly shutdownHooks: Array<() => Promise<void> | void> = [];
  /** Links to the team relay, per loaded project. */
  readonly upstreams = new Map<string, UpstreamLink>();
  /** Sessions hosted for thin clients (hooks, CLI, MCP). */
  readonly hosted: HostedSessions;

  constructor(config: Partial<ServerConfig> = {}, d: ServerDeps = {}) {
    this.config = { ...DEFAULT_CONFIG, ...config };
    const problems = configProblems(this.config);
    if (problems.length > 0) throw new Error(problems.join('; '));
    this.log = d.logger ?? createLogger(this.config.logLevel);
    this.persistence = d.persistence ?? new LeveldbPersistence(this.config.dataDir, { fsync: this.config.fsync });
    this.connEnv = { log: this.log, metrics: this.metrics, maxBufferedBytes: this.config.maxBufferedBytes, connections: this.connections };
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.onRequest(req, res);
    // With a certificate: https and wss, everything else identical.
    this.http = this.config.tls ? https.createServer({ cert: this.config.tls.cert, key: this.config.tls.key }, handler) : http.createServer(handler);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.config.maxMessage, perMessageDeflate: false });
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.http.on('clientError', (_err, socket) => socket.destroy());
    // A failed TLS handshake (wrong CA, plain http to the https port) only ends that socket.
    if (this.config.tls) this.http.on('tlsClientError', (err: Error) => this.log.debug('TLS handshake failed', { error: err.message }));
    this.route('GET', '/healthz', (c) => this.json(c.res, 200, this.health()), 'none');
    this.route('GET', '/metrics', (c) => {
      c.res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      c.res.end(this.metrics.render({
        connections: this.connections.size,
        documents: this.rooms.size,
        persistenceHealthy: this.persistenceHealthy,
        uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      }));
    }, 'read');
    this.hosted = new HostedSessions({
      removeAfterMs: this.config.hostedRemoveAfterMs,
      heartbeatMs: Math.min(10_000, Math.max(100, Math.floor(this.config.awarenessTimeoutMs / 3))),
      upstream: (room) => {
        const link = this.upstreams.get(room.name);
        return link && link.room === room ? link : undefined;
      },
    }, this.log);
    registerApi(this, this.hosted);
    registerHooks(this);
    registerDashboard(this);
  }

  /** Open the persistence (replaying what a crash left) and listen. Resolves with the bound port. */
  async listen(): Promise<number> {
    await this.persistence.open();
    if (this.persistence instanceof LeveldbPersistence) {
      const replayed = this.persistence.replayed;
      if (replayed.records > 0) this.log.info('replayed the write-ahead log into LevelDB', { files: replayed.files, updates: replayed.records, projects: replayed.docs.length });
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        this.http.off('listening', onListening);
        reject(err);
      };
      const onListening = () => {
        this.http.off('error', onError);
        resolve();
      };
      this.http.once('error', onError);
      this.http.once('listening', onListening);
      this.http.listen(this.config.port, this.config.host);
    }).catch(async (err: Error & { code?: string }) => {
      await this.persistence.close();
      if (err.code === 'EADDRINUSE') throw new Error(`${this.config.host}:${this.config.port} is already in use (is another huddle server running?)`);
      throw err;
    });
    this.pingTimer = setInterval(() => this.pingAll(), this.config.pingIntervalMs);
    this.pingTimer.unref();
    return this.port;
  }

  get port(): number {
    const a = this.http.address();
    return typeof a === 'object' && a ? a.port : this.config.port;
  }

  /** Base HTTP URL, e.g. http://127.0.0.1:4321 (https:// with TLS) */
  get url(): string {
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `${this.config.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  get wsUrl(): string {
    return this.url.replace(/^http/, 'ws');
  }

  health() {
    return {
      ok: this.persistenceHealthy,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      documentsLoaded: this.rooms.size,
      connections: this.connections.size,
      persistence: this.persistenceHealthy ? 'healthy' : 'failing',
      upstream: this.config.upstream
        ? { url: this.config.upstream.replace(/\/\/[^@/]*@/, '//'), projects: Object.fromEntries(Array.from(this.upstreams, ([k, l]) => [k, l.status()])) }
        : null,
    };
  }

  /** Register an HTTP route. `pattern` may contain `:name` segments. */
  route(method: string, pattern: string, handler: HttpHandler, needs: Access = 'read'): void {
    const keys: string[] = [];
    const re = new RegExp(
      '^' + pattern.replace(/[.+*?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_m, k: string) => {
        keys.push(k);
        return '([^/]+)';
      }) + '$',
    );
    this.routes.push({ method, pattern: re, keys, handler, needs });
  }

  /** Run `fn` during shutdown, before rooms are flushed. */
  onShutdown(fn: () => Promise<void> | void): () => void {
    this.shutdownHooks.push(fn);
    return () => {
      const i = this.shutdownHooks.indexOf(fn);
      if (i >= 0) this.shutdownHooks.splice(i, 1);
    };
  }

  /** The loaded room of a project, loading it if needed. Throws for bad names. */
  async room(name: string): Promise<Room> {
    const problem = projectNameProblem(name);
    if (problem) throw new Error(problem);
    if (this.closing) throw new Error('server is shutting down');
    const room = this.roomNow(name);
    await room.ready;
    room.ensureApplied();
    return room;
  }

  /** Names of loaded rooms. */
  loadedRooms(): string[] {
    return Array.from(this.rooms.keys());
  }

  private roomNow(name: string): Room {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name, {
        persistence: this.persistence,
        config: this.config,
        log: this.log,
        metrics: this.metrics,
        setPersistenceHealthy: (ok) => this.setPersistenceHealthy(ok),
      }, (r) => {
        if (this.rooms.get(r.name) === r) this.rooms.delete(r.name);
      });
      this.rooms.set(name, room);
      const r = room;
      r.ready.then(
        () => {
          if (this.config.upstream) r.ensureApplied();
          // With an upstream, the team relay arbitrates task claims; this server only mirrors.
          const janitor = new Janitor(r, { orphanAfterMs: this.config.orphanAfterMs, arbitrate: () => !this.config.upstream });
          r.onDestroy(() => janitor.destroy());
          if (this.config.upstream) {
            const link = new UpstreamLink(r, { url: this.config.upstream, token: this.config.upstreamToken ?? undefined, ca: this.config.upstreamCa ?? undefined }, this.log);
            this.upstreams.set(r.name, link);
            r.onDestroy(() => {
              link.close();
              if (this.upstreams.get(r.name) === link) this.upstreams.delete(r.name);
            });
          }
        },
        // A room whose load failed is dropped so that a later attempt retries.
        () => {
          if (this.rooms.get(name) === r) this.rooms.delete(name);
        },
      );
    }
    return room;
  }

  private setPersistenceHealthy(ok: boolean): void {
    if (ok === this.persistenceHealthy) return;
    this.persistenceHealthy = ok;
    if (ok) this.log.info('persistence healthy again');
    else this.log.error('persistence failing: updates are held in memory and retried');
  }

  /** Which access a request's token grants. */
  accessOf(req: http.IncomingMessage, url: URL): Access {
    if (!this.config.token) return 'write';
    const auth = req.headers.authorization;
    const presented = auth?.startsWith('Bearer ') ? auth.slice(7) : url.searchParams.get('token');
    if (presented && safeEqual(presented, this.config.token)) return 'write';
    if (presented && this.config.readToken && safeEqual(presented, this.config.readToken)) return 'read';
    return 'none';
  }

  private onUpgrade(req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    socket.on('error', destroySocket);
    // Keep only what we need of the request: closures that held `req` kept every
    // connection's request object and headers alive as long as the socket.
    const url = new URL(req.url ?? '/', 'http://localhost');
    const access = this.accessOf(req, url);
    const remote = req.socket.remoteAddress;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // ws handles socket errors from here on.
      socket.off('error', destroySocket);
      this.onConnection(ws, url, access, remote);
    });
  }

  private onConnection(ws: WebSocket, url: URL, access: Access, remote: string | undefined): void {
    // Every socket gets an error listener before anything else can fail (Connection adds its own).
    ws.on('error', ignoreError);
    if (this.closing) {
      ws.close(CLOSE_SHUTDOWN, 'server shutting down');
      return;
    }
    if (access === 'none') {
      this.metrics.rejectedAuth++;
      this.log.warn('connection refused: missing or wrong token', { remote });
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
      this.log.warn('connection refused: bad project name', { reason: problem });
      ws.close(CLOSE_BAD_NAME, problem.slice(0, 120));
      return;
    }
    this.metrics.connectionsTotal++;
    const conn = new Connection(ws, this.roomNow(name), access === 'read', this.connEnv);
    ws.off('error', ignoreError);
    this.log.debug('client connected', { project: name, conn: conn.id, readOnly: access === 'read' });
  }

  private pingAll(): void {
    for (const conn of this.connections) {
      if (conn.awaitingPong) {
        this.log.info('reaping unresponsive client', { project: conn.room.name, conn: conn.id });
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

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    for (const r of this.routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) continue;
      const params: Record<string, string> = {};
      try {
        r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      } catch {
        this.json(res, 400, { error: 'malformed URL encoding' });
        return;
      }
      const access = this.accessOf(req, url);
      if (r.needs !== 'none' && (access === 'none' || (r.needs === 'write' && access !== 'write'))) {
        this.metrics.rejectedAuth++;
        this.json(res, access === 'none' ? 401 : 403, { error: access === 'none' ? 'missing or wrong token' : 'this token may only read' });
        return;
      }
      try {
        await r.handler({ req, res, url, access, params });
      } catch (err) {
        const e = err as Error & { status?: number };
        if (!res.headersSent) this.json(res, e.status ?? 500, { error: e.message });
        if ((e.status ?? 500) >= 500) this.log.error('request failed', { path: url.pathname, error: e.message });
      }
      return;
    }
    this.json(res, 404, { error: `no route for ${method} ${url.pathname}` });
  }

  json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** Stop accepting, close clients, flush every room, close the persistence. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const fn of this.shutdownHooks) {
      try {
        await fn();
      } catch (err) {
        this.log.warn('shutdown hook failed', { error: (err as Error).message });
      }
    }
    this.hosted.closeAll();
    for (const conn of this.connections) conn.close(CLOSE_SHUTDOWN, 'server shutting down');
    await Promise.all(Array.from(this.rooms.values()).map((r) => r.shutdown().catch(() => {})));
    this.rooms.clear();
    this.http.closeAllConnections();
    await httpClosed;
    await this.persistence.close();
  }
}

function ignoreError(): void {}

function destroySocket(this: import('node:stream').Duplex): void {
  this.destroy();
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
