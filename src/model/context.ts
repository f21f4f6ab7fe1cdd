/**
 * The shared context as a Yjs document: decisions, declared interfaces,
 * messages with read markers, tasks, notes, a bounded timeline, versions with
 * diff and rollback, and forced lock releases.
 *
 * Pure Yjs: no sockets, no files, no timers. Embedded peers and the server's
 * HTTP API both call this, so a write means the same thing from everywhere.
 * The record types are in records.ts, the tasks' operations in task-board.ts,
 * versions, diff and rollback in version-history.ts; this class holds the
 * document's parts and the rest (decisions, interfaces, messages, notes,
 * forced releases, the timeline).
 *
 * Layout (top-level types of the Y.Doc):
 *   decisions   Y.Map<id, Decision>
 *   interfaces  Y.Map<name, InterfaceDecl>
 *   messages    Y.Map<id, Message>
 *   reads       Y.Map<"reader\0messageId", time>   (flat, so concurrent readers never clash)
 *   tasks       Y.Map<id, Y.Map<field, value>>      (fields merge independently)
 *   notes       Y.Map<key, Note>
 *   timeline    Y.Array<TimelineEvent>              (bounded)
 *   versions    Y.Array<Version>                    (bounded)
 *   forced      Y.Map<lockClaimId, ForcedRelease>
 */
import * as Y from 'yjs';
import { matchesRef, newId } from './ids.js';
import { INTERFACE_STATUSES, MESSAGE_KINDS, TASK_STATUSES, type InterfaceStatus, type MessageKind, type TaskStatus } from './enums.js';

export { INTERFACE_STATUSES, MESSAGE_KINDS, TASK_STATUSES, type InterfaceStatus, type MessageKind, type TaskStatus };
import { validEntries, validGet, validItems } from './schemas.js';
import { TaskBoard } from './task-board.js';
import { VersionHistory } from './version-history.js';
import { ContextError, clean, type Actor, type Authored, type ContextOptions, type Decision, type ForcedRelease, type InterfaceDecl, type Message, type Note, type Task, type TimelineData, type TimelineEvent, type Version, type VersionDiff } from './records.js';

export { ContextError };
export type { Actor, Authored, ContextOptions, Decision, ForcedRelease, InterfaceDecl, Message, Note, Task, TimelineData, TimelineEvent, Version, VersionDiff, VersionedContent } from './records.js';

export class SharedContext {
  readonly decisionsMap: Y.Map<Decision>;
  readonly interfacesMap: Y.Map<InterfaceDecl>;
  readonly messagesMap: Y.Map<Message>;
  readonly readsMap: Y.Map<number>;
  readonly tasksMap: Y.Map<Y.Map<unknown>>;
  readonly notesMap: Y.Map<Note>;
  readonly timelineArr: Y.Array<TimelineEvent>;
  readonly versionsArr: Y.Array<Version>;
  readonly forcedMap: Y.Map<ForcedRelease>;
  readonly opts: Required<ContextOptions>;
  /** The tasks' operations (src/model/task-board.ts). */
  readonly board: TaskBoard;
  /** Versions, diff and rollback (src/model/version-history.ts). */
  readonly history: VersionHistory;

  constructor(readonly doc: Y.Doc, opts: ContextOptions = {}) {
    this.decisionsMap = doc.getMap('decisions');
    this.interfacesMap = doc.getMap('interfaces');
    this.messagesMap = doc.getMap('messages');
    this.readsMap = doc.getMap('reads');
    this.tasksMap = doc.getMap('tasks');
    this.notesMap = doc.getMap('notes');
    this.timelineArr = doc.getArray('timeline');
    this.versionsArr = doc.getArray('versions');
    this.forcedMap = doc.getMap('forced');
    this.opts = { timelineMax: opts.timelineMax ?? 1000, versionsMax: opts.versionsMax ?? 20, messagesMax: opts.messagesMax ?? 2000 };
    this.board = new TaskBoard(this);
    this.history = new VersionHistory(this);
  }

  private authored(actor: Actor, now = Date.now()): Authored {
    return { by: actor.id, byName: actor.name, at: now };
  }

