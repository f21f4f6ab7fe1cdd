/**
 * A kind of shared record (decisions, interfaces, tasks, notes, messages): where
 * it lives in the document and what versions, diff, rollback and watch events
 * need to know about it. SharedContext and the watch stream iterate over the
 * kinds instead of naming each one, so a new kind is one module in this folder.
 */
import type * as Y from 'yjs';
import { validGet } from '../schemas.js';

/** The schema of each plain-map section. */
const SCHEMA_OF: Record<string, 'decision' | 'interface' | 'message' | 'note'> = { decisions: 'decision', interfaces: 'interface', messages: 'message', notes: 'note' };

export interface RecordKind<T = unknown> {
  /** Top-level Y.Map of the document, and the section name in versions and diffs. */
  readonly section: string;
  /** For people: "1 decision", "3 decisions". */
  readonly singular: string;
  readonly plural: string;
  /** Part of saved versions (diff and rollback cover it). */
  readonly versioned: boolean;
  /** Timeline entries of this kind: `type` equal to this or starting with it and a dot. */
  readonly timeline: string;
  /** The watch event type its timeline entries become. */
  readonly watch: string;
  /** Whether the timeline subtype is named in watch lines (`task claimed: ...`). */
  readonly namesSubtype?: boolean;
  /** Fields that change without the record changing (ignored by diff). */
  readonly volatile?: readonly string[];
  /** Every record as plain JSON, by key. */
  read(doc: Y.Doc): Record<string, T>;
  /** Make the live records equal `want` (inside the caller's transaction). */
  restore(doc: Y.Doc, want: Record<string, T>): void;
}

/** read/restore of a kind stored as a Y.Map of plain JSON values. */
export function plainMap<T>(section: string): Pick<RecordKind<T>, 'read' | 'restore'> {
  return {
    // Only well-formed records (schemas.ts): anyone with write access can put anything here.
    read: (doc) => {
      const out: Record<string, T> = {};
      const kind = SCHEMA_OF[section];
      for (const [k, v] of doc.getMap<T>(section).entries()) if (!kind || validGet(kind, v, k)) out[k] = v;
      return out;
    },
    restore: (doc, want) => {
      const map = doc.getMap<T>(section);
      for (const k of Array.from(map.keys())) if (!(k in want)) map.delete(k);
      for (const [k, v] of Object.entries(want)) if (JSON.stringify(map.get(k)) !== JSON.stringify(v)) map.set(k, v);
    },
  };
}

/** Whether a timeline entry type belongs to a kind. */
export function ownsTimeline(kind: RecordKind, type: string): boolean {
  return type === kind.timeline || type.startsWith(kind.timeline + '.');
}

/** A record without the kind's volatile fields, for comparison. */
export function stable(kind: RecordKind, v: unknown): unknown {
  if (!kind.volatile?.length || !v || typeof v !== 'object') return v;
  const out = { ...(v as Record<string, unknown>) };
  for (const f of kind.volatile) delete out[f];
  return out;
}
