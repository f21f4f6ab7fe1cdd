/**
 * Tasks: Y.Map<id, Y.Map<field, value>> so that concurrent edits of different
 * fields merge; versioned as plain records.
 */
import * as Y from 'yjs';
import type { Task } from '../records.js';
import type { RecordKind } from './kind.js';
import { invalidTaskEntry, validTaskFields } from '../schemas.js';

const clean = <T extends object>(o: T): T => {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
};

/** A task's fields as a record, or null when its entry is wrongly typed (ignored and counted, see schemas.ts). */
export function readTask(id: string, m: unknown): Task | null {
  if (!(m instanceof Y.Map)) {
    invalidTaskEntry(id, m);
    return null;
  }
  const o = validTaskFields(id, m.toJSON()) as Omit<Task, 'id'> | null;
  if (!o) return null;
  // A completion is final: claims never write doneAt, and only reopen/handoff clear it. So a
  // completion concurrent with a claim wins on every peer, whatever Yjs picks for `status`.
  const status = o.doneAt !== undefined ? 'done' : o.status;
  return clean({ ...o, id, status, deps: (o.deps as string[]) ?? [], assignee: (o.assignee as Task['assignee']) ?? null }) as Task;
}

export const tasks: RecordKind<Task> = {
  section: 'tasks',
  singular: 'task',
  plural: 'tasks',
  versioned: true,
  timeline: 'task',
  watch: 'task',
  namesSubtype: true,
  volatile: ['updatedAt'],
  read(doc) {
    const out: Record<string, Task> = {};
    for (const [id, m] of doc.getMap<Y.Map<unknown>>('tasks').entries()) {
      const t = readTask(id, m);
      if (t) out[id] = t;
    }
    return out;
  },
  restore(doc, want) {
    const map = doc.getMap<Y.Map<unknown>>('tasks');
    for (const id of Array.from(map.keys())) if (!(id in want)) map.delete(id);
    for (const [id, t] of Object.entries(want)) {
      const cur = map.get(id);
      if (cur && JSON.stringify(readTask(id, cur)) === JSON.stringify(t)) continue;
      const m = new Y.Map<unknown>();
      for (const [k, v] of Object.entries(t)) if (k !== 'id') m.set(k, v);
      map.set(id, m);
    }
  },
};
