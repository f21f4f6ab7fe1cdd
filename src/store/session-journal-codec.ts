/**
 * The journal of sessions a server hosts (see relay/session-journal.ts), as
 * pure data: one JSON record per line, `put` (the whole entry of a session)
 * or `del`. Decoding trusts nothing: a line that does not parse or does not
 * fit the schema (a torn last line after `kill -9`, a hand edit) is skipped
 * and counted, never thrown on.
 */
import { z } from 'zod';

const claim = z.object({
  id: z.string().max(200),
  path: z.string().max(4096),
  mode: z.enum(['exclusive', 'shared']),
  reason: z.string().max(2000).optional(),
  claimedAt: z.number().finite(),
  expiresAt: z.number().finite(),
  capAt: z.number().finite(),
  confirmed: z.boolean(),
});

const text = z.string().max(2000);

export const journalEntrySchema = z.object({
  /** Project (room) the session lives in. */
  p: z.string().min(1).max(128),
  id: z.string().min(1).max(200),
  name: text,
  role: text,
  agent: text,
  host: text,
  pid: z.number().int().nonnegative(),
  cwd: z.string().max(4096),
  branch: text.nullable(),
  task: text.nullable(),
  intent: text.nullable(),
  startedAt: z.number().finite(),
  /** Last sign of life published (presence lastActive). */
  lastActive: z.number().finite(),
  /** Last call the server saw from the session (hosted lastSeen). */
  lastSeen: z.number().finite(),
  locks: z.array(claim).max(1000),
});

export type JournalEntry = z.infer<typeof journalEntrySchema>;

const record = z.discriminatedUnion('op', [
  z.object({ op: z.literal('put'), s: journalEntrySchema }),
  z.object({ op: z.literal('del'), p: z.string().max(128), id: z.string().max(200) }),
]);

export type JournalRecord = z.infer<typeof record>;

export const journalKey = (project: string, id: string): string => `${project}\u0000${id}`;

export function encodeRecord(r: JournalRecord): string {
  return JSON.stringify(r) + '\n';
}

/** Fold journal text into the live entries, last record per session wins. */
export function decodeJournal(textIn: string): { entries: Map<string, JournalEntry>; bad: number } {
  const entries = new Map<string, JournalEntry>();
  let bad = 0;
  for (const line of textIn.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      bad++;
      continue;
    }
    const r = record.safeParse(parsed);
    if (!r.success) {
      bad++;
      continue;
    }
    if (r.data.op === 'put') entries.set(journalKey(r.data.s.p, r.data.s.id), r.data.s);
    else entries.delete(journalKey(r.data.p, r.data.id));
  }
  return { entries, bad };
}

/** Whether a journaled session is still worth restoring at `now` (mirrors the hosted sweep). */
export function restorable(e: JournalEntry, now: number, removeAfterMs: number): boolean {
  if (now - e.lastSeen <= removeAfterMs) return true;
  // A person's session keeps deliberate locks while they last.
  return e.agent === 'human' && e.locks.some((c) => c.expiresAt > now && c.capAt > now);
}
