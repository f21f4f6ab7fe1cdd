/**
 * Every option of `huddle serve`, declared once: flag, environment variable,
 * default, parser and help text. The command's options, their defaults and
 * the README table are derived from (or checked against) this list.
 */
import { userStateDir } from '../src/node/server-file.js';
import { DEFAULT_CONFIG } from './config.js';

export { parseBool } from '../src/node/env.js';

export class OptionError extends Error {}

export interface ServeOption {
  /** The commander attribute (camelCase of the long flag). */
  key: string;
  /** e.g. `--port <port>`; no `<value>` for a boolean switch. */
  flag: string;
  env?: string;
  /** Default when neither the flag nor the environment gives a value. */
  default?: string | number;
  /** Turns the text of a flag or environment value into the option's value; throws OptionError. */
  parse?: (v: string, from: string) => unknown;
  /** A switch: `--flag` alone, or its environment variable as a boolean (see parseBool). */
  boolean?: true;
  doc: string;
}

export function parseWhole(v: string, from: string): number {
  if (!/^\d+$/.test(v.trim())) throw new OptionError(`${from} must be a whole number (got "${v}")`);
  return Number(v.trim());
}

export const SERVE_OPTIONS: ServeOption[] = [
  { key: 'host', flag: '--host <host>', env: 'HUDDLE_HOST', default: DEFAULT_CONFIG.host, doc: 'interface to bind' },
  { key: 'port', flag: '--port <port>', env: 'HUDDLE_PORT', default: DEFAULT_CONFIG.port, parse: parseWhole, doc: 'TCP port (0 picks a free one)' },
  { key: 'data', flag: '--data <dir>', env: 'HUDDLE_DATA', default: userStateDir() ?? DEFAULT_CONFIG.dataDir, doc: 'data folder (LevelDB, logs, session journal); default: the per-user state folder' },
  { key: 'store', flag: '--store <url>', env: 'HUDDLE_STORE', doc: 'keep documents in PostgreSQL (postgres://…) instead of the LevelDB in --data' },
  { key: 'node', flag: '--node <name>', env: 'HUDDLE_NODE', doc: 'with --store: this node\'s name among the nodes on the database (default: host name and pid)' },
  { key: 'nodeUrl', flag: '--node-url <url>', env: 'HUDDLE_NODE_URL', doc: 'with --store: where the other nodes reach this one (default: its own ws:// URL)' },
  { key: 'token', flag: '--token <token>', env: 'HUDDLE_TOKEN', doc: 'token every client must present (read-write)' },
  { key: 'tokenFile', flag: '--token-file <file>', env: 'HUDDLE_TOKEN_FILE', doc: 'read the read-write token from a file' },
  { key: 'readToken', flag: '--read-token <token>', env: 'HUDDLE_READ_TOKEN', doc: 'token that may read and send presence, not change documents' },
  { key: 'readTokenFile', flag: '--read-token-file <file>', env: 'HUDDLE_READ_TOKEN_FILE', doc: 'read the read-only token from a file' },
  { key: 'maxMessage', flag: '--max-message <bytes>', env: 'HUDDLE_MAX_MESSAGE', default: DEFAULT_CONFIG.maxMessage, parse: parseWhole, doc: 'largest accepted WebSocket frame' },
  { key: 'insecure', flag: '--insecure', env: 'HUDDLE_INSECURE', boolean: true, doc: 'allow listening beyond loopback without a token' },
  { key: 'fsync', flag: '--fsync', env: 'HUDDLE_FSYNC', boolean: true, doc: 'fdatasync every log write (survives power loss; a process crash loses nothing either way)' },
  { key: 'idleUnload', flag: '--idle-unload <ms>', env: 'HUDDLE_IDLE_UNLOAD_MS', default: DEFAULT_CONFIG.idleUnloadMs, parse: parseWhole, doc: 'unload a document this long after its last client left' },
  { key: 'awarenessTimeout', flag: '--awareness-timeout <ms>', env: 'HUDDLE_AWARENESS_TIMEOUT_MS', default: DEFAULT_CONFIG.awarenessTimeoutMs, parse: parseWhole, doc: 'drop presence not renewed for this long' },
  { key: 'orphanAfter', flag: '--orphan-after <ms>', env: 'HUDDLE_ORPHAN_AFTER_MS', default: DEFAULT_CONFIG.orphanAfterMs, parse: parseWhole, doc: 'return a gone session\'s claimed tasks to open after this long' },
  { key: 'upstream', flag: '--upstream <url>', env: 'HUDDLE_UPSTREAM', doc: 'team relay to sync every project with (ws:// or wss://)' },
  { key: 'upstreamToken', flag: '--upstream-token <token>', env: 'HUDDLE_UPSTREAM_TOKEN', doc: 'token presented to the team relay' },
  { key: 'upstreamTokenFile', flag: '--upstream-token-file <file>', env: 'HUDDLE_UPSTREAM_TOKEN_FILE', doc: 'read the upstream token from a file' },
  { key: 'upstreamCa', flag: '--upstream-ca <file>', env: 'HUDDLE_UPSTREAM_CA', doc: 'PEM certificate(s) to trust for a wss:// upstream with a private CA (HUDDLE_CA also works)' },
  { key: 'tlsCert', flag: '--tls-cert <file>', env: 'HUDDLE_TLS_CERT', doc: 'serve https/wss with this PEM certificate (chain); needs --tls-key' },
  { key: 'tlsKey', flag: '--tls-key <file>', env: 'HUDDLE_TLS_KEY', doc: 'PEM private key of --tls-cert' },
  { key: 'allowHost', flag: '--allow-host <names>', env: 'HUDDLE_ALLOW_HOST', doc: 'host names served besides loopback, comma list (name or name:port; * for any)' },
  { key: 'hookRoot', flag: '--hook-root <dirs>', env: 'HUDDLE_HOOK_ROOTS', doc: 'folders whose repositories hooks may name as their cwd, comma list (* for anywhere); default: home and temp folders' },
  { key: 'tokensFile', flag: '--tokens-file <file>', env: 'HUDDLE_TOKENS_FILE', doc: 'project-scoped tokens: JSON {"projects": {"<pattern>": {"write": [..], "read": [..]}}}' },
  { key: 'logLevel', flag: '--log-level <level>', env: 'HUDDLE_LOG_LEVEL', default: DEFAULT_CONFIG.logLevel, doc: 'error, warn, info or debug' },
  { key: 'logFile', flag: '--log-file <path>', env: 'HUDDLE_LOG_FILE', doc: 'append the log to this file (created 0600; reopened on SIGHUP for log rotation) instead of stderr' },
];
