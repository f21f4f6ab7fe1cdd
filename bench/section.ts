/** What a benchmark section is: a named, self-contained measurement that returns table rows. */
import type { ResultRow } from './stats.js';

export interface BenchContext {
  /** --quick: fewer samples, shorter windows. */
  quick: boolean;
  /** Progress line on stderr (never stdout, which holds the result). */
  progress(msg: string): void;
}

export interface Section {
  /** Name used by --only, e.g. "fanout". */
  name: string;
  /** Group names that also select it with --only, e.g. "server". */
  groups: string[];
  description: string;
  run(ctx: BenchContext): Promise<ResultRow[]>;
}
