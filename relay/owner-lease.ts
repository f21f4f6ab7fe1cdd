/**
 * One owner per project among the relay nodes on one PostgreSQL database.
 *
 * Choice: a session advisory lock, held by one dedicated connection per node
 * (pg_try_advisory_lock(ADVISORY_NS, hash(project))), plus a lease row whose
 * token is bumped by each new owner for fencing.
 * - Liveness comes from the advisory lock: it ends the moment PostgreSQL sees the
 *   owner's connection close, which a `kill -9` of the owner causes at once (the
 *   kernel closes the socket), so takeover does not wait for an expiry. Network
 *   loss is bounded by server-side TCP keepalives / tcp_user_timeout set on the
 *   lease connection (about LEASE_NET_TIMEOUT_S), and the node itself gives up its
 *   leases when its heartbeat on that connection fails.
 * - Fencing comes from the row: a new owner, after winning the advisory lock,
 *   increments huddle_leases.token; every write of the owner (postgres-persistence.ts)
 *   reads that row FOR SHARE with its own token in the same statement. So a node
 *   that lost its lease but has not noticed inserts nothing, and the takeover's
 *   UPDATE waits for any of its writes already in flight. No clocks are compared.
 * Hash collisions only mean two projects share an owner.
 *
 * The lease row also says where the owner is reachable (url) and which backend
 * holds the lock (pid, backend_start), so any node can find a live owner with one
 * query (owner()).
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { ADVISORY_NS, ensureSchema, type Fence } from '../src/store/postgres-persistence.js';

/** Seconds after which PostgreSQL drops a lease connection whose peer went silent. */
export const LEASE_NET_TIMEOUT_S = 4;

