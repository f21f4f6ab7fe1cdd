/** Reading a bounded JSON object from an HTTP request body. */
import type http from 'node:http';

export class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The body as a JSON object ({} when empty); BodyError 413 past `maxBytes`, 400 when not an object. */
export async function readJsonBody(req: http.IncomingMessage, maxBytes: number, what = 'body'): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new BodyError(413, `${what} over ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new BodyError(400, `${what} is not a JSON object: ${(err as Error).message}`);
  }
}
