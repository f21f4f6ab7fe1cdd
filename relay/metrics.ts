/** Counters and gauges of one server, rendered as Prometheus text. */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { invalidRecordCounts } from '../src/model/schemas.js';

export class Metrics {
  connectionsTotal = 0;
  updatesIn = 0;
  updatesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  awarenessIn = 0;
  protocolErrors = 0;
  persistenceErrors = 0;
  /** Writes refused (connection closed 1013, HTTP 503) while a remote store was unavailable. */
  writesRefused = 0;
  rejectedAuth = 0;
  slowReadersDropped = 0;
  compactions = 0;
  docsLoaded = 0;
  docsUnloaded = 0;
  leveldbCommits = 0;
  leveldbSeconds = 0;
  /** Exceptions caught in timers and listeners (guard.ts). */
  internalErrors = 0;
  /** Exceptions and rejections caught at process level (serve entry). */
  uncaughtErrors = 0;
  /** Connections closed for too many Yjs updates with missing dependencies. */
  pendingOverflows = 0;
  awarenessThrottled = 0;
  /** Awareness frames merged into a later broadcast instead of sent alone. */
  awarenessCoalesced = 0;
  /** Server-sent event readers dropped for not reading. */
  slowEventReadersDropped = 0;
  /** Event-loop delay, sampled every 10 ms (a stalled loop shows here). */
  private loopDelay: IntervalHistogram | null = null;

  /** Start sampling event-loop delay (servers only; tests of pure parts never start it). */
  monitorLoop(): void {
    if (this.loopDelay) return;
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
  }

  stopMonitoring(): void {
    this.loopDelay?.disable();
  }
  /**
   * Latency of appends to the persistence (the write-ahead log write that makes an update
   * durable), as a small histogram. Exported as huddle_persistence_commit_seconds, the name
   * it has always had; LevelDB group commits are the leveldb_commit counters.
   */
  appendSeconds = { sum: 0, count: 0, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5], counts: new Array(9).fill(0) as number[] };

  observeAppend(seconds: number): void {
    const h = this.appendSeconds;
    h.sum += seconds;
    h.count++;
    let i = h.buckets.findIndex((b) => seconds <= b);
    if (i < 0) i = h.buckets.length;
    h.counts[i]++;
  }

  render(gauges: { connections: number; documents: number; persistenceHealthy: boolean; uptimeSeconds: number }): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, v: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${v}`);
    const gauge = (name: string, help: string, v: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${v}`);
    gauge('huddle_connections', 'Open WebSocket connections.', gauges.connections);
    gauge('huddle_documents_loaded', 'Documents held in memory.', gauges.documents);
    gauge('huddle_persistence_healthy', '1 while writes to the persistence succeed.', gauges.persistenceHealthy ? 1 : 0);
    gauge('huddle_uptime_seconds', 'Seconds since the server started.', gauges.uptimeSeconds);
    counter('huddle_connections_total', 'Connections accepted.', this.connectionsTotal);
    counter('huddle_updates_in_total', 'Document update messages received.', this.updatesIn);
    counter('huddle_updates_out_total', 'Document update messages sent.', this.updatesOut);
    counter('huddle_bytes_in_total', 'Bytes received in WebSocket messages.', this.bytesIn);
    counter('huddle_bytes_out_total', 'Bytes sent in WebSocket messages.', this.bytesOut);
    counter('huddle_awareness_in_total', 'Awareness messages received.', this.awarenessIn);
    counter('huddle_protocol_errors_total', 'Connections closed for bad input.', this.protocolErrors);
    counter('huddle_persistence_errors_total', 'Failed appends and commits to the persistence.', this.persistenceErrors);
    counter('huddle_writes_refused_total', 'Writes refused (close 1013 / HTTP 503) while the database was unavailable.', this.writesRefused);
    counter('huddle_auth_rejected_total', 'Connections refused for a missing or wrong token.', this.rejectedAuth);
    counter('huddle_slow_readers_dropped_total', 'Connections dropped for an oversized send buffer.', this.slowReadersDropped);
    counter('huddle_compactions_total', 'Update logs compacted.', this.compactions);
    counter('huddle_documents_loaded_total', 'Documents loaded from the persistence.', this.docsLoaded);
    counter('huddle_documents_unloaded_total', 'Documents unloaded after going idle.', this.docsUnloaded);
    counter('huddle_leveldb_commits_total', 'Background group commits to the long-term store.', this.leveldbCommits);
    counter('huddle_leveldb_commit_seconds_total', 'Time spent in group commits to the long-term store.', this.leveldbSeconds);
    counter('huddle_internal_errors_total', 'Exceptions caught in timers and listeners (the server kept serving).', this.internalErrors);
    counter('huddle_uncaught_errors_total', 'Uncaught exceptions and rejections caught at process level (the server kept serving).', this.uncaughtErrors);
    counter('huddle_awareness_throttled_total', 'Awareness frames dropped over a connection\'s budget (the last one closes it).', this.awarenessThrottled);
    counter('huddle_pending_overflows_total', 'Connections closed for too many updates with missing dependencies.', this.pendingOverflows);
    counter('huddle_awareness_coalesced_total', 'Awareness changes merged into a later broadcast.', this.awarenessCoalesced);
    counter('huddle_slow_event_readers_dropped_total', 'Server-sent event streams closed for not reading.', this.slowEventReadersDropped);
    lines.push('# HELP huddle_invalid_records_total Wrongly typed records and presence states ignored, by kind.', '# TYPE huddle_invalid_records_total counter');
    for (const [kind, n] of invalidRecordCounts()) lines.push(`huddle_invalid_records_total{kind="${kind}"} ${n}`);
    if (this.loopDelay) {
      gauge('huddle_event_loop_delay_max_seconds', 'Longest event-loop delay seen since start.', this.loopDelay.max / 1e9);
      gauge('huddle_event_loop_delay_p99_seconds', '99th percentile of event-loop delay since start.', this.loopDelay.percentile(99) / 1e9);
    }
    const h = this.appendSeconds;
    lines.push('# HELP huddle_persistence_commit_seconds Write-ahead log write latency (what makes an update durable).', '# TYPE huddle_persistence_commit_seconds histogram');
    let cum = 0;
    h.buckets.forEach((b, i) => {
      cum += h.counts[i];
      lines.push(`huddle_persistence_commit_seconds_bucket{le="${b}"} ${cum}`);
    });
    cum += h.counts[h.buckets.length];
    lines.push(`huddle_persistence_commit_seconds_bucket{le="+Inf"} ${cum}`);
    lines.push(`huddle_persistence_commit_seconds_sum ${h.sum}`, `huddle_persistence_commit_seconds_count ${h.count}`);
    return lines.join('\n') + '\n';
  }
}
