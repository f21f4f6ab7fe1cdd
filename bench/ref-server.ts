/**
 * The reference server for the benchmark, run as its own child process:
 * `@y/websocket-server` 0.1.1 (setupWSConnection from its utils) with y-leveldb
 * 0.2.0 as persistence, wired exactly like the package's own `YPERSISTENCE`
 * branch (bindState loads the stored doc, stores the current state, then
 * stores every later update; writeState does nothing).
 *
 * Differences from `npx y-websocket` (documented in the bench report):
 * - y-leveldb 0.2.0 from this project instead of the 0.1.2 nested in the package,
 * - ws 8.23 from this project (the package's bin would load its nested ws 6.2),
 *   so that both servers run on the same WebSocket library,
 * - two bench-only HTTP routes that report (never change) the y-leveldb write
 *   queue, so that the bench can wait for it to drain before a restart:
 *     GET /__bench/pending  {queued, settled, failed, pending}
 *     GET /__bench/drain    waits until nothing is pending, then the same plus {ms}
 * Like the original, it has no SIGTERM handler: a signal ends it at once.
 *
 * Env: REF_PERSISTENCE_DIR (LevelDB folder, required), HOST (default 127.0.0.1), PORT (default 0).
 * Not YPERSISTENCE: @y/websocket-server's utils reads that variable when it is
 * imported and would open a second LevelDB (its nested y-leveldb 0.1.2) on the
 * same folder in this process, which fails on LevelDB's lock or corrupts the folder.
 * Prints "listening on http://HOST:PORT" once it listens.
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';
import * as Y from 'yjs';
import { LeveldbPersistence } from 'y-leveldb';
import { setupWSConnection, setPersistence, type WSSharedDoc } from '@y/websocket-server/utils';

const dir = process.env.REF_PERSISTENCE_DIR;
if (!dir) {
  process.stderr.write('ref-server: REF_PERSISTENCE_DIR (LevelDB folder) is required\n');
  process.exit(2);
}
if (process.env.YPERSISTENCE) {
  process.stderr.write('ref-server: unset YPERSISTENCE (it makes @y/websocket-server open a second LevelDB on import)\n');
  process.exit(2);
}
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || '0');

const ldb = new LeveldbPersistence(dir);
let queued = 0;
let settled = 0;
let failed = 0;

/** ldb.storeUpdate as the reference calls it (not awaited), plus counting. */
function storeUpdate(docName: string, update: Uint8Array): void {
  queued++;
  ldb.storeUpdate(docName, update).then(
    (clock) => {
      settled++;
      // y-leveldb logs and swallows errors, resolving null.
      if (clock === null) failed++;
    },
    () => {
      settled++;
      failed++;
    },
  );
}

setPersistence({
  provider: ldb,
  bindState: async (docName: string, ydoc: WSSharedDoc) => {
    const persistedYdoc = await ldb.getYDoc(docName);
    const newUpdates = Y.encodeStateAsUpdate(ydoc);
    storeUpdate(docName, newUpdates);
    Y.applyUpdate(ydoc, Y.encodeStateAsUpdate(persistedYdoc));
    ydoc.on('update', (update: Uint8Array) => {
      storeUpdate(docName, update);
    });
  },
  writeState: async () => {},
});

const status = () => ({ queued, settled, failed, pending: queued - settled });

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/__bench/pending') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status()));
    return;
  }
  if (url === '/__bench/drain') {
    const t0 = performance.now();
    const poll = () => {
      if (queued === settled) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...status(), ms: performance.now() - t0 }));
      } else setTimeout(poll, 5);
    };
    poll();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('okay');
});

const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (ws, req) => setupWSConnection(ws, req));
server.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => {
    wss.emit('connection', ws, request);
  });
});

server.listen(port, host, () => {
  const a = server.address();
  const p = typeof a === 'object' && a ? a.port : port;
  process.stdout.write(`reference server listening on http://${host}:${p} (y-leveldb in ${dir})\n`);
});
