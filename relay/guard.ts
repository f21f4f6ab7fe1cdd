/**
 * Keep one room's bug from ending the process: timers and listeners run
 * through `guarded`, and the serve entry installs process-level handlers that
 * log, count and keep serving (a crash would take every project down, and a
 * stored bad record would do it again on every restart).
 */
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/** Wrap a timer or listener body: an exception is logged and counted, never thrown. */
export function guarded<A extends unknown[]>(log: Logger, metrics: Metrics | undefined, what: string, fn: (...a: A) => void): (...a: A) => void {
  return (...a: A) => {
    try {
      fn(...a);
    } catch (err) {
      if (metrics) metrics.internalErrors++;
      log.error('internal error (ignored, still serving)', { in: what, error: (err as Error)?.message ?? String(err) });
    }
  };
}

/** Process-level last resort for the serve entry. Returns a function that removes the handlers. */
export function installProcessGuards(log: Logger, metrics: Metrics): () => void {
  const onException = (err: unknown) => {
    metrics.uncaughtErrors++;
    log.error('uncaught exception (ignored, still serving)', { error: (err as Error)?.message ?? String(err), stack: (err as Error)?.stack?.split('\n')[1]?.trim() });
  };
  const onRejection = (reason: unknown) => {
    metrics.uncaughtErrors++;
    log.error('unhandled rejection (ignored, still serving)', { error: (reason as Error)?.message ?? String(reason) });
  };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