  /** Append to the timeline (inside the caller's transaction), trimming the oldest past the bound. */
  record(actor: Actor, type: string, summary: string, ref?: string, now = Date.now(), data?: TimelineData): void {
    this.doc.transact(() => {
      this.timelineArr.push([clean({ at: now, type, actor: actor.id, actorName: actor.name, summary: wellFormed(summary.slice(0, /[\ud800-\udbff]/.test(summary.charAt(299)) ? 299 : 300)), ref, data })]);
      const over = this.timelineArr.length - this.opts.timelineMax;
      // Trim in chunks so that concurrent writers rarely trim the same range twice.
      if (over > Math.max(10, this.opts.timelineMax / 10)) this.timelineArr.delete(0, over);
    });
  }

  timeline(opts: { since?: number; limit?: number; types?: string[] } = {}): TimelineEvent[] {
    let ev = validItems('timeline', this.timelineArr.toArray());
    if (opts.since !== undefined) ev = ev.filter((e) => e.at >= opts.since!);
    if (opts.types) ev = ev.filter((e) => opts.types!.some((t) => e.type === t || e.type.startsWith(t + '.')));
    ev.sort((a, b) => a.at - b.at);
    if (opts.limit !== undefined) ev = ev.slice(-opts.limit);
    return ev;
  }

  // ---- decisions ----------------------------------------------------------

  decide(actor: Actor, input: { text: string; rationale?: string; supersedes?: string }): Decision {
    const text = input.text?.trim();
    if (!text) throw new ContextError('a decision needs text');
    const supersedes = input.supersedes ? this.resolveId(this.decisionsMap, input.supersedes, 'decision') : undefined;
    const d: Decision = clean({ id: newId('d'), text, rationale: input.rationale?.trim() || undefined, supersedes, ...this.authored(actor) });
    this.doc.transact(() => {
      this.decisionsMap.set(d.id, d);
      this.record(actor, 'decision', text + (supersedes ? ` (supersedes ${supersedes})` : ''), d.id);
    });
    return d;
  }

  decisions(opts: { includeSuperseded?: boolean } = {}): Decision[] {
    // Sorted before deriving supersededBy, so that every peer derives the same one.
    const all = validEntries('decision', this.decisionsMap.entries()).map((d) => ({ ...d })).sort(byTimeThenId);
    const byId = new Map(all.map((d) => [d.id, d]));
    for (const d of all) if (d.supersedes && byId.has(d.supersedes)) byId.get(d.supersedes)!.supersededBy = d.id;
    const list = opts.includeSuperseded === false ? all.filter((d) => !d.supersededBy) : all;
    return list.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  }

  // ---- interfaces ---------------------------------------------------------

  declare(actor: Actor, input: { name: string; file: string; description?: string; status?: InterfaceStatus; owner?: { id: string; name: string } }): InterfaceDecl {
    const name = input.name?.trim();
    if (!name) throw new ContextError('an interface needs a name');
    if (!input.file?.trim()) throw new ContextError('an interface needs a file');
    const status = input.status ?? 'draft';
    if (!INTERFACE_STATUSES.includes(status)) throw new ContextError(`status must be one of ${INTERFACE_STATUSES.join(', ')}`);
    const prev = validGet('interface', this.interfacesMap.get(name), name);
    const decl: InterfaceDecl = clean({
      name,
      file: input.file.trim(),
      description: input.description?.trim() || prev?.description,
      owner: input.owner?.id ?? prev?.owner ?? actor.id,
      ownerName: input.owner?.name ?? prev?.ownerName ?? actor.name,
      // Re-declaring a ready interface with a different file or description marks it changed.
      status: input.status ?? (prev && prev.status !== 'draft' ? 'changed' : status),
      ...this.authored(actor),
    });
    this.doc.transact(() => {
      this.interfacesMap.set(name, decl);
      this.record(actor, 'interface', `${name} (${decl.status}) in ${decl.file}`, name);
    });
    return decl;
  }

  interfaces(): InterfaceDecl[] {
    return validEntries('interface', this.interfacesMap.entries()).sort((a, b) => a.name.localeCompare(b.name));
  }

  // ---- messages -----------------------------------------------------------

