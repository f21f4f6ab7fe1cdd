/**
 * Typed configuration of the huddle server, with documented defaults. The
 * flags and HUDDLE_* variables that set them are declared in relay/options.ts.
 */

import type { ProjectTokens } from './project-tokens.js';

export interface ServerConfig {
  /** Interface to bind. Default 127.0.0.1 (loopback only). */
  host: string;
  /** TCP port; 0 picks a free one. Default 4321. */
  port: number;
  /** LevelDB folder. Default `.huddle/data` under the working directory. */
  dataDir: string;
  /** Token every client must present (read-write). Default none. */
  token: string | null;
  /** Token that may read and send awareness but not change documents. Default none. */
  readToken: string | null;
  /** Largest accepted WebSocket frame in bytes. Default 16 MiB. */
  maxMessage: number;
  /** Allow listening beyond loopback without a token. Default false. */
  insecure: boolean;
  /** fdatasync every write-ahead log write (survives power loss, costs latency). Default false: a process crash loses nothing either way. */
  fsync: boolean;
  /** Compact a loaded document's log once it holds this many records. Default 500. */
  compactRecords: number;
  /** ...or once the log holds this many bytes. Default 8 MiB. */
  compactBytes: number;
  /** Unload a document this long after its last client left. Default 30 s. */
  idleUnloadMs: number;
  /** Remove awareness states not renewed for this long. Default 30 s (the y-protocols timeout). */
  awarenessTimeoutMs: number;
  /** Ping every client this often; one that missed the previous pong is dropped. Default 30 s. */
  pingIntervalMs: number;
  /** Drop a client whose unsent data exceeds this many bytes. Default 64 MiB. */
  maxBufferedBytes: number;
  /** Return a gone session's claimed tasks to open after this long. Default 60 s. */
  orphanAfterMs: number;
  /** Remove a session hosted for a thin client after this long without a sign of life. Default 30 min. */
  hostedRemoveAfterMs: number;
  /** Team relay to sync every loaded project with (ws:// or wss://). Default none. */
  upstream: string | null;
  /** Token presented to the upstream relay. */
  upstreamToken: string | null;
  /** Certificate authorities (PEM text) to trust for a wss:// upstream instead of the system's. Default none. */
  upstreamCa: string | null;
  /** Serve https/wss with this certificate and key (PEM text). Default none: plain http/ws. */
  tls: { cert: string; key: string } | null;
  /** Log level: error, warn, info, debug. Default info. */
  logLevel: LogLevel;
  /** Host names served besides loopback (`name` or `name:port`; `*` turns the Host check off). Default none. */
  allowHosts: string[];
  /** Project-scoped tokens (a parsed --tokens-file, see project-tokens.ts). Default none. */
  projectTokens: ProjectTokens | null;
  /**
   * Inbound awareness budget of one connection, in entries a second (a frame costs one plus its
   * client IDs), and the burst above it (rate-limit.ts). Over it frames are dropped; a client that
   * keeps on is closed (4029). Default 5,000/s, burst 10,000: a team relay's link from a machine with
   * a hundred busy sessions stays well below.
   */
  awarenessRate: number;
  awarenessBurst: number;
  /**
   * Folders under which a hook's cwd may make the server read `.huddle/config.json` and git
   * metadata (relay/hook-config.ts); `*` is anywhere. Empty: the home and temp folders of the
   * user running the server. The working folders of hosted sessions count as well.
   */
  hookRoots: string[];
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 4321,
  dataDir: '.huddle/data',
  token: null,
  readToken: null,
  maxMessage: 16 * 1024 * 1024,
  insecure: false,
  fsync: false,
  compactRecords: 500,
  compactBytes: 8 * 1024 * 1024,
  idleUnloadMs: 30_000,
  awarenessTimeoutMs: 30_000,
  pingIntervalMs: 30_000,
  maxBufferedBytes: 64 * 1024 * 1024,
  orphanAfterMs: 60_000,
  hostedRemoveAfterMs: 30 * 60_000,
  upstream: null,
  upstreamToken: null,
  upstreamCa: null,
  tls: null,
  logLevel: 'info',
  allowHosts: [],
  projectTokens: null,
  awarenessRate: 5000,
  awarenessBurst: 10_000,
  hookRoots: [],
};

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Problems that must stop the server from starting, or [] when the config is sound. */
export function configProblems(c: ServerConfig): string[] {
  const problems: string[] = [];
  if (!(c.awarenessRate > 0) || !(c.awarenessBurst >= 1)) problems.push('the awareness budget needs a positive rate and a burst of at least 1');
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) problems.push(`port must be an integer from 0 to 65535 (got ${c.port})`);
  if (!Number.isInteger(c.maxMessage) || c.maxMessage < 1024) problems.push(`max message must be at least 1024 bytes (got ${c.maxMessage})`);
  if (!isLoopback(c.host) && !c.token && !c.projectTokens && !c.insecure) {
    problems.push(`refusing to listen on ${c.host} (beyond loopback) without a token: pass --token/--token-file, or --insecure to accept the risk`);
  }
  if (c.readToken && !c.token) problems.push('a read-only token needs a read-write token as well (--token)');
  if (c.token && c.readToken && c.token === c.readToken) problems.push('the read-only token must differ from the read-write token');
  if (c.upstream && !/^wss?:\/\/[^/]+/.test(c.upstream)) problems.push(`upstream must be a ws:// or wss:// URL (got ${c.upstream})`);
  if (c.tls && (!/-----BEGIN [A-Z ]*CERTIFICATE-----/.test(c.tls.cert) || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(c.tls.key))) {
    problems.push('TLS needs a PEM certificate and a PEM private key');
  }
  if (!['error', 'warn', 'info', 'debug'].includes(c.logLevel)) problems.push(`log level must be error, warn, info or debug (got ${c.logLevel})`);
  return problems;
}
