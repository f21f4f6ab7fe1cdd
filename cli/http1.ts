/**
 * One HTTP/1.1 request over node:net, for the CLI's calls to a plain http://
 * server (the local huddle server). Why not node:http: loading its agent,
 * parser and stream stack and running its first request costs a short command
 * (peek, lock, decide) about 5 ms of CPU, a tenth of Node's own start-up, and
 * agents run these commands in loops. One request per connection
 * (`Connection: close`): the response is a status line, headers, and a body
 * delimited by Content-Length, chunked encoding or the end of the connection.
 */
import net from 'node:net';

export interface Http1Request {
  method: string;
  headers: Record<string, string | number>;
  body?: Buffer;
  timeoutMs: number;
}

export interface Http1Response {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** Largest response accepted (a snapshot of a busy project is a few MiB). */
export const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** An error with the code node:http would give (ECONNREFUSED, ECONNRESET...), so callers treat both alike. */
function failure(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The request head; throws on a header that would split it (a token with a newline, say). */
export function requestHead(url: URL, req: Pick<Http1Request, 'method' | 'headers'>): string {
  const lines = [`${req.method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close'];
  for (const [name, value] of Object.entries(req.headers)) {
    const v = String(value);
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(v)) throw failure(`invalid character in the ${name} header`, 'ERR_INVALID_CHAR');
    lines.push(`${name}: ${v}`);
  }
  return lines.join('\r\n') + '\r\n\r\n';
}

type Head = { status: number; headers: Map<string, string>; bodyStart: number };

/** The status and headers once `buf` holds the whole head, else null; throws on a malformed head. */
export function parseHead(buf: Buffer): Head | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > 64 * 1024) throw failure('response head too large', 'HPE_HEADER_OVERFLOW');
    return null;
  }
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]);
  if (!m) throw failure('malformed response status line', 'HPE_INVALID_CONSTANT');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) throw failure('malformed response header', 'HPE_INVALID_HEADER_TOKEN');
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { status: Number(m[1]), headers, bodyStart: end + 4 };
}

/** The body of a chunked message, or null while it is incomplete; throws on a malformed one. */
export function dechunk(buf: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const sizeText = buf.subarray(at, eol).toString('latin1').split(';')[0].trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw failure('malformed chunk size', 'HPE_INVALID_CHUNK_SIZE');
    const size = parseInt(sizeText, 16);
    if (size === 0) return Buffer.concat(parts); // trailers, if any, are not needed
    const start = eol + 2;
    if (buf.length < start + size + 2) return null;
    parts.push(buf.subarray(start, start + size));
    at = start + size + 2;
  }
}

/** The body once `raw` (everything after the head) holds it all, else null. */
function completeBody(head: Head, raw: Buffer, ended: boolean): Buffer | null {
  if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) return Buffer.alloc(0);
  if (/\bchunked\b/i.test(head.headers.get('transfer-encoding') ?? '')) {
    const body = dechunk(raw);
    if (body === null && ended) throw failure('connection closed inside a chunked response', 'ECONNRESET');
    return body;
  }
  const lengthText = head.headers.get('content-length');
  if (lengthText !== undefined) {
    if (!/^\d+$/.test(lengthText)) throw failure('malformed content-length', 'HPE_INVALID_CONTENT_LENGTH');
    const length = Number(lengthText);
    if (raw.length >= length) return raw.subarray(0, length);
    if (ended) throw failure('connection closed before the whole response', 'ECONNRESET');
    return null;
  }
  return ended ? raw : null;
}

/** Send one request to an http:// URL and read the whole response. */
export function http1Request(url: URL, req: Http1Request): Promise<Http1Response> {
  if (url.protocol !== 'http:') return Promise.reject(new Error(`http1Request takes http:// URLs, not ${url.protocol}`));
  let head: string;
  try {
    head = requestHead(url, req);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80) });
    const chunks: Buffer[] = [];
    let size = 0;
    let parsed: Head | null = null;
    let settled = false;
    const finish = (err: Error | null, res?: Http1Response): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const check = (ended: boolean): void => {
      try {
        if (!parsed) {
          let buf = Buffer.concat(chunks, size);
          // Interim 1xx heads (none expected: huddle sends no Expect) come before the real one.
          while ((parsed = parseHead(buf)) && parsed.status < 200 && parsed.status !== 101) buf = buf.subarray(parsed.bodyStart);
          chunks.length = 0;
          chunks.push(buf);
          size = buf.length;
          if (!parsed) {
            if (ended) finish(failure('socket hang up', 'ECONNRESET'));
            return;
          }
        }
        // Join the chunks only when the body may be complete: a large response arrives in many.
        const length = Number(parsed.headers.get('content-length') ?? NaN);
        const last = chunks[chunks.length - 1];
        const chunkedEnd = last !== undefined && last.length >= 5 && last.subarray(-5).toString('latin1') === '0\r\n\r\n';
        if (!ended && !(size - parsed.bodyStart >= length) && !chunkedEnd && !(parsed.status === 204 || parsed.status === 304)) return;
        const body = completeBody(parsed, Buffer.concat(chunks, size).subarray(parsed.bodyStart), ended);
        if (body !== null) finish(null, { status: parsed.status, headers: parsed.headers, body });
      } catch (err) {
        finish(err as Error);
      }
    };
    socket.setNoDelay(true);
    socket.setTimeout(req.timeoutMs, () => finish(new Error('timed out')));
    socket.on('connect', () => {
      socket.write(req.body ? Buffer.concat([Buffer.from(head, 'latin1'), req.body]) : head);
    });
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) return finish(failure(`response larger than ${MAX_RESPONSE_BYTES} bytes`, 'ERR_RESPONSE_TOO_LARGE'));
      chunks.push(chunk);
      check(false);
    });
    socket.on('end', () => check(true));
    socket.on('error', (err) => finish(err));
    socket.on('close', () => check(true));
  });
}
