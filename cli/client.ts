/**
 * A small HTTP client of the huddle server's API (relay/api.ts) for the CLI,
 * the hooks and the MCP server: no Yjs, no fetch start-up cost. Requests to an
 * http:// server go over node:net (cli/http1.ts), https:// through node:https.
 */
import type http from 'node:http';
import fs from 'node:fs';
import { http1Request } from './http1.js';
import type { ResolvedConfig } from './config.js';
import type { Snapshot, WatchEvent } from '../src/model/snapshot.js';
import type { OpArgs, OpName, OpResult } from '../src/ops/table.js';

let caCache: string[] | undefined | null = null;

/**
 * The module for a URL, loaded on the first request: commands that send none (help, version)
 * skip node:http, and only https:// servers pay for node:https (TLS, crypto).
 */
async function transport(url: URL): Promise<typeof http> {
  return url.protocol === 'https:' ? ((await import('node:https')).default as unknown as typeof http) : (await import('node:http')).default;
}

/** HUDDLE_CA (a PEM file) added to Node's trusted CAs for https:// servers; undefined when unset. */
async function extraCa(): Promise<string[] | undefined> {
  if (caCache !== null) return caCache;
  const file = process.env.HUDDLE_CA;
  if (!file) return (caCache = undefined);
  const { default: tls } = await import('node:tls');
  try {
    caCache = [...tls.rootCertificates, fs.readFileSync(file, 'utf8')];
  } catch (err) {
    throw new Error(`cannot read HUDDLE_CA ${file}: ${(err as Error).message}`);
  }
  return caCache;
}

/** No server answered at the URL. */
export class UnreachableError extends Error {
  constructor(readonly url: string, cause: string) {
    super(`no huddle server reachable at ${url} (${cause}); start one with \`huddle serve\``);
  }
}

/** The server answered with an error. */
export class ApiFailure extends Error {
  constructor(readonly status: number, message: string, readonly code: string) {
    super(message);
  }
}

export interface RequestOptions {
  timeoutMs?: number;
}

/** A response body as JSON; a body that is not JSON becomes {error} with its start. */
function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return { error: text.slice(0, 200) };
  }
}

export class ApiClient {
  constructor(readonly cfg: Pick<ResolvedConfig, 'httpUrl' | 'project' | 'session'> & { token?: string }) {}