  send(actor: Actor, input: { to: string; text: string; kind?: MessageKind; replyTo?: string; needsReply?: boolean; taskId?: string; files?: string[] }): Message {
    const text = input.text?.trim();
    if (!text) throw new ContextError('a message needs text');
    const to = input.to?.trim();
    if (!to) throw new ContextError('a message needs a recipient: a session, role:NAME, or all');
    if (to.startsWith('role:') && to.length === 5) throw new ContextError('role: needs a role name, e.g. role:frontend');
    const kind = input.kind ?? (input.replyTo ? 'response' : 'fyi');
    if (!MESSAGE_KINDS.includes(kind)) throw new ContextError(`kind must be one of ${MESSAGE_KINDS.join(', ')}`);
    const replyTo = input.replyTo ? this.resolveId(this.messagesMap, input.replyTo, 'message') : undefined;
    const m: Message = clean({
      id: newId('m'),
      to,
      kind,
      text,
      replyTo,
      needsReply: input.needsReply ?? (kind === 'request' || kind === 'need-input'),
      taskId: input.taskId,
      files: input.files,
      ...this.authored(actor),
    });
    this.doc.transact(() => {
      this.messagesMap.set(m.id, m);
      this.record(actor, 'message', `${kind} to ${to}: ${text}`, m.id);
      if (this.messagesMap.size > this.opts.messagesMax * 1.1) {
        // Wrongly typed entries have no time: they go first.
        const good = new Set<string>();
        for (const [k, v] of this.messagesMap.entries()) if (validGet('message', v, k)) good.add(k);
        for (const k of Array.from(this.messagesMap.keys())) if (!good.has(k)) this.messagesMap.delete(k);
        const old = this.allMessages().sort(byTimeThenId).slice(0, Math.max(0, this.messagesMap.size - this.opts.messagesMax));
        for (const o of old) this.messagesMap.delete(o.id);
      }
    });
    return m;
  }

  /** Whether a message is addressed to this reader (never their own). */
  static addressedTo(m: Message, reader: { id: string; role?: string; name?: string }): boolean {
    if (m.by === reader.id) return false;
    if (m.to === 'all') return true;
    if (m.to === reader.id || (reader.name && m.to === reader.name)) return true;
    return !!reader.role && m.to === `role:${reader.role}`;
  }

  isRead(readerId: string, messageId: string): boolean {
    return this.readsMap.has(`${readerId}\u0000${messageId}`);
  }

  /** Messages for a reader, oldest first; unread only unless `all`. */
  inbox(reader: { id: string; role?: string; name?: string }, opts: { all?: boolean } = {}): Array<Message & { read: boolean; answered: boolean }> {
    const answered = new Set<string>();
    const all = this.allMessages();
    for (const m of all) if (m.replyTo) answered.add(m.replyTo);
    return all
      .filter((m) => SharedContext.addressedTo(m, reader))
      .map((m) => ({ ...m, read: this.isRead(reader.id, m.id), answered: answered.has(m.id) }))
      .filter((m) => opts.all || !m.read)
      .sort(byTimeThenId);
  }

  markRead(readerId: string, ids: string[], now = Date.now()): void {
    if (ids.length === 0) return;
    this.doc.transact(() => {
      for (const id of ids) if (!this.isRead(readerId, id)) this.readsMap.set(`${readerId}\u0000${id}`, now);
    });
  }

  /** Requests that still wait for an answer (needsReply and no reply yet). */
  openRequests(): Message[] {
    const answered = new Set<string>();
    const all = this.allMessages();
    for (const m of all) if (m.replyTo) answered.add(m.replyTo);
    return all.filter((m) => m.needsReply && !answered.has(m.id)).sort(byTimeThenId);
  }

  messages(): Message[] {
    return this.allMessages().sort(byTimeThenId);
  }

  /** Well-formed messages, unsorted. */
  private allMessages(): Message[] {
    return validEntries('message', this.messagesMap.entries());
  }

  // ---- tasks (src/model/task-board.ts) ------------------------------------

  addTask(actor: Actor, input: { title: string; detail?: string; role?: string; deps?: string[] }): Task {
    return this.board.addTask(actor, input);
  }

  task(idOrPrefix: string): Task {
    return this.board.task(idOrPrefix);
  }

  tasks(filter: { status?: TaskStatus | TaskStatus[]; role?: string; assignee?: string } = {}): Task[] {
    return this.board.tasks(filter);
  }

  /** Dependencies of a task that are not done yet. */
  pendingDeps(t: Task): string[] {
    return this.board.pendingDeps(t);
  }

  /** A claim; a task another session holds needs `take` (that session is told). See TaskBoard.claimTask. */
  claimTask(actor: Actor, idOrPrefix: string, opts: { take?: boolean } = {}): Task {
    return this.board.claimTask(actor, idOrPrefix, opts);
  }

  completeTask(actor: Actor, idOrPrefix: string, note?: string): Task {
    return this.board.completeTask(actor, idOrPrefix, note);
  }

  blockTask(actor: Actor, idOrPrefix: string, reason: string): Task {
    return this.board.blockTask(actor, idOrPrefix, reason);
  }

