/** `huddle serve`: the local server (or, with a token and --host, a team relay). */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG } from '../../relay/config.js';
import { usageError } from '../errors.js';

const env = process.env;

function intArg(name: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return Number(v);
  };
}

/** A PEM file's text, or a usage error naming the file. */
function readPem(file: string, what: string, pattern: RegExp): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${what} file ${file}: ${(err as Error).message}`);
  }
  if (!pattern.test(text)) throw usageError(`${what} file ${file} is not PEM (no "-----BEGIN ...-----" line)`);
  return text;
}

function readSecret(file: string, what: string): string {
  try {
    const s = fs.readFileSync(file, 'utf8').trim();
    if (!s) throw usageError(`${what} file ${file} is empty`);
    return s;
  } catch (err) {
    if ((err as { exitCode?: number }).exitCode) throw err;
    throw usageError(`cannot read ${what} file ${file}: ${(err as Error).message}`);
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the huddle server: a y-websocket relay on LevelDB with an HTTP API on 127.0.0.1.')
    .addOption(new Option('--host <host>', 'interface to bind').env('HUDDLE_HOST').default(DEFAULT_CONFIG.host))
    .addOption(new Option('--port <port>', 'TCP port (0 picks a free one)').env('HUDDLE_PORT').default(DEFAULT_CONFIG.port).argParser(intArg('--port')))
    .addOption(new Option('--data <dir>', 'LevelDB folder').env('HUDDLE_DATA').default(DEFAULT_CONFIG.dataDir))
    .addOption(new Option('--token <token>', 'token every client must present (read-write)').env('HUDDLE_TOKEN'))
    .addOption(new Option('--token-file <file>', 'read the read-write token from a file').env('HUDDLE_TOKEN_FILE'))
    .addOption(new Option('--read-token <token>', 'token that may read and send presence, not change documents').env('HUDDLE_READ_TOKEN'))
    .addOption(new Option('--read-token-file <file>', 'read the read-only token from a file').env('HUDDLE_READ_TOKEN_FILE'))
    .addOption(new Option('--max-message <bytes>', 'largest accepted WebSocket frame').env('HUDDLE_MAX_MESSAGE').default(DEFAULT_CONFIG.maxMessage).argParser(intArg('--max-message')))
    .addOption(new Option('--insecure', 'allow listening beyond loopback without a token').env('HUDDLE_INSECURE'))
    .addOption(new Option('--fsync', 'fsync every commit (survives power loss; a process crash loses nothing either way)').env('HUDDLE_FSYNC'))
    .addOption(new Option('--idle-unload <ms>', 'unload a document this long after its last client left').env('HUDDLE_IDLE_UNLOAD_MS').default(DEFAULT_CONFIG.idleUnloadMs).argParser(intArg('--idle-unload')))
    .addOption(new Option('--awareness-timeout <ms>', 'drop presence not renewed for this long').env('HUDDLE_AWARENESS_TIMEOUT_MS').default(DEFAULT_CONFIG.awarenessTimeoutMs).argParser(intArg('--awareness-timeout')))
    .addOption(new Option('--upstream <url>', 'team relay to sync every project with (ws:// or wss://)').env('HUDDLE_UPSTREAM'))
    .addOption(new Option('--upstream-token <token>', 'token presented to the team relay').env('HUDDLE_UPSTREAM_TOKEN'))
    .addOption(new Option('--upstream-token-file <file>', 'read the upstream token from a file').env('HUDDLE_UPSTREAM_TOKEN_FILE'))
    .addOption(new Option('--upstream-ca <file>', 'PEM certificate(s) to trust for a wss:// upstream with a private CA (HUDDLE_CA also works)').env('HUDDLE_UPSTREAM_CA'))
    .addOption(new Option('--tls-cert <file>', 'serve https/wss with this PEM certificate (chain); needs --tls-key').env('HUDDLE_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('HUDDLE_TLS_KEY'))
    .addOption(new Option('--log-level <level>', 'error, warn, info or debug').env('HUDDLE_LOG_LEVEL').default(DEFAULT_CONFIG.logLevel))
    .addHelpText('after', `
