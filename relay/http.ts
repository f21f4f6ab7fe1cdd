/**
 * HTTP routing for the server: the route table, JSON replies and the access
 * check, plus the small view of the server that feature modules (the API, the
 * hooks, the dashboard) are given, so that they never import the server.
 */
import type http from 'node:http';
import { toOpError, type OpErrorCode } from '../src/ops/errors.js';
import type { ServerConfig } from './config.js';
import type { Metrics } from './metrics.js';
import type { Logger } from './log.js';
import type { Room } from './room.js';
import type { HostedSessions } from './hosted.js';
import type { UpstreamLink } from './upstream.js';
import { NotOwnerError } from './not-owner.js';

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

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Every error reply has this shape (`error` is what clients show). */
export function errorBody(error: string, code: OpErrorCode): { ok: false; error: string; code: OpErrorCode } {
  return { ok: false, error, code };
}

export interface RouterOptions {
  /** Which access a request's credentials grant (on `project` when the route names one). */
  accessOf(req: http.IncomingMessage, url: URL, project?: string): Access;
  /** Checked before routing (request-guard.ts): true when the request was refused and answered. */
  refuse?(req: http.IncomingMessage, res: http.ServerResponse, url: URL, method: string): boolean;
  /** Counted when a request is refused for its credentials. */
  onRefused(): void;
  /** A handler found that another node owns the project (cluster mode): forward the request, or say why not. */
  notOwner?(req: http.IncomingMessage, res: http.ServerResponse, url: URL, err: NotOwnerError): Promise<void>;
  log: Logger;
}

export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly opts: RouterOptions) {}

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

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (this.opts.refuse?.(req, res, url, method)) return;
    for (const r of this.routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) continue;
      const params: Record<string, string> = {};
      try {
        r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      } catch {
        json(res, 400, errorBody('malformed URL encoding', 'invalid'));
        return;
      }
      const access = this.opts.accessOf(req, url, params.project);
      if (r.needs !== 'none' && (access === 'none' || (r.needs === 'write' && access !== 'write'))) {
        this.opts.onRefused();
        if (access === 'none') json(res, 401, errorBody('missing or wrong token', 'unauthorized'));
        else json(res, 403, errorBody('this token may only read', 'forbidden'));
        return;
      }
      try {
        await r.handler({ req, res, url, access, params });
      } catch (err) {
        if (err instanceof NotOwnerError && this.opts.notOwner && !res.headersSent) return this.opts.notOwner(req, res, url, err);
        // The one mapping of errors to statuses (src/ops/errors.ts).
        const e = toOpError(err);
        if (!res.headersSent) json(res, e.status, e.body());
        if (e.status >= 500) this.opts.log.error('request failed', { path: url.pathname, error: e.message });
      }
      return;
    }
    json(res, 404, errorBody(`no route for ${method} ${url.pathname}`, 'not-found'));
  }
}

/** What feature modules may use of the server (HuddleServer provides it). */
export interface ServerServices {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly hosted: HostedSessions;
  readonly persistence: { list(): Promise<string[]> };
  readonly upstreams: ReadonlyMap<string, Pick<UpstreamLink, 'room' | 'status'>>;
  route(method: string, pattern: string, handler: HttpHandler, needs?: Access): void;
  json(res: http.ServerResponse, status: number, body: unknown): void;
  /** The loaded room of a project, loading it if needed. Throws for bad names. */
  room(name: string): Promise<Room>;
  loadedRooms(): string[];
  /** Whether this is a node of a team relay on a shared database (several nodes, one owner per project). */
  readonly clustered: boolean;
  /** Why writes are refused right now (the database of a remote store is down), or null. */
  writesRefused(): string | null;
  /** Run `fn` during shutdown, before rooms are flushed; returns its removal. */
  onShutdown(fn: () => Promise<void> | void): () => void;
  /** Whether clients must present a token (server-wide or project-scoped). */
  readonly tokenRequired: boolean;
  /** The token a request presents, or null. */
  presentedToken(req: http.IncomingMessage, url: URL): string | null;
  /** The access a request's token grants, on `project` when given. */
  accessOf(req: http.IncomingMessage, url: URL, project?: string): Access;
}