  reopenTask(actor: Actor, idOrPrefix: string): Task {
    return this.board.reopenTask(actor, idOrPrefix);
  }

  noteTask(actor: Actor, idOrPrefix: string, note: string): Task {
    return this.board.noteTask(actor, idOrPrefix, note);
  }

  handoff(actor: Actor, idOrPrefix: string, input: { to: string; summary: string; files?: string[] }): { task: Task; message: Message } {
    return this.board.handoff(actor, idOrPrefix, input);
  }

  /** Return a dead session's claimed tasks to open, marked orphaned. Returns the tasks changed. */
  orphanTasksOf(actor: Actor, session: { id: string; name: string; lastNote?: string }): Task[] {
    return this.board.orphanTasksOf(actor, session);
  }

  // ---- notes --------------------------------------------------------------

  setNote(actor: Actor, key: string, value: string): Note {
    const k = key?.trim();
    if (!k) throw new ContextError('a note needs a key');
    const n: Note = { key: k, value, ...this.authored(actor) };
    this.doc.transact(() => {
      this.notesMap.set(k, n);
      this.record(actor, 'note', `${k} = ${value}`, k);
    });
    return n;
  }

  getNote(key: string): Note | undefined {
    return validGet('note', this.notesMap.get(key), key);
  }

  deleteNote(actor: Actor, key: string): boolean {
    if (!this.notesMap.has(key)) return false;
    this.doc.transact(() => {
      this.notesMap.delete(key);
      this.record(actor, 'note.deleted', key, key);
    });
    return true;
  }

  notes(): Note[] {
    return validEntries('note', this.notesMap.entries()).sort((a, b) => a.key.localeCompare(b.key));
  }

  // ---- forced lock releases ------------------------------------------------

  forceRelease(actor: Actor, claim: { id: string; session: string; sessionName: string; path: string }, reason?: string): ForcedRelease {
    const f: ForcedRelease = clean({ claimId: claim.id, holder: claim.session, holderName: claim.sessionName, path: claim.path, reason: reason?.trim() || undefined, ...this.authored(actor) });
    this.doc.transact(() => {
      this.forcedMap.set(claim.id, f);
      this.record(actor, 'lock.forced', `${claim.path} from ${claim.sessionName}${f.reason ? `: ${f.reason}` : ''}`, claim.id);
      // Forced entries matter only while a claim can live; drop ones older than any lock's cap.
      const cutoff = Date.now() - 9 * 60 * 60_000;
      for (const [k, v] of this.forcedMap.entries()) if ((validGet('forced', v, k)?.at ?? Infinity) < cutoff) this.forcedMap.delete(k);
    });
    return f;
  }

  isForced(claimId: string): boolean {
    return validGet('forced', this.forcedMap.get(claimId), claimId) !== undefined;
  }

  // ---- versions (src/model/version-history.ts) ----------------------------

  /** Save the current content as a version. Keeps at most `versionsMax`, dropping the oldest. */
  snapshot(actor: Actor, input: { name?: string; summary?: string; auto?: boolean } = {}): Version {
    return this.history.snapshot(actor, input);
  }

  versions(): Array<Omit<Version, 'content'>> {
    return this.history.versions();
  }

  /** Differences from version `from` to version `to` (`current` for the live content). */
  diff(from: string, to = 'current'): VersionDiff {
    return this.history.diff(from, to);
  }

  /** Restore a version's content as a new change (the current content is saved first). */
  rollback(actor: Actor, ref: string): { version: Omit<Version, 'content'>; changes: number } {
    return this.history.rollback(actor, ref);
  }

  // ---- ids ----------------------------------------------------------------

  /** Resolve a full id, or a unique prefix of it or of its random part (as shown by shortId). */
  resolveId<T>(map: Y.Map<T>, ref: string, what: string): string {
    const r = ref?.trim();
    if (!r) throw new ContextError(`no ${what} given`);
    if (map.has(r)) return r;
    const hits: string[] = [];
    for (const id of map.keys()) if (matchesRef(id, r)) hits.push(id);
    if (hits.length === 0) throw new ContextError(`no ${what} ${r}`, 'not-found');
    if (hits.length > 1) throw new ContextError(`${what} ${r} is ambiguous (${hits.length} match)`, 'ambiguous');
    return hits[0];
  }
}

function byTimeThenId<T extends { at: number; id: string }>(a: T, b: T): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Replace lone surrogates, which would decode differently on each peer. */
export function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
