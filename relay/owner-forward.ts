/**
 * On a node of a team relay, HTTP requests for a project another node owns: `assertOwner`
 * (in the server's room()) throws NotOwnerError unless this node owns the project or takes
 * it now, and the router hands that error to `forwardToOwner`, which passes the request to
 * the owner (http-forward.ts) or answers 503 "try again".
 */
import type http from 'node:http';
import type { ServerConfig } from './config.js';
import type { Logger } from './log.js';
import { json } from './http.js';
import { FORWARDED_HEADER, type Cluster } from './cluster.js';
import { NotOwnerError } from './not-owner.js';
import { bodyRead } from './body.js';
import { forwardHttp, httpBaseOf } from './http-forward.js';

/** A forwarded HTTP request: the body bound when no route read it, and the time the owner has to answer. */
const FORWARD_MAX_BODY = 1024 * 1024;
const FORWARD_TIMEOUT_MS = 15_000;
/** The longest wait the lock operation grants (src/ops/table.ts). */
const MAX_LOCK_WAIT_MS = 10 * 60_000;

/** Only the owner loads a project: throws NotOwnerError (naming the live owner, if any) unless this node owns it now. */
export async function assertOwner(cluster: Cluster, name: string): Promise<void> {
  const r = await cluster.route(name, true).catch((err: Error) => ({ kind: 'none' as const, reason: `cannot look up the owner of this project: ${err.message}` }));
  if (r.kind !== 'owner') {
    const owner = await cluster.leases.owner(name).catch(() => null);
    const live = owner && owner.node !== cluster.node ? owner : null;
    throw new NotOwnerError(name, live, live ? `project ${name} is served by node ${live.node}` : r.kind === 'none' ? r.reason : 'no node owns this project right now; try again');
  }
}

/**
 * An HTTP request for a project another node owns: passed to the owner (http-forward.ts) once
 * this node's guards let it through. A request that was itself forwarded is never forwarded
 * again (a stale lease row could bounce it); nor is one when nobody owns the project: 503.
 */
export async function forwardToOwner(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  err: NotOwnerError,
  env: { cluster: Cluster | null; config: Pick<ServerConfig, 'upstreamCa'>; log: Logger },
): Promise<void> {
  if (!err.owner || typeof req.headers[FORWARDED_HEADER] === 'string' || !env.cluster) {
    res.setHeader('retry-after', '1');
    json(res, 503, { ok: false, error: `${err.message}; try again`, code: 'unavailable' });
    return;
  }
  env.cluster.httpForwardedTotal++;
  const body = bodyRead(req);
  env.log.debug('request served by the owner', { project: err.project, owner: err.owner.node, path: (req.url ?? '').split('?')[0].slice(0, 200) });
  await forwardHttp(req, res, httpBaseOf(err.owner.url), err.owner.node, body, {
    node: env.cluster.node,
    forwardedHeader: FORWARDED_HEADER,
    maxBody: FORWARD_MAX_BODY,
    // A lock that waits for its holder (`huddle lock --wait`) answers only when it has it.
    timeoutMs: FORWARD_TIMEOUT_MS + waitOf(body),
    ca: env.config.upstreamCa ?? undefined,
    log: env.log,
  });
}

/** The `waitMs` an operation's body asks for (capped as the lock operation caps it), else 0. */
function waitOf(body: Buffer | undefined): number {
  if (!body || body.length === 0) return 0;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    const w = v && typeof v === 'object' ? (v as { waitMs?: unknown }).waitMs : undefined;
    return typeof w === 'number' && Number.isFinite(w) && w > 0 ? Math.min(w, MAX_LOCK_WAIT_MS) : 0;
  } catch {
    return 0;
  }
}
