/**
 * The records of the shared context (decisions, interfaces, messages, tasks,
 * notes, timeline events, versions, forced releases) and its error: plain
 * types, no Yjs. src/model/context.ts re-exports them.
 */
import type { InterfaceStatus, MessageKind, TaskStatus } from './enums.js';

export interface Actor {
  /** Session id. */
  id: string;
  name: string;
  role: string;
}

export interface Authored {
  by: string;
  byName: string;
  at: number;
}

export interface Decision extends Authored {
  id: string;
  text: string;
  rationale?: string;
  supersedes?: string;
  /** Derived: the decision that replaced this one. */
  supersededBy?: string;
}

export interface InterfaceDecl extends Authored {
  name: string;
  file: string;
  description?: string;
  /** Session id of the owner (the declaring session unless given). */
  owner: string;
  ownerName: string;
  status: InterfaceStatus;
}

export interface Message extends Authored {
  id: string;
  /** A session id, `role:NAME`, or `all`. */
  to: string;
  kind: MessageKind;
  text: string;
  replyTo?: string;
  needsReply: boolean;
  /** Present on handoff messages. */
  taskId?: string;
  files?: string[];
}

export interface Task {
  id: string;
  title: string;
  detail?: string;
  role?: string;
  status: TaskStatus;
  assignee: { id: string; name: string; at: number } | null;
  deps: string[];
  createdAt: number;
  updatedAt: number;
  by: string;
  byName: string;
  doneAt?: number;
  blockedReason?: string;
  lastNote?: string;
  orphaned?: { from: string; fromName: string; at: number; lastNote?: string };
  handoff?: { from: string; fromName: string; to: string; summary: string; files: string[]; at: number };
}

export interface Note extends Authored {
  key: string;
  value: string;
}

export interface TimelineEvent {
  at: number;
  type: string;
  actor: string;
  actorName: string;
  summary: string;
  ref?: string;
  /** Compact facts of activity events (durations, paths, who): read through guards (src/model/report.ts). */
  data?: TimelineData;
}

export type TimelineData = Record<string, string | number | boolean | string[]>;

export interface Version extends Authored {
  id: string;
  name?: string;
  summary: string;
  auto: boolean;
  /** JSON of the versioned content (decisions, interfaces, tasks, notes). */
  content: string;
}

export interface ForcedRelease extends Authored {
  claimId: string;
  holder: string;
  holderName: string;
  path: string;
  reason?: string;
}

export interface ContextOptions {
  /** Timeline entries kept. Default 1000. */
  timelineMax?: number;
  /** Versions kept. Default 20. */
  versionsMax?: number;
  /** Messages kept (oldest dropped). Default 2000. */
  messagesMax?: number;
}

export class ContextError extends Error {
  constructor(message: string, readonly code: 'not-found' | 'ambiguous' | 'invalid' | 'conflict' = 'invalid') {
    super(message);
  }
}

export type VersionedContent = {
  decisions: Record<string, Decision>;
  interfaces: Record<string, InterfaceDecl>;
  tasks: Record<string, Task>;
  notes: Record<string, Note>;
};

export interface VersionDiff {
  from: string;
  to: string;
  changes: Array<{ section: keyof VersionedContent; key: string; change: 'added' | 'removed' | 'changed'; before?: unknown; after?: unknown }>;
}

/** `o` without its undefined keys (Yjs stores no undefined). */
export const clean = <T extends object>(o: T): T => {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
};
