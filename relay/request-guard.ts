/**
 * Browser-borne requests against a server that may have no token (issue 13 §1).
 * A web page the user visits can send "simple" requests to 127.0.0.1 without a
 * preflight (text/plain or form POSTs, WebSocket upgrades), and through DNS
 * rebinding can even read answers under its own host name. So:
 *
 * - Host: only loopback names (127.0.0.0/8, localhost, [::1]) on the server's port, the
 *   configured names (`--allow-host`, HUDDLE_ALLOW_HOST), and, for a server bound beyond
 *   loopback that requires a token, its bind address (every interface address and the
 *   machine's host name when bound to 0.0.0.0 / ::). `*` turns the check off.
 * - WebSocket upgrades: an Origin header, when present, must be the server's own origin
 *   (http(s)://<allowed host>); non-browser clients send none and stay allowed.
 * - API and hook routes: no foreign Origin, no Sec-Fetch-Site cross-site/same-site,
 *   and bodies (every POST/PUT/PATCH/DELETE) only as application/json — which a browser
 *   cannot send cross-origin without a CORS preflight that this server never answers.
 * - The dashboard's page and assets (GET / and /assets/*) only need the Host check:
 *   following a link to the dashboard from another site must keep working.
 *
 * Pure: every check takes header values and a policy and returns a reason or null.
 */
import os from 'node:os';

export interface GuardPolicy {
  /** The port the server listens on (its own origin's port). */
  port: number;
  /** The server serves https/wss. */
  tls: boolean;
  /** Extra names accepted in Host/Origin: `name` (any port) or `name:port`; `*` accepts any. */
  allowHosts: readonly string[];
}

export interface GuardRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface Refusal {
  status: number;
  reason: string;
}

const header = (h: GuardRequest['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** "Name" and port of a Host header value or URL host; null when malformed. */
export function splitHost(host: string, defaultPort: number): { name: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!m) return null;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port > 65535) return null;
  return { name: m[1].toLowerCase().replace(/\.$/, ''), port };
}

export function isLoopbackName(name: string): boolean {
  const h = name.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Whether `name:port` is one of the names this server answers to. */
function hostAllowed(name: string, port: number, policy: GuardPolicy): boolean {
  if (isLoopbackName(name) && port === policy.port) return true;
  for (const entry of policy.allowHosts) {
    if (entry === '*') return true;
    const e = splitHost(entry, -1);
    if (!e) continue;
    if (e.name === name && (e.port === -1 || e.port === port)) return true;
  }
  return false;
}

/** Refuse a Host header that is not a name of this server (DNS rebinding). */
export function checkHost(host: string | undefined, policy: GuardPolicy): string | null {
  if (policy.allowHosts.includes('*')) return null;
  if (!host) return 'missing Host header';
  const h = splitHost(host, policy.tls ? 443 : 80);
  if (!h || !hostAllowed(h.name, h.port, policy)) return `host ${JSON.stringify(host.slice(0, 100))} is not served here (allow it with --allow-host)`;
  return null;
}

/** Refuse an Origin header other than this server's own origin. Absent: not a browser, allowed. */
export function checkOrigin(origin: string | undefined, policy: GuardPolicy): string | null {
  if (origin === undefined) return null;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return `origin ${JSON.stringify(origin.slice(0, 100))} is not this server's`; // includes "null"
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.pathname !== '/' || u.username || u.password) return `origin ${JSON.stringify(origin.slice(0, 100))} is not this server's`;
  // An https page behind a TLS-terminating proxy may front a plain server: both schemes count.
  const h = splitHost(u.host, u.protocol === 'https:' ? 443 : 80);
  if (!h || !hostAllowed(h.name, h.port, policy)) return `origin ${JSON.stringify(origin.slice(0, 100))} is not this server's`;
  return null;
}

/** Refuse what the browser says came from another site (Fetch Metadata). */
export function checkFetchSite(site: string | undefined): string | null {
  if (site === 'cross-site' || site === 'same-site') return `a ${site} request from a web page is refused`;
  return null; // same-origin, none (typed by the user), or not a browser
}

/** Bodies only as application/json: the one type a page cannot send cross-origin without a preflight. */
export function checkContentType(method: string, contentType: string | undefined): string | null {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return null;
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (media !== 'application/json') return `${method} needs Content-Type application/json (got ${contentType ? JSON.stringify(contentType.slice(0, 60)) : 'none'})`;
  return null;
}

/** The dashboard's static page and assets: reachable by following a link from anywhere. */
function isPage(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && (path === '/' || path.startsWith('/assets/'));
}

/** Check an HTTP request before routing; null when it may go on. */
export function guardHttp(req: GuardRequest, policy: GuardPolicy): Refusal | null {
  const host = checkHost(header(req.headers, 'host'), policy);
  if (host) return { status: 421, reason: host };
  if (isPage(req.method, req.path)) return null;
  const why =
    checkOrigin(header(req.headers, 'origin'), policy) ??
    checkFetchSite(header(req.headers, 'sec-fetch-site')) ??
    checkContentType(req.method, header(req.headers, 'content-type'));
  if (!why) return null;
  return { status: why.startsWith(req.method) ? 415 : 403, reason: why };
}

/** Check a WebSocket upgrade; null when it may go on. */
export function guardUpgrade(req: Omit<GuardRequest, 'method'>, policy: GuardPolicy): Refusal | null {
  const host = checkHost(header(req.headers, 'host'), policy);
  if (host) return { status: 421, reason: host };
  const why = checkOrigin(header(req.headers, 'origin'), policy) ?? checkFetchSite(header(req.headers, 'sec-fetch-site'));
  return why ? { status: 403, reason: why } : null;
}

/**
 * Names a server answers to beyond loopback: with a token and a bind address beyond
 * loopback, that address (or, for a wildcard bind, every interface address and the
 * machine's host name); plus the configured ones.
 */
export function allowedHostsFor(bindHost: string, tokenRequired: boolean, configured: readonly string[]): string[] {
  const out = configured.map((h) => h.trim()).filter(Boolean);
  const bind = bindHost.replace(/^\[|\]$/g, '');
  if (!tokenRequired || isLoopbackName(bind)) return out;
  if (bind === '0.0.0.0' || bind === '::' || bind === '') {
    out.push(os.hostname());
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) out.push(a.family === 'IPv6' ? `[${a.address.replace(/%.*$/, '')}]` : a.address);
    }
  } else {
    out.push(bind.includes(':') ? `[${bind}]` : bind);
  }
  return out;
}

/** Parse a comma list (`--allow-host a,b:8080`, HUDDLE_ALLOW_HOST). */
export function parseHostList(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}
