/** Every kind of shared record, in the order versions, diffs and counts list them. */
import type { RecordKind } from './kind.js';
import { decisions } from './decisions.js';
import { interfaces } from './interfaces.js';
import { tasks } from './tasks.js';
import { notes } from './notes.js';
import { messages } from './messages.js';
import { syncs } from './syncs.js';

export { decisions, interfaces, tasks, notes, messages, syncs };
export { ownsTimeline, stable, type RecordKind } from './kind.js';
export { readTask } from './tasks.js';

export const KINDS: readonly RecordKind[] = [decisions, interfaces, tasks, notes, messages, syncs] as RecordKind[];
export const VERSIONED_KINDS: readonly RecordKind[] = KINDS.filter((k) => k.versioned);
