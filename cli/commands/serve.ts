/** `huddle serve`: the local server (or, with a token and --host, a team relay). */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { tolerateClosedOutput, writeStd, createLogger } from '../../relay/log.js';
import { SERVE_OPTIONS, parseBool, type ServeOption } from '../../relay/options.js';
import { usageError } from '../errors.js';
import type { ProjectTokens } from '../../relay/project-tokens.js';
import { installProcessGuards } from '../../relay/guard.js';

const env = process.env;

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

/** The commander option of one declared server option. */
function commanderOption(o: ServeOption): Option {
  const opt = new Option(o.flag, o.doc);
  if (o.env) opt.env(o.env);
  if (o.default !== undefined) opt.default(o.default);
  const parse = o.parse;
  if (parse) {
    opt.argParser((v: string) => {
      try {
        return parse(v, o.flag.split(' ')[0]);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    });
  }
  return opt;
}

/**
 * The option values of `serve`, with two repairs commander cannot make:
 * - a switch set by its environment variable is on only for a true value
 *   (commander turns it on for any value, `HUDDLE_INSECURE=0` too);
 * - an option that the program also declares (`--token`) is taken by the
 *   program even when written after `serve`: take it back from there.
 */
export function serveValues(cmd: Command, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const opts = cmd.opts() as Record<string, unknown>;
  const parent = cmd.parent;
  for (const o of SERVE_OPTIONS) {
    if (parent && cmd.getOptionValueSource(o.key) !== 'cli' && parent.getOptionValueSource(o.key) === 'cli') opts[o.key] = parent.opts()[o.key];
    if (o.boolean && o.env && cmd.getOptionValueSource(o.key) === 'env') {
      try {
        opts[o.key] = parseBool(env[o.env] ?? '', o.env);
      } catch (err) {
        throw usageError((err as Error).message);
      }
    }
  }
  return opts;
}

/** A --tokens-file's rules, or a usage error naming the file. */
async function readProjectTokens(file: string): Promise<ProjectTokens> {
  // Loaded here, not at start-up: every huddle command (hooks included) registers serve.
  const { parseProjectTokens } = await import('../../relay/project-tokens.js');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read tokens file ${file}: ${(err as Error).message}`);
  }
  try {
    return parseProjectTokens(text);
  } catch (err) {
    throw usageError(`${file}: ${(err as Error).message}`);
  }
}

export function registerServe(program: Command): void {
  const serve = program
    .command('serve')
    .description('Run the huddle server: a y-websocket relay on LevelDB with an HTTP API on 127.0.0.1.');
  for (const o of SERVE_OPTIONS) serve.addOption(commanderOption(o));
  serve
    .addHelpText('after', `
Examples:
  $ huddle serve                          # local server on 127.0.0.1:4321, data in ~/.local/state/huddle
  $ huddle serve --port 0 --data /tmp/h   # any free port, another folder
  $ huddle serve --host 0.0.0.0 --token-file ~/.huddle-token   # a team relay
  $ huddle serve --host 0.0.0.0 --token-file tok --tls-cert cert.pem --tls-key key.pem   # ... on wss://
  $ huddle serve --upstream wss://relay.example:4321 --upstream-token-file ~/.huddle-token   # a machine of the team
  $ huddle serve --upstream wss://10.0.0.5:4321 --upstream-token T --upstream-ca relay-ca.pem
  $ huddle serve --host 0.0.0.0 --tokens-file tokens.json --allow-host relay.example   # per-team tokens
  $ huddle serve --host 0.0.0.0 --token-file tok --store postgres://huddle@db.example/huddle   # documents in PostgreSQL

Clients connect to ws://HOST:PORT/<project> (wss:// with TLS). GET /healthz and /metrics report health.
SIGINT or SIGTERM stops accepting, flushes and exits 0; a second signal exits at once.`)
    .action(async (_opts: unknown, cmd: Command) => {
      // The values are those SERVE_OPTIONS parse to (strings unless an option has a parser).
      const opts = serveValues(cmd) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      // A node of a team relay is the relay, not a machine that syncs with one.
      if (opts.store && opts.upstream) throw usageError('--store and --upstream do not go together: a node on the shared database is part of the team relay, not a machine server; give machines --upstream pointing at the relay (its load balancer), and the relay nodes --store');
      // The team relay may also come from .huddle/config.json (`upstream`, `upstreamToken`), below flags and env
      // (not for a relay node, which a repository's configuration does not make a machine server).
      if (opts.upstream === undefined && !opts.store) {
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
      const [{ HuddleServer }, { fileLogSink }] = await Promise.all([import('../../relay/server.js'), import('../../relay/log.js')]);
      let sink: ReturnType<typeof fileLogSink> | null = null;
      if (opts.logFile) {
        try {
          sink = fileLogSink(String(opts.logFile));
        } catch (err) {
          throw usageError(`cannot open the log file ${opts.logFile}: ${(err as Error).message}`);
        }
        process.on('SIGHUP', () => sink?.reopen());
      }
      // A server outlives whoever reads its output (a pipe into head, a closed terminal).
      tolerateClosedOutput();
      const logger = sink ? createLogger(opts.logLevel, sink.write) : createLogger(opts.logLevel);
      let persistence;
      let leases: import('../../relay/owner-lease.js').OwnerLeases | undefined;
      let cluster: import('../../relay/cluster.js').Cluster | undefined;
      // Where documents live, for messages: host and database, never the password.
      let storeName: string | null = null;
      if (opts.store) {
        const store = String(opts.store);
        if (!/^postgres(ql)?:\/\//.test(store)) throw usageError('--store takes a postgres:// URL (leave it out for the LevelDB in --data)');
        try {
          const u = new URL(store);
          storeName = `PostgreSQL at ${u.host || 'the local socket'}${u.pathname}`;
        } catch {
          throw usageError('--store: not a valid postgres:// URL');
        }
        const { PostgresPersistence } = await import('../../src/store/postgres-persistence.js');
        const { OwnerLeases } = await import('../../relay/owner-lease.js');
        const { Cluster } = await import('../../relay/cluster.js');
        // One owner per project among the nodes on this database; only the owner writes (fenced by its lease).
        leases = new OwnerLeases({ connectionString: store, node: String(opts.node ?? `${os.hostname()}-${process.pid}`), url: '' });
        persistence = new PostgresPersistence({ connectionString: store, fence: leases.fence });
        cluster = new Cluster(leases, logger);
      } else if (opts.node || opts.nodeUrl) {
        throw usageError('--node and --node-url go with --store postgres://…');
      }
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
          orphanAfterMs: opts.orphanAfter,
          upstream: opts.upstream ? String(opts.upstream).replace(/^http/, 'ws').replace(/\/+$/, '') : null,
          upstreamToken: (opts.upstreamTokenFile ? readSecret(opts.upstreamTokenFile, 'upstream token') : opts.upstreamToken) ?? null,
          upstreamCa,
          tls,
          logLevel: opts.logLevel,
          allowHosts: String(opts.allowHost ?? '').split(',').map((h) => h.trim()).filter(Boolean),
          hookRoots: String(opts.hookRoot ?? '').split(',').map((h) => h.trim()).filter(Boolean).map((h) => (h === '*' ? h : path.resolve(h))),
          projectTokens: opts.tokensFile ? await readProjectTokens(opts.tokensFile) : null,
        }, persistence ? { persistence, cluster, logger } : { logger });
        await leases?.start();
        await server.listen();
        leases?.setUrl(opts.nodeUrl ? String(opts.nodeUrl).replace(/^http/, 'ws').replace(/\/+$/, '') : server.wsUrl);
      } catch (err) {
        const why = (err as Error).message;
        sink?.write(`${new Date().toISOString()} error start-up failed error=${JSON.stringify(why)}`);
        process.stderr.write(`huddle: serve: ${storeName && !/EADDRINUSE|EACCES/.test(why) ? `cannot open the store (${storeName}): ${why}` : why}\n`);
        process.exit(1);
      }
      // The handlers come before the line that says where it listens: whoever waits for that line may stop
      // the server at once, and a SIGTERM before them would kill it unflushed (seen once in the build's cache run).
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          writeStd(process.stderr, `huddle: serve: second ${signal}, exiting at once\n`);
          process.exit(130);
        }
        stopping = true;
        server.log.info(`${signal} received: flushing and stopping`);
        server.close().then(
          () => process.exit(0),
          (err: Error) => {
            writeStd(process.stderr, `huddle: serve: shutdown failed: ${err.message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      server.log.info('listening', { url: server.url, data: path.resolve(opts.data), upstream: opts.upstream ? 'yes' : undefined, pid: process.pid });
      writeStd(
        process.stdout,
        `huddle server listening on ${server.url} (projects at ${server.wsUrl}/<project>), data in ${path.resolve(opts.data)}` +
          (storeName ? `, documents in ${storeName}` : '') + (leases ? `, node ${leases.node}` : '') +
          (token || opts.tokensFile ? ', token required' : '') + (opts.upstream ? `, syncing with ${opts.upstream}` : '') + '\n',
      );
      // A bug in one room's timer or listener must not take every project down: log, count, serve on.
      installProcessGuards(server.log, server.metrics);
    });
}
