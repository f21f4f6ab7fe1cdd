/**
 * Persistence on PostgreSQL (node-postgres): the document log of several relay
 * nodes in one database.
 *
 * Tables (created on open, under an advisory transaction lock so that nodes
 * starting together do not race on CREATE):
 *   huddle_updates(id bigserial, project, data bytea)  one row per stored update
 *   huddle_leases(project, token, node, url, pid, …)   the owner of a project (relay/owner-lease.ts)
 *
 * appendDurable is one INSERT of the whole batch (unnest of a bytea[]); it
 * resolves once PostgreSQL committed it, which is what the room waits for before
 * broadcasting. A fenced store (given `fence`) writes only while it holds the
 * project's lease: the INSERT reads the lease row FOR SHARE with this node's
 * token in the same statement, so a node that lost the lease and has not noticed
 * inserts nothing (FencedError), and a takeover, which bumps the token, waits for
 * writes in flight. Compaction deletes only the rows this process has seen
 * (exactly the ids it loaded or wrote) and inserts the state in one
 * transaction, so it never drops a row it has not merged.
 */
import pg from 'pg';
import * as Y from 'yjs';
import type { Persistence, StoredDoc, StoreStats } from './persistence.js';

/** The write was refused because this node does not hold the project's lease (any more). */
export class FencedError extends Error {
  readonly code = 'FENCED';
  constructor(readonly doc: string) {
    super(`not the owner of ${doc}: write refused by the lease fence`);
  }
}

export interface Fence {
  /** The lease token this node holds for the project (huddle_leases.token). */
  token: string;
}

export interface PostgresPersistenceOptions {
  connectionString?: string;
  /** Use this pool (not closed by close()). */
  pool?: pg.Pool;
  /** Pool size when the store makes its own pool. */
  max?: number;
  /** When set, every write must hold the project's lease: null means "not the owner", refused. */
  fence?: (doc: string) => Fence | null;
  /** Per-statement timeout in ms (a hung database fails writes instead of stalling them). Default 10 s. */
  statementTimeoutMs?: number;
}

interface DocInfo {
  records: number;
  bytes: number;
  baseBytes: number;
  /** Row ids this process loaded or wrote: compaction deletes exactly these (never a row it has not merged). */
  ids: string[];
  /** Byte size of each row in `ids` (same order). */
  sizes: number[];
}