Examples:
  $ huddle serve                          # local server on 127.0.0.1:4321, data in .huddle/data
  $ huddle serve --port 0 --data /tmp/h   # any free port, another folder
  $ huddle serve --host 0.0.0.0 --token-file ~/.huddle-token   # a team relay
  $ huddle serve --host 0.0.0.0 --token-file tok --tls-cert cert.pem --tls-key key.pem   # ... on wss://
  $ huddle serve --upstream wss://relay.example:4321 --upstream-token-file ~/.huddle-token   # a machine of the team
  $ huddle serve --upstream wss://10.0.0.5:4321 --upstream-token T --upstream-ca relay-ca.pem

Clients connect to ws://HOST:PORT/<project> (wss:// with TLS). GET /healthz and /metrics report health.
SIGINT or SIGTERM stops accepting, flushes and exits 0; a second signal exits at once.`)
    .action(async (opts) => {
      // The team relay may also come from .huddle/config.json (`upstream`, `upstreamToken`), below flags and env.
      if (opts.upstream === undefined) {
        const { findConfigFile, readConfigFile, ConfigError } = await import('../config.js');
        const file = findConfigFile(process.cwd());
        if (file) {
          let conf;
          try {
            conf = readConfigFile(file);
          } catch (err) {
            throw err instanceof ConfigError ? usageError(err.message) : err;
          }
          if (conf.upstream) {
            opts.upstream = conf.upstream;
            if (opts.upstreamToken === undefined && opts.upstreamTokenFile === undefined && conf.upstreamToken) opts.upstreamToken = conf.upstreamToken;
          }
        }
      }
      const token: string | undefined = opts.tokenFile ? readSecret(opts.tokenFile, 'token') : opts.token;
      const readToken: string | undefined = opts.readTokenFile ? readSecret(opts.readTokenFile, 'read token') : opts.readToken;
      if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw usageError('--tls-cert and --tls-key go together');
      const tls = opts.tlsCert
        ? { cert: readPem(opts.tlsCert, 'TLS certificate', /-----BEGIN [A-Z ]*CERTIFICATE-----/), key: readPem(opts.tlsKey, 'TLS key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/) }
        : null;
      const caFile: string | undefined = opts.upstreamCa ?? env.HUDDLE_CA;
      const upstreamCa = caFile ? readPem(caFile, 'upstream CA', /-----BEGIN [A-Z ]*CERTIFICATE-----/) : null;
      const { HuddleServer } = await import('../../relay/server.js');
      let server;
      try {
        server = new HuddleServer({
          host: opts.host,
          port: opts.port,
          dataDir: opts.data,
          token: token ?? null,
          readToken: readToken ?? null,
          maxMessage: opts.maxMessage,
          insecure: Boolean(opts.insecure),
          fsync: Boolean(opts.fsync),
          idleUnloadMs: opts.idleUnload,
          awarenessTimeoutMs: opts.awarenessTimeout,
          upstream: opts.upstream ? String(opts.upstream).replace(/^http/, 'ws').replace(/\/+$/, '') : null,
          upstreamToken: (opts.upstreamTokenFile ? readSecret(opts.upstreamTokenFile, 'upstream token') : opts.upstreamToken) ?? null,
          upstreamCa,
          tls,
          logLevel: opts.logLevel,
        });
        await server.listen();
      } catch (err) {
        process.stderr.write(`huddle serve: ${(err as Error).message}\n`);
        process.exit(1);
      }
      process.stdout.write(
        `huddle server listening on ${server.url} (projects at ${server.wsUrl}/<project>), data in ${path.resolve(opts.data)}` +
          (token ? ', token required' : '') + (opts.upstream ? `, syncing with ${opts.upstream}` : '') + '\n',
      );
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          process.stderr.write(`huddle serve: second ${signal}, exiting at once\n`);
          process.exit(130);
        }
        stopping = true;
        server.log.info(`${signal} received: flushing and stopping`);
        server.close().then(
          () => process.exit(0),
          (err: Error) => {
            process.stderr.write(`huddle serve: shutdown failed: ${err.message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
