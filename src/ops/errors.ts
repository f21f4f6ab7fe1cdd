/**
 * The one error type of operations, and the one mapping of its codes to HTTP
 * statuses. The HTTP API, the hooks, the offline runner and the client all
 * go through it, so a conflict is a 409 wherever it comes from.
 */
import { ContextError } from '../model/context.js';
import { PatternError } from '../model/paths.js';

export type OpErrorCode = 'invalid' | 'not-found' | 'ambiguous' | 'conflict' | 'unauthorized' | 'forbidden' | 'too-large' | 'needs-server' | 'error';

export const HTTP_STATUS: Record<OpErrorCode, number> = {
  invalid: 400,
  ambiguous: 400,
  'not-found': 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  'too-large': 413,
  'needs-server': 503,
  error: 500,
};

export class OpError extends Error {
  constructor(message: string, readonly code: OpErrorCode = 'invalid') {
    super(message);
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  /** The JSON an HTTP route answers with. */
  body(): { ok: false; error: string; code: OpErrorCode } {
    return { ok: false, error: this.message, code: this.code };
  }
}

const CODE_OF_STATUS = new Map<number, OpErrorCode>();
for (const [code, status] of Object.entries(HTTP_STATUS)) if (!CODE_OF_STATUS.has(status)) CODE_OF_STATUS.set(status, code as OpErrorCode);

/** Any thrown value as an OpError: domain errors keep their code; anything unknown is a 500. */
export function toOpError(err: unknown): OpError {
  if (err instanceof OpError) return err;
  if (err instanceof ContextError) return new OpError(err.message, err.code);
  if (err instanceof PatternError) return new OpError(err.message, 'invalid');
  // Errors that carry an HTTP status (the body reader's 400/413).
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && CODE_OF_STATUS.has(status)) return new OpError((err as Error).message, CODE_OF_STATUS.get(status)!);
  return new OpError(err instanceof Error ? err.message : String(err), 'error');
}