/** FNV-1a, folded to a positive int4 (the second advisory-lock key). */
export function projectKey(project: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(project, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}

export interface Lease {
  project: string;
  token: string;
  /** Date.now() when this node became owner. */
  since: number;
}

export interface OwnerInfo {
  node: string;
  url: string;
  token: string;
}

export interface OwnerLeasesOptions {
  connectionString: string;
  /** This node's name (unique among the nodes). */
  node: string;
  /** Where other nodes reach this one (ws://host:port). */
  url: string;
  /** Heartbeat period on the lease connection; a failed beat ends every lease. Default 1000 ms. */
  heartbeatMs?: number;
  /** Pool used for lookups (owner()); default a small own pool. */
  pool?: pg.Pool;
}

/** The lookup: the recorded owner, only if its backend still holds the advisory lock. */
const OWNER_SQL = `
SELECT l.node, l.url, l.token::text AS token FROM huddle_leases l
WHERE l.project = $1 AND EXISTS (
  SELECT 1 FROM pg_locks k JOIN pg_stat_activity a ON a.pid = k.pid
  WHERE k.locktype = 'advisory' AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND k.classid = $2::oid AND k.objid = $3::oid AND k.objsubid = 2 AND k.granted
    AND k.pid = l.pid AND a.backend_start = l.backend_start)`;

/**
 * Events: 'lost' (projects: string[]) when leases end without release() (the lease
 * connection failed); 'error' is never emitted (failures are counted in stats()).
 */
export class OwnerLeases extends EventEmitter {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly leases = new Map<string, Lease>();
  private readonly pool: pg.Pool;
  private readonly ownPool: boolean;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Serialises statements on the one lease connection. */
  private chain: Promise<unknown> = Promise.resolve();
  lastLatencyMs = 0;
  errors = 0;
  healthy = false;

  constructor(private readonly opts: OwnerLeasesOptions) {
    super();
    this.ownPool = !opts.pool;
    this.pool = opts.pool ?? new pg.Pool({ connectionString: opts.connectionString, max: 2, connectionTimeoutMillis: 5_000 });
    this.pool.on('error', () => undefined);
  }

  get node(): string {
    return this.opts.node;
  }

  /** Where other nodes reach this one, once it listens (recorded with every lease taken from now on). */
  setUrl(url: string): void {
    (this.opts as { url: string }).url = url;
  }

  async start(): Promise<void> {
    await ensureSchema(this.pool);
    await this.connection();
    const beat = () => {
      this.timer = setTimeout(() => {
        void this.heartbeat().finally(() => {
          if (!this.closed) beat();
        });
      }, this.opts.heartbeatMs ?? 1000);
      this.timer.unref();
    };
    beat();
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) return this.connecting;
    this.connecting = (async () => {
      const c = new pg.Client({
        connectionString: this.opts.connectionString,
        keepAlive: true,
        keepAliveInitialDelayMillis: 1000,
        connectionTimeoutMillis: 5_000,
        statement_timeout: 5_000,
        query_timeout: 6_000,
      });
      c.on('error', () => this.dropConnection(c));
      c.on('end', () => this.dropConnection(c));
      try {
        await c.connect();
        // The server drops this session (and so the advisory locks) soon after the node goes silent.
        await c.query(
          `SET tcp_keepalives_idle = 1; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = ${LEASE_NET_TIMEOUT_S - 1}; SET tcp_user_timeout = ${LEASE_NET_TIMEOUT_S * 1000}`,
        );
      } catch (e) {
        this.connecting = null;
        await c.end().catch(() => undefined);
        throw e;
      }
      this.client = c;
      this.connecting = null;
      this.healthy = true;
      return c;
    })();
    return this.connecting;
  }

  /** The lease connection is gone: every lease this node held has ended. */
  private dropConnection(c: pg.Client): void {
    if (this.client !== c) return;
    this.client = null;
    this.healthy = false;
    this.errors++;
    void c.end().catch(() => undefined);
    const lost = Array.from(this.leases.keys());
    this.leases.clear();
    if (lost.length > 0) this.emit('lost', lost);
  }

  private run<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const next = this.chain.then(async () => fn(await this.connection()));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async heartbeat(): Promise<void> {
    try {
      const t0 = performance.now();
      await this.run((c) => c.query('SELECT 1'));
      this.lastLatencyMs = performance.now() - t0;
      this.healthy = true;
    } catch {
      this.errors++;
      this.healthy = false;
      if (this.client) this.dropConnection(this.client);
    }
  }

  /** Try to become the owner of `project` now; null when another live node owns it. */
  async tryAcquire(project: string): Promise<Lease | null> {
    const held = this.leases.get(project);
    if (held) return held;
    const key = projectKey(project);
    return this.run(async (c) => {
      // Advisory locks are reentrant: a second acquire in the queue must not lock (and bump) again.
      const already = this.leases.get(project);
      if (already) return already;
      const got = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [ADVISORY_NS, key]);
      if (!got.rows[0]?.ok) return null;
      try {
        // Bumping the token fences the previous owner; this waits for its writes in flight (FOR SHARE).
        const r = await c.query<{ token: string }>(
          `INSERT INTO huddle_leases (project, token, node, url, pid, backend_start, since)
           SELECT $1, 1, $2, $3, pg_backend_pid(), a.backend_start, now() FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()
           ON CONFLICT (project) DO UPDATE SET token = huddle_leases.token + 1, node = EXCLUDED.node, url = EXCLUDED.url,
             pid = EXCLUDED.pid, backend_start = EXCLUDED.backend_start, since = EXCLUDED.since
           RETURNING token::text AS token`,
          [project, this.opts.node, this.opts.url],
        );
        const lease: Lease = { project, token: r.rows[0].token, since: Date.now() };
        this.leases.set(project, lease);
        return lease;
      } catch (e) {
        await c.query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY_NS, key]).catch(() => undefined);
        throw e;
      }
    });
  }

  /** Give up ownership (the project unloaded, or the node shuts down). */
  async release(project: string): Promise<void> {
    if (!this.leases.delete(project)) return;
    await this.run((c) => c.query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY_NS, projectKey(project)])).catch(() => undefined);
  }

  /** The lease this node holds for `project`, if any. */
  held(project: string): Lease | undefined {
    return this.leases.get(project);
  }

  /** For PostgresPersistence's `fence` option: this node's token, or null when it is not the owner. */
  fence = (project: string): Fence | null => {
    const l = this.leases.get(project);
    return l ? { token: l.token } : null;
  };

  /** The live owner of `project` (any node), or null when nobody holds it. */
  async owner(project: string): Promise<OwnerInfo | null> {
    const r = await this.pool.query<OwnerInfo>(OWNER_SQL, [project, ADVISORY_NS, projectKey(project)]);
    return r.rows[0] ?? null;
  }

  stats() {
    const now = Date.now();
    return {
      node: this.opts.node,
      healthy: this.healthy,
      latencyMs: Math.round(this.lastLatencyMs * 10) / 10,
      errors: this.errors,
      owned: Array.from(this.leases.values(), (l) => ({ project: l.project, token: l.token, ageMs: now - l.since })),
    };
  }

  /** Release everything and close the connections. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.leases.clear();
    const c = this.client;
    this.client = null;
    // Closing the session releases its advisory locks.
    if (c) await c.end().catch(() => undefined);
    if (this.ownPool) await this.pool.end().catch(() => undefined);
  }

  /** Test hook: the backend pid of the lease connection (to terminate it from outside). */
  async leaseBackendPid(): Promise<number> {
    return this.run(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  }
}