/** Namespace (first key) of huddle's advisory locks; the second key is the project hash or 0 for schema. */
export const ADVISORY_NS = 0x48446c;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS huddle_updates (
  id bigserial PRIMARY KEY,
  project text NOT NULL,
  data bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS huddle_updates_project ON huddle_updates (project, id);
CREATE TABLE IF NOT EXISTS huddle_leases (
  project text PRIMARY KEY,
  token bigint NOT NULL,
  node text NOT NULL,
  url text NOT NULL,
  pid integer NOT NULL,
  backend_start timestamptz NOT NULL,
  since timestamptz NOT NULL DEFAULT now()
);
`;

/** Create the tables once, whoever comes first (safe to call from several nodes at once). */
export async function ensureSchema(pool: pg.Pool): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1, 0)', [ADVISORY_NS]);
    await c.query(SCHEMA_SQL);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
}

const toBuf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class PostgresPersistence implements Persistence {
  readonly kind = 'postgres';
  readonly remote = true;
  readonly pool: pg.Pool;
  private readonly ownPool: boolean;
  private readonly docs = new Map<string, DocInfo>();
  private readonly fence?: (doc: string) => Fence | null;

  constructor(opts: PostgresPersistenceOptions) {
    if (opts.pool) {
      this.pool = opts.pool;
      this.ownPool = false;
    } else {
      if (!opts.connectionString) throw new Error('PostgresPersistence needs a connectionString or a pool');
      this.pool = new pg.Pool({
        connectionString: opts.connectionString,
        max: opts.max ?? 8,
        statement_timeout: opts.statementTimeoutMs ?? 10_000,
        connectionTimeoutMillis: 5_000,
      });
      this.ownPool = true;
    }
    // An idle client whose server went away emits 'error' on the pool; the next query reconnects.
    this.pool.on('error', () => undefined);
    this.fence = opts.fence;
  }

  async open(): Promise<void> {
    await ensureSchema(this.pool);
  }

  private token(doc: string): string | null {
    if (!this.fence) return null;
    const f = this.fence(doc);
    if (!f) throw new FencedError(doc);
    return f.token;
  }

  async load(doc: string): Promise<StoredDoc> {
    const r = await this.pool.query<{ id: string; data: Buffer }>('SELECT id, data FROM huddle_updates WHERE project = $1 ORDER BY id', [doc]);
    const info: DocInfo = { records: r.rows.length, bytes: 0, baseBytes: 0, ids: [], sizes: [] };
    const updates: Uint8Array[] = [];
    for (const row of r.rows) {
      info.bytes += row.data.length;
      updates.push(new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength));
      info.ids.push(row.id);
      info.sizes.push(row.data.length);
    }
    info.baseBytes = r.rows[0]?.data.length ?? 0;
    this.docs.set(doc, info);
    const update = updates.length === 0 ? null : updates.length === 1 ? updates[0] : Y.mergeUpdates(updates);
    return { update, records: info.records, bytes: info.bytes };
  }

  private info(doc: string): DocInfo {
    let info = this.docs.get(doc);
    if (!info) {
      info = { records: 0, bytes: 0, baseBytes: 0, ids: [], sizes: [] };
      this.docs.set(doc, info);
    }
    return info;
  }

  async appendDurable(doc: string, updates: Uint8Array[]): Promise<void> {
    // As every store: load first (compaction relies on knowing every row of the document).
    if (!this.docs.has(doc)) throw new Error(`document ${doc} was not loaded`);
    if (updates.length === 0) return;
    const token = this.token(doc);
    const data = updates.map(toBuf);
    const r =
      token === null
        ? await this.pool.query<{ id: string }>('INSERT INTO huddle_updates (project, data) SELECT $1, u FROM unnest($2::bytea[]) AS u RETURNING id', [doc, data])
        : await this.pool.query<{ id: string }>(
            `WITH lease AS (SELECT 1 FROM huddle_leases WHERE project = $1 AND token = $3 FOR SHARE)
             INSERT INTO huddle_updates (project, data) SELECT $1, u FROM lease, unnest($2::bytea[]) AS u RETURNING id`,
            [doc, data, token],
          );
    if (r.rows.length !== updates.length) throw new FencedError(doc);
    const info = this.info(doc);
    r.rows.forEach((row, i) => {
      info.ids.push(row.id);
      info.sizes.push(updates[i].length);
    });
    info.records += updates.length;
    for (const u of updates) info.bytes += u.length;
    if (info.records === updates.length) info.baseBytes = updates[0].length;
  }

  async commit(doc: string, compactTo?: Uint8Array): Promise<void> {
    // Appends are already in the long-term store; only compaction has work to do.
    if (!compactTo) return;
    const token = this.token(doc);
    const info = this.info(doc);
    // The rows `compactTo` contains, taken now: an append that lands while this runs is not in the
    // state, so its row must survive (reading info.ids after the awaits below deleted it).
    const merged = info.ids.slice();
    const mergedSet = new Set(merged);
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      if (token !== null) {
        const lease = await c.query('SELECT 1 FROM huddle_leases WHERE project = $1 AND token = $2 FOR SHARE', [doc, token]);
        if (lease.rowCount !== 1) throw new FencedError(doc);
      }
      await c.query('DELETE FROM huddle_updates WHERE project = $1 AND id = ANY($2::bigint[])', [doc, merged]);
      const ins = await c.query<{ id: string }>('INSERT INTO huddle_updates (project, data) VALUES ($1, $2) RETURNING id', [doc, toBuf(compactTo)]);
      await c.query('COMMIT');
      const keep = info.ids.map((id, i) => i).filter((i) => !mergedSet.has(info.ids[i]));
      const sinceBytes = keep.reduce((sum, i) => sum + info.sizes[i], 0);
      info.ids = [ins.rows[0].id, ...keep.map((i) => info.ids[i])];
      info.sizes = [compactTo.length, ...keep.map((i) => info.sizes[i])];
      info.records = info.ids.length;
      info.bytes = compactTo.length + sinceBytes;
      info.baseBytes = compactTo.length;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  stats(doc: string): StoreStats {
    const info = this.docs.get(doc);
    return { records: info?.records ?? 0, bytes: info?.bytes ?? 0, baseBytes: info?.baseBytes ?? 0 };
  }

  async list(): Promise<string[]> {
    const r = await this.pool.query<{ project: string }>('SELECT DISTINCT project FROM huddle_updates ORDER BY project');
    return r.rows.map((row) => row.project);
  }

  forget(doc: string): void {
    this.docs.delete(doc);
  }

  /** Round-trip time of a trivial query in ms (for /healthz); rejects when the database is unreachable. */
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.pool.query('SELECT 1');
    return performance.now() - t0;
  }

  async close(): Promise<void> {
    this.docs.clear();
    if (this.ownPool) await this.pool.end();
  }
}
