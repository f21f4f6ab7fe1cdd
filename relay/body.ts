/** Reading a bounded JSON object from an HTTP request body. */
import type http from 'node:http';

/** The raw bytes of each body read here, so that a request can still be forwarded once parsed (cluster mode). */
const rawBodies = new WeakMap<http.IncomingMessage, Buffer>();

/** The bytes readJsonBody read from `req`, if it did. */
export function bodyRead(req: http.IncomingMessage): Buffer | undefined {
  return rawBodies.get(req);
}

/** The body as bytes; BodyError 413 past `maxBytes`. */
export async function readRawBody(req: http.IncomingMessage, maxBytes: number, what = 'body'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new BodyError(413, `${what} over ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks, size);
  rawBodies.set(req, raw);
  return raw;
}

export class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The body as a JSON object ({} when empty); BodyError 413 past `maxBytes`, 400 when not an object. */
export async function readJsonBody(req: http.IncomingMessage, maxBytes: number, what = 'body'): Promise<Record<string, unknown>> {
  const raw = await readRawBody(req, maxBytes, what);
  if (raw.length === 0) return {};
  try {
    const v = JSON.parse(raw.toString('utf8'));
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new BodyError(400, `${what} is not a JSON object: ${(err as Error).message}`);
  }
}
