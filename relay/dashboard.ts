/**
 * The browser dashboard served at `/` (issue 7). Registers its routes on the server:
 *
 *   GET /                 the page (public: a static shell that holds no data)
 *   GET /assets/:file     its script and stylesheet, built by `npm run build` into dist/web
 *   GET /api/access       the access the request's token grants, and what the page needs to know
 *                         about the server (public: it says nothing but what the caller presented)
 *   GET /api/projects     projects in the store and loaded now, with live session counts (read)
 *
 * Everything else the page shows it reads as a Yjs peer over the WebSocket, with the same token.
 */
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import type { ServerServices } from './http.js';
import { sessionOf } from '../src/model/session.js';
import { isProjectToken } from './project-tokens.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Data never leaves through the page: no inline script or style, no third parties, no referrer (tokens ride in the URL). */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

/**
 * Where the built assets are: dist/web beside the compiled server, or (when the
 * server runs from source, as in tests) dist/web under the repository.
 */
export function dashboardAssetsDir(here = import.meta.dirname): string | null {
  for (const dir of [path.join(here, '..', 'web'), path.join(here, '..', 'dist', 'web')]) {
    if (fs.existsSync(path.join(dir, 'app.js')) && fs.existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return null;
}

interface Asset {
  body: Buffer;
  etag: string;
  mtimeMs: number;
  size: number;
}

export function registerDashboard(server: ServerServices): void {
  const dir = dashboardAssetsDir();
  const cache = new Map<string, Asset>();

  const load = async (name: string): Promise<Asset | null> => {
    if (!dir) return null;
    const file = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(file);
    } catch {
      return null;
    }
    if (!st.isFile()) return null;
    const hit = cache.get(name);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
    const body = await fs.promises.readFile(file);
    const asset = { body, etag: `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`, mtimeMs: st.mtimeMs, size: st.size };
    cache.set(name, asset);
    return asset;
  };

  const send = async (req: http.IncomingMessage, res: http.ServerResponse, name: string): Promise<void> => {
    const asset = await load(name);
    if (!asset) {
      if (!dir) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('The dashboard is not built: run `npm run build` (npm ci does it) and restart the server.\n');
      } else {
        server.json(res, 404, { error: `no asset ${name}` });
      }
      return;
    }
    const headers: Record<string, string> = { ...PAGE_HEADERS, 'content-type': CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream', etag: asset.etag };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(asset.body.byteLength) });
    res.end(asset.body);
  };

  server.route('GET', '/', (c) => send(c.req, c.res, 'index.html'), 'none');
  server.route(
    'GET',
    '/assets/:file',
    async (c) => {
      const name = c.params.file;
      // Only plain file names of the built folder: no separators, no dot files, a known type.
      if (name !== path.basename(name) || name.startsWith('.') || name === 'index.html' || !(path.extname(name) in CONTENT_TYPES)) {
        server.json(c.res, 404, { error: `no asset ${name}` });
        return;
      }
      await send(c.req, c.res, name);
    },
    'none',
  );

  server.route(
    'GET',
    '/api/access',
    (c) => {
      // ?project=P: the access on P (a project-scoped token grants nothing server-wide).
      const project = c.url.searchParams.get('project');
      server.json(c.res, 200, {
        access: project ? server.accessOf(c.req, c.url, project) : c.access,
        tokenRequired: server.tokenRequired,
        // The page marks a session whose presence was not renewed for most of this as unresponsive.
        presenceTimeoutMs: server.config.awarenessTimeoutMs,
      });
    },
    'none',
  );

  server.route(
    'GET',
    '/api/projects',
    async (c) => {
      // A project-scoped token sees only its projects; a server-wide one (or none needed) sees all.
      const all = c.access !== 'none';
      const presented = server.presentedToken(c.req, c.url);
      if (!all && !(presented && server.config.projectTokens && isProjectToken(server.config.projectTokens, presented))) {
        server.json(c.res, 401, { error: 'missing or wrong token' });
        return;
      }
      const loaded = new Set(server.loadedRooms());
      const stored = new Set(await server.persistence.list());
      const names = new Set<string>([...stored, ...loaded]);
      const projects: Array<{ name: string; loaded: boolean; stored: boolean; sessions: number }> = [];
      for (const name of Array.from(names).sort((a, b) => a.localeCompare(b))) {
        if (!all && server.accessOf(c.req, c.url, name) === 'none') continue;
        let sessions = 0;
        if (loaded.has(name)) {
          try {
            const room = await server.room(name);
            const ids = new Set<string>();
            for (const st of room.awareness.getStates().values()) {
              const s = sessionOf(st);
              if (s && s.kind !== 'watcher') ids.add(s.id);
            }
            sessions = ids.size;
          } catch {
            /* unloaded meanwhile or shutting down: count 0 */
          }
        }
        projects.push({ name, loaded: loaded.has(name), stored: stored.has(name), sessions });
      }
      server.json(c.res, 200, { projects });
    },
    'none', // checked above, per project

  );
}
