/**
 * A node of a team relay answers an HTTP request for a project another node owns by
 * forwarding it there (hooks, the CLI's /api/p/<project>/…): a plain proxy of the method,
 * path and query, the headers that carry meaning (authorization, content-type, accept,
 * the X-Huddle-* overrides of hooks) and the body. The receiving node has already run
 * every guard (Host, Origin, Content-Type, token); the owner runs its own again, on a
 * request that names its own host and carries no browser headers.
 *
 * Bounded: the body (already bounded by the route that read it, else `maxBody`), and the
 * time until the owner's answer is complete (`timeoutMs`). A streaming answer
 * (text/event-stream, `/events`) is passed through as it comes, with no total limit; it
 * ends when either side goes away.
 */
import http from 'node:http';
import https from 'node:https';
import { readRawBody, BodyError } from './body.js';
import { json } from './http.js';
import type { Logger } from './log.js';

/** Request headers passed on to the owner; the rest (Origin, cookies, Host, hop-by-hop) are not. */
const PASSED = new Set(['authorization', 'content-type', 'accept', 'last-event-id', 'user-agent']);
/** Response headers not copied back (hop-by-hop, or recomputed by Node). */
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'trailer', 'te']);

export interface HttpForwardOptions {
  /** This node's name: sent in `forwardedHeader` (the owner never forwards again) and in `x-huddle-via`. */
  node: string;
  forwardedHeader: string;
  /** Body size bound for a body no route has read yet. */
  maxBody: number;
  /** Until the owner's answer is complete (headers only, for a stream). */
  timeoutMs: number;
  /** PEM text to trust for https:// between nodes. */
  ca?: string;
  log: Logger;
}

/** `ws://host:port` (a lease's node URL) → `http://host:port`. */
export function httpBaseOf(nodeUrl: string): string {
  return nodeUrl.replace(/^ws/, 'http').replace(/\/+$/, '');
}

/**
 * Send `req` (whose body, if a route read it, is `body`) to the node at `base` and copy its
 * answer to `res`. Never throws: failures are answered 502/504 (or end a started answer).
 */
export async function forwardHttp(req: http.IncomingMessage, res: http.ServerResponse, base: string, owner: string, body: Buffer | undefined, opts: HttpForwardOptions): Promise<void> {
  const method = req.method ?? 'GET';
  if (body === undefined && method !== 'GET' && method !== 'HEAD') {
    try {
      body = await readRawBody(req, opts.maxBody);
    } catch (err) {
      const status = err instanceof BodyError ? err.status : 400;
      if (!res.headersSent) json(res, status, { ok: false, error: (err as Error).message, code: status === 413 ? 'too-large' : 'invalid' });
      return;
    }
  }
  const headers: Record<string, string> = { [opts.forwardedHeader]: opts.node };
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v !== 'string') continue;
    if (PASSED.has(k) || (k.startsWith('x-huddle-') && k !== opts.forwardedHeader)) headers[k] = v;
  }
  if (body !== undefined) headers['content-length'] = String(body.length);
  let target: URL;
  try {
    target = new URL(req.url ?? '/', base + '/');
  } catch {
    json(res, 502, { ok: false, error: `the owner node ${owner} has an unusable URL`, code: 'error' });
    return;
  }
  const lib = target.protocol === 'https:' ? https : http;
  await new Promise<void>((resolve) => {
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve();
    };
    const fail = (status: number, error: string) => {
      if (!res.headersSent) json(res, status, { ok: false, error, code: 'error' });
      else res.destroy();
      done();
    };
    const out = lib.request(target, { method, headers, ca: opts.ca, agent: false }, (answer) => {
      const streaming = /^text\/event-stream/.test(String(answer.headers['content-type'] ?? ''));
      // A stream lasts as long as its reader: only its start was bounded.
      if (streaming) clearTimeout(timer);
      const copied: Record<string, string | string[]> = { 'x-huddle-via': opts.node };
      for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && !HOP.has(k)) copied[k] = v;
      res.writeHead(answer.statusCode ?? 502, copied);
      // Streams flush at once (each event is one chunk).
      if (streaming) res.flushHeaders();
      answer.pipe(res);
      answer.on('end', done);
      answer.on('error', () => fail(502, 'the owner node went away'));
      answer.on('aborted', () => fail(502, 'the owner node went away'));
    });
    const timer = setTimeout(() => {
      out.destroy(new Error('timeout'));
      fail(504, `the owner node ${owner} did not answer within ${opts.timeoutMs} ms`);
    }, opts.timeoutMs);
    out.on('error', (err) => {
      opts.log.debug('forwarding a request to the owner failed', { owner, path: target.pathname, error: err.message });
      fail(502, `cannot reach the node that owns this project (${owner}): ${err.message}; try again`);
    });
    // The client left: so does the request to the owner (an /events stream above all).
    res.on('close', () => {
      out.destroy();
      done();
    });
    out.end(body);
  });
}
