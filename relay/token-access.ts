/**
 * Which access a request's token grants: the server-wide `--token` (write) and `--read-token`
 * (read), and on a named project the project-scoped tokens too (project-tokens.ts). Tokens are
 * compared in constant time.
 */
import type http from 'node:http';
import type { ServerConfig } from './config.js';
import type { Access } from './http.js';
import { projectAccess, safeEqual } from './project-tokens.js';

type TokenConfig = Pick<ServerConfig, 'token' | 'readToken' | 'projectTokens'>;

/** Whether clients must present a token (server-wide or project-scoped). */
export function tokenRequired(config: TokenConfig): boolean {
  return !!config.token || !!config.projectTokens;
}

/** The token a request presents (Authorization: Bearer, else ?token=), or null. */
export function presentedToken(req: http.IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7) : url.searchParams.get('token');
}

/**
 * Which access a request's token grants: on `project` when given (project-scoped
 * tokens count there), else server-wide (only --token / --read-token count).
 */
export function accessOf(config: TokenConfig, req: http.IncomingMessage, url: URL, project?: string): Access {
  if (!tokenRequired(config)) return 'write';
  const presented = presentedToken(req, url);
  if (!presented) return 'none';
  if (config.token && safeEqual(presented, config.token)) return 'write';
  if (config.readToken && safeEqual(presented, config.readToken)) return 'read';
  if (project !== undefined && config.projectTokens) return projectAccess(config.projectTokens, presented, project);
  return 'none';
}