  private async request(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<{ status: number; json: unknown }> {
    const url = new URL(path, this.cfg.httpUrl + '/');
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = {
      ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
      ...(this.cfg.token ? { authorization: `Bearer ${this.cfg.token}` } : {}),
    };
    const timeoutMs = opts.timeoutMs ?? 15_000;
    if (url.protocol === 'http:') {
      const res = await http1Request(url, { method, headers, body: data, timeoutMs }).catch((err: Error & { code?: string }) => {
        throw this.requestError(err);
      });
      return { status: res.status, json: parseBody(res.body.toString('utf8')) };
    }
    const mod = await transport(url);
    const ca = url.protocol === 'https:' ? await extraCa() : undefined;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        url,
        {
          ...(ca ? { ca } : {}),
          method,
          headers,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: parseBody(Buffer.concat(chunks).toString('utf8')) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err: Error & { code?: string }) => reject(this.requestError(err)));
      if (data) req.write(data);
      req.end();
    });
  }

  /** A failed request as the error callers handle: no server there, a TLS problem, or the error itself. */
  private requestError(err: Error & { code?: string }): Error {
    if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EHOSTUNREACH' || err.code === 'ECONNRESET' || err.message === 'timed out') {
      return new UnreachableError(this.cfg.httpUrl, err.code ?? err.message);
    }
    if (/CERT|SSL|TLS|SELF_SIGNED/.test(err.code ?? '')) {
      return new UnreachableError(this.cfg.httpUrl, `TLS: ${err.message}; if the server uses a private CA, set HUDDLE_CA to its PEM file`);
    }
    return err;
  }

  private base(): string {
    return `/api/p/${encodeURIComponent(this.cfg.project)}`;
  }

  /** Run an operation of the table (src/ops/table.ts) as the configured session; resolves with its result once stored. */
  async op<N extends OpName>(name: N, args: OpArgs<N> = {}, opts: RequestOptions = {}): Promise<OpResult<N>> {
    const { status, json } = await this.request('POST', `${this.base()}/op/${name}`, { session: this.cfg.session, ...args }, opts);
    const j = (json ?? {}) as { ok?: boolean; result?: OpResult<N>; error?: string; code?: string; notices?: unknown; relay?: { url?: unknown; reason?: unknown; downSince?: unknown } };
    if (status === 200 && j.ok && j.relay && typeof j.relay.url === 'string') {
      const r = j.relay;
      const since = typeof r.downSince === 'number' ? ` since ${new Date(r.downSince).toLocaleTimeString()}` : '';
      process.stderr.write(`huddle: stored on this machine, not yet on the team relay ${r.url} (${typeof r.reason === 'string' ? r.reason : 'away'}${since}); it is passed on when the link is back\n`);
    }
    // Locks this session lost (forced, or dropped by the relay rule): said once, on stderr.
    if (Array.isArray(j.notices)) for (const n of j.notices.slice(0, 20)) if (typeof n === 'string') process.stderr.write(`${n.slice(0, 500)}\n`);
    if (status === 200 && j.ok) return j.result as OpResult<N>;
    throw new ApiFailure(status, j.error ?? `HTTP ${status}`, j.code ?? 'error');
  }

  async state(reader = true): Promise<Snapshot> {
    const role = this.cfg.session.role;
    const q = reader ? `?session=${encodeURIComponent(this.cfg.session.id)}${role ? `&role=${encodeURIComponent(role)}` : ''}` : '';
    const { status, json } = await this.request('GET', `${this.base()}/state${q}`);
    if (status !== 200) throw new ApiFailure(status, (json as { error?: string })?.error ?? `HTTP ${status}`, 'error');
    const { notices, ...snap } = json as Snapshot & { notices?: unknown };
    if (Array.isArray(notices)) for (const n of notices.slice(0, 20)) if (typeof n === 'string') process.stderr.write(`${n.slice(0, 500)}\n`);
    return snap as Snapshot;
  }

  /** GET a JSON document from the server; null on 404. */
  async getJson<T>(path: string): Promise<T | null> {
    const { status, json } = await this.request('GET', path, undefined, { timeoutMs: 3000 });
    if (status === 404) return null;
    if (status !== 200) throw new ApiFailure(status, (json as { error?: string })?.error ?? `HTTP ${status}`, 'error');
    return json as T;
  }

  async health(): Promise<Record<string, unknown>> {
    const { json } = await this.request('GET', '/healthz', undefined, { timeoutMs: 3000 });
    return json as Record<string, unknown>;
  }

  /** Follow server-sent events until `signal` aborts or the server goes away. */
  async events(onEvent: (e: WatchEvent) => void, signal?: AbortSignal): Promise<void> {
    const url = new URL(`${this.base()}/events`, this.cfg.httpUrl + '/');
    const mod = await transport(url);
    const ca = url.protocol === 'https:' ? await extraCa() : undefined;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method: 'GET', ...(ca ? { ca } : {}), headers: this.cfg.token ? { authorization: `Bearer ${this.cfg.token}` } : {} }, (res) => {
        if (res.statusCode !== 200) {
          reject(new ApiFailure(res.statusCode ?? 0, `events: HTTP ${res.statusCode}`, 'error'));
          res.resume();
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            for (const line of block.split('\n')) if (line.startsWith('data: ')) onEvent(JSON.parse(line.slice(6)) as WatchEvent);
          }
        });
        res.on('end', () => resolve());
        res.on('close', () => resolve());
        res.on('error', () => resolve());
      });
      req.on('error', (err: Error & { code?: string }) => {
        if (signal?.aborted) resolve();
        else if (err.code && ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE'].includes(err.code)) reject(new UnreachableError(this.cfg.httpUrl, err.code));
        else reject(err);
      });
      signal?.addEventListener('abort', () => {
        req.destroy();
        resolve();
      });
      req.end();
    });
  }
}
