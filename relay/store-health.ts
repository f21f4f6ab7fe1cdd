/**
 * The health of the store a server writes to: whether writes to the persistence succeed
 * (pipeline.ts reports it), and for a networked store (PostgreSQL) whether its database
 * answers. While a remote store is known to be down, writes are refused (close 1013, HTTP
 * 503), not held; /healthz and /metrics report it.
 */
import type { Persistence } from '../src/store/persistence.js';
import type { Logger } from './log.js';
import type { Cluster } from './cluster.js';
import { STORE_UNAVAILABLE } from './room.js';

type Pingable = Persistence & { ping?: () => Promise<number> };

export class StoreHealth {
  /** Whether writes to the persistence succeed. */
  healthy = true;
  /** Database round trip for stores that can ping (PostgreSQL): null = unreachable at the last probe. */
  private pingMs: number | null = 0;
  private timer: NodeJS.Timeout | null = null;
  /**
   * Set while a remote store is known to be down (a probe or a write failed); cleared by the
   * next successful probe. Meanwhile writes are refused (close 1013, HTTP 503), not held.
   */
  private downSince: number | null = null;

  constructor(
    private readonly persistence: Persistence,
    private readonly log: Logger,
  ) {}

  /** Healthy, and (for a networked store) its database answered the last probe. */
  get ok(): boolean {
    return this.healthy && this.pingMs !== null && this.downSince === null;
  }

  /** The `database` part of /healthz: only for a store that is probed. */
  database(): { ok: false; downSince: string | null; writes: 'refused' } | { ok: true; latencyMs: number } | undefined {
    return this.timer
      ? this.downSince !== null || this.pingMs === null
        ? { ok: false, downSince: this.downSince === null ? null : new Date(this.downSince).toISOString(), writes: 'refused' }
        : { ok: true, latencyMs: Math.round(this.pingMs * 10) / 10 }
      : undefined;
  }

  /**
   * Probe a networked store every 2 s (every 0.5 s while it is down), so that /healthz reports
   * an outage even when nothing writes, and writes are taken again as soon as it is back.
   */
  watch(): void {
    const store = this.persistence as Pingable;
    if (typeof store.ping !== 'function') return;
    const probe = () => {
      store.ping!().then(
        (ms) => {
          this.pingMs = ms;
          this.back();
        },
        (err: Error) => {
          this.pingMs = null;
          this.down(err.message);
        },
      ).finally(() => {
        if (this.timer) this.timer = setTimeout(probe, this.downSince === null ? 2000 : 500).unref();
      });
    };
    this.timer = setTimeout(probe, 0).unref();
  }

  /** End the probes. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Ask the database now rather than at the next probe (a lease ended: most often the database went away). */
  recheck(): void {
    (this.persistence as Pingable).ping?.().catch((e: Error) => this.down(e.message));
  }

  /** Why writes are refused now (a remote store is down), or null. */
  writesRefused(): string | null {
    return this.downSince === null ? null : STORE_UNAVAILABLE;
  }

  /** A probe or a write of a remote store failed. */
  down(error: string): void {
    if (!this.persistence.remote || this.downSince !== null) return;
    this.downSince = Date.now();
    this.setHealthy(false);
    this.log.error('the database is unavailable: writes are refused (close 1013, HTTP 503) until it is back', { store: this.persistence.kind, error });
  }

  private back(): void {
    if (this.downSince === null) return;
    const downMs = Date.now() - this.downSince;
    this.downSince = null;
    this.log.info('the database is reachable again: writes are taken', { store: this.persistence.kind, downMs });
    this.setHealthy(true);
  }

  setHealthy(ok: boolean): void {
    if (ok === this.healthy) return;
    this.healthy = ok;
    if (this.persistence.remote) return; // down/back say it
    if (ok) this.log.info('persistence healthy again');
    else this.log.error('persistence failing: updates are held in memory and retried');
  }

  /** Prometheus lines of a node on PostgreSQL: database, leases, forwarding ('' otherwise). */
  metrics(cluster: Cluster | null): string {
    if (!this.persistence.remote) return '';
    const lines: string[] = [];
    const g = (name: string, help: string, v: number, type = 'gauge') => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${v}`);
    g('huddle_database_up', '1 while the database answers the probe.', this.downSince === null && this.pingMs !== null ? 1 : 0);
    g('huddle_database_latency_seconds', 'Round trip of the last database probe.', (this.pingMs ?? 0) / 1000);
    if (cluster) {
      const s = cluster.stats();
      g('huddle_lease_connection_up', '1 while the lease connection to the database is healthy.', s.healthy ? 1 : 0);
      g('huddle_projects_owned', 'Projects whose lease this node holds.', s.owned.length);
      g('huddle_lease_age_seconds_max', 'Age of the oldest lease this node holds.', s.owned.reduce((m, o) => Math.max(m, o.ageMs), 0) / 1000);
      g('huddle_forwarded_connections', 'Client sockets served through another owner node now.', s.forwardedOpen);
      g('huddle_forwarded_connections_total', 'Client sockets forwarded to an owner node.', s.forwardedTotal, 'counter');
      g('huddle_forwarded_requests_total', 'HTTP requests (hooks, API) passed to an owner node.', s.httpForwardedTotal, 'counter');
      g('huddle_lease_takeovers_total', 'Leases this node has taken.', s.takeovers, 'counter');
      g('huddle_lease_errors_total', 'Failures of the lease connection.', s.errors, 'counter');
    }
    return lines.join('\n') + '\n';
  }
}
