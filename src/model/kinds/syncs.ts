/**
 * Sync points: Y.Map<name, Y.Map<field, value>>. Each participant's arrival is
 * its own key (`done:<participant>`, `drop:<participant>`), so participants
 * that arrive at once on different peers merge. Not versioned: a rollback
 * never un-arrives anyone. Read through guards: a wrongly typed entry is
 * skipped (and counted), never thrown on.
 */
import * as Y from 'yjs';
import type { RecordKind } from './kind.js';

export interface SyncParticipant {
  /** A session id or name, or a task id for task participants. */
  id: string;
  name: string;
  kind: 'session' | 'task';
}

export interface SyncArrival {
  summary: string;
  files: string[];
  at: number;
  by: string;
  byName: string;
}

export interface SyncDrop {
  at: number;
  by: string;
  byName: string;
  reason?: string;
}

export interface SyncRecord {
  name: string;
  by: string;
  byName: string;
  createdAt: number;
  participants: SyncParticipant[];
  /** Title of the follow-up task (default "integrate NAME"). */
  then?: string;
  /** Role of the follow-up task. */
  role?: string;
  /** Also told when the sync point completes (a session, role:NAME or all). */
  notify?: string;
  done: Record<string, SyncArrival>;
  dropped: Record<string, SyncDrop>;
  followUp?: string;
  completedAt?: number;
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

function participant(v: unknown): SyncParticipant | null {
  const o = obj(v);
  if (!o || !isStr(o.id) || !isStr(o.name) || (o.kind !== 'session' && o.kind !== 'task')) return null;
  return { id: o.id, name: o.name, kind: o.kind };
}

function arrival(v: unknown): SyncArrival | null {
  const o = obj(v);
  if (!o || !isStr(o.summary) || !isNum(o.at) || !isStr(o.by) || !isStr(o.byName)) return null;
  const files = Array.isArray(o.files) ? o.files.filter(isStr).slice(0, 200) : [];
  return { summary: o.summary, files, at: o.at, by: o.by, byName: o.byName };
}

function drop(v: unknown): SyncDrop | null {
  const o = obj(v);
  if (!o || !isNum(o.at) || !isStr(o.by) || !isStr(o.byName)) return null;
  return { at: o.at, by: o.by, byName: o.byName, ...(isStr(o.reason) ? { reason: o.reason } : {}) };
}

/** A sync point's fields as a record, or null when its required fields are not what they must be. */
export function readSync(name: string, m: unknown): SyncRecord | null {
  if (!(m instanceof Y.Map)) return null;
  const o = m.toJSON() as Record<string, unknown>;
  if (!isStr(o.by) || !isStr(o.byName) || !isNum(o.createdAt) || !Array.isArray(o.participants)) return null;
  const participants = o.participants.map(participant).filter((p): p is SyncParticipant => p !== null).slice(0, 100);
  const done: Record<string, SyncArrival> = {};
  const dropped: Record<string, SyncDrop> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('done:')) {
      const a = arrival(v);
      if (a) done[k.slice(5)] = a;
    } else if (k.startsWith('drop:')) {
      const d = drop(v);
      if (d) dropped[k.slice(5)] = d;
    }
  }
  return {
    name,
    by: o.by,
    byName: o.byName,
    createdAt: o.createdAt,
    participants,
    ...(isStr(o.then) ? { then: o.then } : {}),
    ...(isStr(o.role) ? { role: o.role } : {}),
    ...(isStr(o.notify) ? { notify: o.notify } : {}),
    done,
    dropped,
    ...(isStr(o.followUp) ? { followUp: o.followUp } : {}),
    ...(isNum(o.completedAt) ? { completedAt: o.completedAt } : {}),
  };
}

/** Every readable sync point, and how many entries were skipped as malformed. */
export function readSyncs(doc: Y.Doc): { syncs: SyncRecord[]; ignored: number } {
  const syncs: SyncRecord[] = [];
  let ignored = 0;
  for (const [name, m] of doc.getMap<unknown>('syncs').entries()) {
    const r = readSync(name, m);
    if (r) syncs.push(r);
    else ignored++;
  }
  syncs.sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
  return { syncs, ignored };
}

export const syncs: RecordKind<SyncRecord> = {
  section: 'syncs',
  singular: 'sync point',
  plural: 'sync points',
  versioned: false,
  timeline: 'sync',
  watch: 'sync',
  namesSubtype: true,
  read(doc) {
    return Object.fromEntries(readSyncs(doc).syncs.map((s) => [s.name, s]));
  },
  restore(doc, want) {
    const map = doc.getMap<unknown>('syncs');
    for (const k of Array.from(map.keys())) if (!(k in want)) map.delete(k);
    for (const [name, s] of Object.entries(want)) {
      const m = new Y.Map<unknown>();
      const { done, dropped, name: _n, ...fields } = s;
      for (const [k, v] of Object.entries(fields)) m.set(k, v);
      for (const [p, a] of Object.entries(done)) m.set(`done:${p}`, a);
      for (const [p, d] of Object.entries(dropped)) m.set(`drop:${p}`, d);
      map.set(name, m);
    }
  },
};
