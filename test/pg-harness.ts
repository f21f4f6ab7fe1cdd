/**
 * A real PostgreSQL cluster for tests: initdb into a temp folder, pg_ctl start on a
 * free loopback port with its unix socket in the same folder, one database per
 * caller, and everything stopped and removed afterwards. Share one cluster per
 * test file (start it in beforeAll): initdb costs about a second.
 *
 * As root the cluster runs as the `postgres` OS user (PostgreSQL refuses root),
 * so the temp folder is chowned to it. Debian's `postgresql` package provides the
 * binaries (/usr/lib/postgresql/<version>/bin); .ci/run installs it where missing.
 */
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** The newest installed PostgreSQL bin folder holding initdb and pg_ctl, or null. */
export function findPgBin(): string | null {
  const candidates: string[] = [];
  if (process.env.HUDDLE_PG_BIN) candidates.push(process.env.HUDDLE_PG_BIN);
  try {
    const versions = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    /* not Debian's layout */
  }
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

/** Why the PostgreSQL tests cannot run here, or null when they can. In CI a missing PostgreSQL is an error, not a skip. */
export function pgUnavailable(): string | null {
  if (findPgBin()) return null;
  const msg = 'PostgreSQL is not installed (no initdb/pg_ctl under /usr/lib/postgresql/*/bin): apt-get install -y postgresql';
  if (process.env.CI) throw new Error(msg);
  return msg;
}

function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root but there is no postgres OS user to run PostgreSQL as');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  readonly port: number;
  readonly dir: string;
  /** Connection URL of a database (created by createDb). */
  url(db: string): string;
  /** Create a fresh database and return its URL. */
  createDb(name?: string): Promise<string>;
  /**
   * A fresh schema in one shared database, as a URL whose connections use it (search_path):
   * much cheaper than a database each. Advisory locks are per database, so tests sharing
   * it must use distinct project names.
   */
  createSchema(): Promise<string>;
  /** Run SQL as the superuser on a database (default `postgres`). */
  query(sql: string, params?: unknown[], db?: string): Promise<pg.QueryResult>;
  /** Stop the server (`immediate`: like a crash, WAL replays at the next start). Data stays. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Start it again on the same port. */
  start(): Promise<void>;
  /** Stop and remove everything. */
  destroy(): Promise<void>;
}

const USER = 'huddle';
let dbCounter = 0;

/**
 * initdb once per machine and PostgreSQL version into a template folder, then copy it:
 * initdb takes seconds on a loaded 2-core machine, a copy a fraction of that.
 */
async function initData(bin: string, data: string, as: { uid?: number; gid?: number }, env: NodeJS.ProcessEnv, cwd: string): Promise<void> {
  const version = path.basename(path.dirname(bin));
  const template = path.join(os.tmpdir(), `huddle-pg-template-${version}-${process.getuid?.() ?? 'u'}`);
  if (!fs.existsSync(path.join(template, 'PG_VERSION'))) {
    const fresh = `${template}.${process.pid}.${Date.now()}`;
    fs.mkdirSync(fresh, { recursive: true });
    if (as.uid !== undefined) fs.chownSync(fresh, as.uid, as.gid!);
    await run(path.join(bin, 'initdb'), ['-D', path.join(fresh, 'd'), '-U', USER, '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], { ...as, env, cwd });
    try {
      fs.renameSync(path.join(fresh, 'd'), template);
    } catch {
      /* another test file made it first */
    }
    fs.rmSync(fresh, { recursive: true, force: true });
  }
  // cp -a keeps the owner (postgres) and the 0700 mode PostgreSQL insists on.
  await run('cp', ['-a', template, data]);
}

export async function startPg(opts: { fsync?: boolean } = {}): Promise<PgCluster> {
  const bin = findPgBin();
  if (!bin) throw new Error(pgUnavailable() ?? 'PostgreSQL missing');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const owner = postgresUser();
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  await initData(bin, data, as, env, dir);
  const port = await freePort();
  // Loopback only; the socket in our folder (not /var/run/postgresql, which may not exist).
  const serverOpts = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses='127.0.0.1'",
    `-c fsync=${opts.fsync ? 'on' : 'off'}`,
    '-c max_connections=200',
    '-c shared_buffers=32MB',
  ].join(' ');
  const start = async () => {
    await run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '30', '-o', serverOpts, 'start'], { ...as, env, cwd: dir });
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', '-t', '30', 'stop'], { ...as, env, cwd: dir });
  };
  await start();
  let running = true;
  let shared: Promise<string> | null = null;
  const url = (db: string) => `postgres://${USER}@127.0.0.1:${port}/${db}`;
  const query = async (sql: string, params: unknown[] = [], db = 'postgres') => {
    const c = new pg.Client({ connectionString: url(db) });
    await c.connect();
    try {
      return await c.query(sql, params);
    } finally {
      await c.end();
    }
  };
  return {
    port,
    dir,
    url,
    query,
    async createDb(name = `t${process.pid}_${++dbCounter}`) {
      await query(`CREATE DATABASE ${name}`);
      return url(name);
    },
    async createSchema() {
      if (!shared) shared = this.createDb(`shared_${process.pid}`);
      const base = await shared;
      const name = `s${++dbCounter}`;
      await query(`CREATE SCHEMA ${name}`, [], base.split('/').pop());
      return `${base}?options=${encodeURIComponent(`-c search_path=${name}`)}`;
    },
    async stop(mode) {
      await stop(mode);
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async destroy() {
      try {
        if (running) await stop('immediate');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
