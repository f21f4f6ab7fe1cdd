/**
 * The huddle server: an HTTP server with a y-websocket endpoint at
 * `ws://HOST:PORT/<project>`, `/healthz`, `/metrics`, and room for more routes.
 */
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { walHooks } from '../src/store/wal.js';
import type { Persistence } from '../src/store/persistence.js';
import { LeveldbPersistence } from '../src/store/leveldb-persistence.js';
import { projectNameProblem } from '../src/protocol/names.js';
import { CLOSE_SHUTDOWN } from '../src/protocol/messages.js';
import { DEFAULT_CONFIG, configProblems, type ServerConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { Room } from './room.js';
import { StoreHealth } from './store-health.js';
import type { Connection } from './connection.js';
import { WsEndpoint } from './ws-endpoint.js';
import { registerDashboard } from './dashboard.js';
import { registerApi } from './api.js';
import { registerHooks } from './hooks.js';
import { HostedSessions } from './hosted.js';
import type { UpstreamLink } from './upstream.js';
import { Router, json, type Access, type HttpHandler, type ServerServices } from './http.js';
import { attachAll, janitorExtension, upstreamExtension, type RoomExtension } from './extensions.js';
import { SessionJournal } from './session-journal.js';
import { liveServer, removeServerFile, writeServerFile } from '../src/node/server-file.js';
import { activityExtension } from './activity.js';
import { allowedHostsFor, guardHttp, type GuardPolicy, type Refusal } from './request-guard.js';
import * as tokenAccess from './token-access.js';
import { guarded } from './guard.js';
import type { Cluster } from './cluster.js';
import { assertOwner, forwardToOwner } from './owner-forward.js';

export type { Access, HttpContext, HttpHandler } from './http.js';

/** What the server is built from, beside its configuration. */
export interface ServerDeps {
  /** Where documents are kept. Default: the write-ahead log + LevelDB in `config.dataDir`. */
  persistence?: Persistence;
  logger?: Logger;
  /** Several nodes on one PostgreSQL: who owns which project, and forwarding to the owner (cluster.ts). */
  cluster?: Cluster;
}

export class HuddleServer implements ServerServices {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly metrics = new Metrics();
  readonly persistence: Persistence;
  readonly startedAt = Date.now();
  private readonly http: http.Server;
  /** The WebSocket endpoint and its ping loop (ws-endpoint.ts). */
  private readonly sockets: WsEndpoint;
  private readonly rooms = new Map<string, Room>();
  private readonly connections = new Set<Connection>();
  private readonly router: Router;
  private pingTimer: NodeJS.Timeout | null = null;
  /** Writes failing, or a remote store's database down (store-health.ts). */
  private readonly store: StoreHealth;
  private closing: Promise<void> | null = null;
  private readonly shutdownHooks: Array<() => Promise<void> | void> = [];
  /** Attached to every room once it has loaded (janitor, upstream link, ...). */
  private readonly extensions: RoomExtension[];
  /** Links to the team relay, per loaded project. */
  readonly upstreams = new Map<string, UpstreamLink>();
  /** Sessions hosted for thin clients (hooks, CLI, MCP). */
  readonly hosted: HostedSessions;
  /** Host names served besides loopback (request-guard.ts). */
  private readonly allowHosts: string[];
  private refusedRequests = 0;
  /** Journal of hosted sessions, restored at start. */
  readonly journal: SessionJournal;
  readonly cluster: Cluster | null;

  constructor(config: Partial<ServerConfig> = {}, d: ServerDeps = {}) {
    this.config = { ...DEFAULT_CONFIG, ...config };
    const problems = configProblems(this.config);
    if (problems.length > 0) throw new Error(problems.join('; '));
    this.log = d.logger ?? createLogger(this.config.logLevel);
    this.allowHosts = allowedHostsFor(this.config.host, this.tokenRequired, this.config.allowHosts);
    this.persistence = d.persistence ?? new LeveldbPersistence(this.config.dataDir, { fsync: this.config.fsync });
    this.cluster = d.cluster ?? null;
    this.store = new StoreHealth(this.persistence, this.log);
    // A lease that ended under us (its database session failed): stop serving those projects at once.
    this.cluster?.leases.on('lost', (projects: string[]) => {
      for (const p of projects) {
        this.log.warn('lost the ownership of a project; its clients reconnect to the next owner', { project: p });
        const err = Object.assign(new Error(`lost the lease of ${p}`), { code: 'FENCED' });
        this.rooms.get(p)?.abandon(err);
      }
      // Most often the database itself went away: find out now rather than at the next probe.
      this.store.recheck();
    });
    this.router = new Router({
      accessOf: (req, url, project) => this.accessOf(req, url, project),
      onRefused: () => this.metrics.rejectedAuth++,
      log: this.log,
      // Host, Origin, Sec-Fetch-Site and Content-Type, before anything else (request-guard.ts).
      refuse: (req, res, url, method) => {
        const refusal = guardHttp({ method, path: url.pathname, headers: req.headers }, this.guardPolicy());
        if (!refusal) return false;
        this.noteRefused(refusal, 'request', req);
        this.json(res, refusal.status, { error: refusal.reason });
        return true;
      },
      // Cluster mode: another node owns the project (room() said so): that node answers.
      notOwner: (req, res, _url, err) => forwardToOwner(req, res, err, this),
    });
    this.extensions = [janitorExtension(this.config), upstreamExtension(this.config, this.log, this.upstreams), activityExtension(this.config)];
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.router.handle(req, res);
    // With a certificate: https and wss, everything else identical.
    this.http = this.config.tls ? https.createServer({ cert: this.config.tls.cert, key: this.config.tls.key }, handler) : http.createServer(handler);
    this.sockets = new WsEndpoint({
      config: this.config,
      log: this.log,
      metrics: this.metrics,
      cluster: this.cluster,
      connections: this.connections,
      closing: () => this.closing !== null,
      writesRefused: () => this.writesRefused(),
      accessOf: (req, url, project) => this.accessOf(req, url, project),
      presentedToken: (req, url) => this.presentedToken(req, url),
      guardPolicy: () => this.guardPolicy(),
      noteRefused: (refusal, what, req) => this.noteRefused(refusal, what, req),
      loaded: (name) => this.rooms.has(name),
      roomNow: (name) => this.roomNow(name),
    });
    this.http.on('upgrade', (req, socket, head) => this.sockets.onUpgrade(req, socket, head));
    this.http.on('clientError', (_err, socket) => socket.destroy());
    // A failed TLS handshake (wrong CA, plain http to the https port) only ends that socket.
    if (this.config.tls) this.http.on('tlsClientError', (err: Error) => this.log.debug('TLS handshake failed', { error: err.message }));
    this.route('GET', '/healthz', (c) => this.json(c.res, 200, this.health()), 'none');
    this.route('GET', '/metrics', (c) => {
      c.res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      c.res.end(this.metrics.render({
        connections: this.connections.size,
        documents: this.rooms.size,
        persistenceHealthy: this.store.healthy,
        uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      }) + this.store.metrics(this.cluster));
    }, 'read');
    this.journal = new SessionJournal(this.config.dataDir, this.log);
    this.hosted = new HostedSessions({
      journal: this.journal,
      removeAfterMs: this.config.hostedRemoveAfterMs,
      heartbeatMs: Math.min(10_000, Math.max(100, Math.floor(this.config.awarenessTimeoutMs / 3))),
      upstream: (room) => {
        const link = this.upstreams.get(room.name);
        return link && link.room === room ? link : undefined;
      },
    }, this.log, this.metrics);
    registerApi(this, this.hosted);
    registerHooks(this);
    registerDashboard(this);
  }

  /** Open the persistence (replaying what a crash left) and listen. Resolves with the bound port. */
  async listen(): Promise<number> {
    walHooks.onRemoveError = (file, err) => this.log.warn('cannot delete a write-ahead log file (its records are in LevelDB); retrying later', { file: path.basename(file), error: (err as Error & { code?: string }).code ?? err.message });
    try {
      await this.persistence.open();
    } catch (err) {
      // Name the server that holds the folder, when it said where it listens (server-file.ts).
      const other = /in use by another huddle server/.test((err as Error).message) ? liveServer(this.config.dataDir) : null;
      if (other) throw new Error(`the data folder ${path.resolve(this.config.dataDir)} is in use by the huddle server at ${other.url} (pid ${other.pid}); use that server, or pass --data for another folder`);
      throw err;
    }
    this.store.watch();
    if (this.persistence instanceof LeveldbPersistence) {
      const replayed = this.persistence.replayed;
      if (replayed.records > 0) this.log.info('replayed the write-ahead log into LevelDB', { files: replayed.files, updates: replayed.records, projects: replayed.docs.length });
      // A damaged record in the middle of a log: skipped, everything after it recovered. Loudly.
      for (const d of replayed.damaged) this.log.warn('write-ahead log damaged: skipped unreadable bytes and recovered the records after them', { file: d.file, stretches: d.stretches, bytes: d.bytes });
    }
    // Sessions hosted before a restart come back before anyone can ask (their locks too).
    const restored = await this.hosted.restore(this.journal.open((e) => this.hosted.restorable(e)), (name) => this.room(name));
    if (restored > 0) this.log.info('restored hosted sessions from the journal', { sessions: restored });
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
      this.hosted.closeAll();
      this.journal.close();
      await Promise.all(Array.from(this.rooms.values()).map((r) => r.shutdown().catch(() => {})));
      this.rooms.clear();
      await this.persistence.close();
      if (err.code === 'EADDRINUSE') throw new Error(`${this.config.host}:${this.config.port} is already in use (is another huddle server running?)`);
      throw err;
    });
    this.pingTimer = setInterval(guarded(this.log, this.metrics, 'ping', () => this.sockets.pingAll()), this.config.pingIntervalMs);
    this.pingTimer.unref();
    this.metrics.monitorLoop();
    // Say where we listen, so that commands, hooks and the MCP server find us without flags.
    try {
      writeServerFile(this.config.dataDir, { url: this.url, pid: process.pid, startedAt: this.startedAt });
    } catch (err) {
      this.log.warn('cannot write the server file', { error: (err as Error).message });
    }
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
      ok: this.store.ok && (!this.cluster || this.cluster.leases.healthy),
      store: this.persistence.kind,
      database: this.store.database(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      documentsLoaded: this.rooms.size,
      connections: this.connections.size,
      persistence: this.store.healthy ? 'healthy' : 'failing',
      cluster: this.cluster ? this.cluster.stats() : undefined,
      upstream: this.config.upstream
        ? { url: this.config.upstream.replace(/\/\/[^@/]*@/, '//'), projects: Object.fromEntries(Array.from(this.upstreams, ([k, l]) => [k, l.status()])) }
        : null,
    };
  }

  /** Register an HTTP route. `pattern` may contain `:name` segments. */
  route(method: string, pattern: string, handler: HttpHandler, needs: Access = 'read'): void {
    this.router.route(method, pattern, handler, needs);
  }

  /** Attach `ext` to every room loaded from now on. */
  extend(ext: RoomExtension): void {
    this.extensions.push(ext);
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
    if (this.cluster && !this.rooms.has(name)) {
      // Only the owner loads a project; an HTTP request for another's is forwarded there (forwardToOwner).
      await assertOwner(this.cluster, name);
    }
    const room = this.roomNow(name);
    await room.ready;
    room.ensureApplied();
    return room;
  }

  get clustered(): boolean {
    return this.cluster !== null;
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
        setPersistenceHealthy: (ok) => this.store.setHealthy(ok),
        writesRefused: () => this.writesRefused(),
        // A fenced write (this node lost the lease) is not an outage of the database.
        storeRefused: (_r, err) => ((err as Error & { code?: string }).code === 'FENCED' ? undefined : this.store.down(err.message)),
      }, (r) => {
        if (this.rooms.get(r.name) === r) {
          this.rooms.delete(r.name);
          this.cluster?.release(r.name);
        }
      });
      this.rooms.set(name, room);
      const r = room;
      r.ready.then(
        () => {
          if (this.config.upstream) r.ensureApplied();
          attachAll(this.extensions, r, this.log);
        },
        // A room whose load failed is dropped so that a later attempt retries.
        () => {
          if (this.rooms.get(name) === r) {
            this.rooms.delete(name);
            this.cluster?.release(name);
          }
        },
      );
    }
    return room;
  }

  /** Why writes are refused now (a remote store is down), or null. */
  writesRefused(): string | null {
    return this.store.writesRefused();
  }

  /** Whether clients must present a token (server-wide or project-scoped). */
  get tokenRequired(): boolean {
    return tokenAccess.tokenRequired(this.config);
  }

  /** The token a request presents (Authorization: Bearer, else ?token=), or null. */
  presentedToken(req: http.IncomingMessage, url: URL): string | null {
    return tokenAccess.presentedToken(req, url);
  }

  /** Which access a request's token grants, on `project` when given (token-access.ts). */
  accessOf(req: http.IncomingMessage, url: URL, project?: string): Access {
    return tokenAccess.accessOf(this.config, req, url, project);
  }

  /** What the request guard needs to know of this server. */
  private guardPolicy(): GuardPolicy {
    return { port: this.port, tls: !!this.config.tls, allowHosts: this.allowHosts };
  }

  /** Log a refused browser-borne request (warn for the first ones, then debug: a page can send many). */
  private noteRefused(refusal: Refusal, what: string, req: http.IncomingMessage): void {
    this.metrics.rejectedAuth++;
    const level = this.refusedRequests++ < 20 ? 'warn' : 'debug';
    this.log[level](`${what} refused: ${refusal.reason}`, { remote: req.socket.remoteAddress, path: (req.url ?? '').split('?')[0].slice(0, 200) });
  }

  json(res: http.ServerResponse, status: number, body: unknown): void {
    json(res, status, body);
  }

  /** Stop accepting, close clients, flush every room, close the persistence. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.metrics.stopMonitoring();
    const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const fn of this.shutdownHooks) {
      try {
        await fn();
      } catch (err) {
        this.log.warn('shutdown hook failed', { error: (err as Error).message });
      }
    }
    // Close every socket before anything leaves: the removals that follow (hosted sessions, closed
    // peers) are the server going away, not sessions leaving, and no client should show them so.
    for (const conn of this.connections) conn.ws.close(CLOSE_SHUTDOWN, 'server shutting down');
    this.hosted.closeAll();
    this.journal.close();
    for (const conn of this.connections) conn.close(CLOSE_SHUTDOWN, 'server shutting down');
    await Promise.all(Array.from(this.rooms.values()).map((r) => r.shutdown().catch(() => {})));
    this.rooms.clear();
    this.http.closeAllConnections();
    await httpClosed;
    this.store.stop();
    await this.persistence.close();
    // After the last fenced write: then the leases end (closing their session releases them).
    await this.cluster?.close();
    try {
      removeServerFile(this.config.dataDir);
    } catch {
      /* best effort */
    }
  }
}
