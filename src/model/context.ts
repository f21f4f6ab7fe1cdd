/**
 * The shared context as a Yjs document: decisions, declared interfaces,
 * messages with read markers, tasks, notes, a bounded timeline, versions with
 * diff and rollback, and forced lock releases.
 *
 * Pure Yjs: no sockets, no files, no timers. Embedded peers and the server's
 * HTTP API both call this, so a write means the same thing from everywhere.
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
import { matchesRef, newId, shortId } from './ids.js';
import { VERSIONED_KINDS, readTask, stable } from './kinds/index.js';
import { INTERFACE_STATUSES, MESSAGE_KINDS, TASK_STATUSES, type InterfaceStatus, type MessageKind, type TaskStatus } from './enums.js';

export { INTERFACE_STATUSES, MESSAGE_KINDS, TASK_STATUSES, type InterfaceStatus, type MessageKind, type TaskStatus };
import { validEntries, validGet, validItems } from './schemas.js';

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

type VersionedContent = {
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

const clean = <T extends object>(o: T): T => {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
};

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

  // ---- tasks --------------------------------------------------------------

  /** A task, or null when its entry is wrongly typed (ignored and counted, see schemas.ts). */
  private readTask(id: string, m: unknown): Task | null {
    return readTask(id, m);
  }

  addTask(actor: Actor, input: { title: string; detail?: string; role?: string; deps?: string[] }): Task {
    const title = input.title?.trim();
    if (!title) throw new ContextError('a task needs a title');
    const deps = (input.deps ?? []).map((d) => this.resolveId(this.tasksMap, d, 'task'));
    const id = newId('t');
    const now = Date.now();
    this.doc.transact(() => {
      const m = new Y.Map<unknown>();
      const fields: Record<string, unknown> = clean({ title, detail: input.detail?.trim() || undefined, role: input.role?.trim() || undefined, status: 'open', assignee: null, deps, createdAt: now, updatedAt: now, by: actor.id, byName: actor.name });
      for (const [k, v] of Object.entries(fields)) m.set(k, v);
      this.tasksMap.set(id, m);
      this.record(actor, 'task.added', `${title}${input.role ? ` (role ${input.role})` : ''}`, id);
    });
    return this.task(id);
  }

  task(idOrPrefix: string): Task {
    const id = this.resolveId(this.tasksMap, idOrPrefix, 'task');
    return this.mustReadTask(id);
  }

  private mustReadTask(id: string): Task {
    const t = this.readTask(id, this.tasksMap.get(id));
    if (!t) throw new ContextError(`task ${id} is malformed in the shared document and is ignored`, 'invalid');
    return t;
  }

  tasks(filter: { status?: TaskStatus | TaskStatus[]; role?: string; assignee?: string } = {}): Task[] {
    const statuses = filter.status === undefined ? null : Array.isArray(filter.status) ? filter.status : [filter.status];
    return Array.from(this.tasksMap.entries())
      .map(([id, m]) => this.readTask(id, m))
      .filter((t): t is Task => t !== null)
      .filter((t) => !statuses || statuses.includes(t.status))
      .filter((t) => !filter.role || t.role === filter.role)
      .filter((t) => !filter.assignee || t.assignee?.id === filter.assignee)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  /** Dependencies of a task that are not done yet. */
  pendingDeps(t: Task): string[] {
    return t.deps.filter((d) => {
      const m = this.tasksMap.get(d) as unknown;
      return m instanceof Y.Map && m.get('status') !== 'done';
    });
  }

  private updateTask(actor: Actor, idOrPrefix: string, type: string, summary: (t: Task) => string, fields: (t: Task) => Record<string, unknown>): Task {
    const id = this.resolveId(this.tasksMap, idOrPrefix, 'task');
    const before = this.mustReadTask(id);
    const m = this.tasksMap.get(id)!;
    const set = fields(before);
    this.doc.transact(() => {
      for (const [k, v] of Object.entries(set)) {
        if (v === undefined) m.delete(k);
        else m.set(k, v);
      }
      m.set('updatedAt', Date.now());
      this.record(actor, type, summary(before), id);
    });
    return this.mustReadTask(id);
  }

  /**
   * Write a claim. Concurrent claims resolve to one assignee on every peer
   * (Yjs orders concurrent writes of a key the same way everywhere); a peer
   * learns whether it won once its write has made the round trip (see Peer.claimTask).
   */
  claimTask(actor: Actor, idOrPrefix: string, opts: { take?: boolean } = {}): Task {
    const t = this.task(idOrPrefix);
    if (t.status === 'done') throw new ContextError(`task ${t.id} is already done`, 'conflict');
    const holder = this.otherHolder(actor, t);
    if (holder && !opts.take) {
      throw new ContextError(`task ${t.id} is claimed by ${holder.name}; claim it with --take to take it over (${holder.name} is told)`, 'conflict');
    }
    // A claim written straight over another is what the relay's janitor undoes as a concurrent
    // claim (relay/janitor.ts); a take-over first sets the task open, in a transaction of its own.
    if (holder) this.tasksMap.get(t.id)!.set('status', 'open');
    let claimed!: Task;
    this.doc.transact(() => {
      claimed = this.updateTask(actor, t.id, 'task.claimed', (x) => (holder ? `${x.title} (taken over from ${holder.name})` : x.title), () => ({
        status: 'claimed',
        assignee: { id: actor.id, name: actor.name, at: Date.now() },
        orphaned: undefined,
      }));
      if (holder) this.tellHolder(actor, holder, claimed, 'took over');
    });
    return claimed;
  }

  /** The session other than `actor` that holds `t`'s claim, if any. */
  private otherHolder(actor: Actor, t: Task): { id: string; name: string } | null {
    return t.status === 'claimed' && t.assignee && t.assignee.id !== actor.id ? t.assignee : null;
  }

  /** A message to the session whose claimed task another one changed: it would otherwise go on working on it. */
  private tellHolder(actor: Actor, holder: { id: string; name: string }, t: Task, what: string, note?: string): void {
    this.send(actor, { to: holder.id, kind: 'fyi', text: `${actor.name} ${what} your task "${t.title}" (${shortId(t.id)})${note?.trim() ? `: ${note.trim()}` : ''}`, taskId: t.id });
  }

  /** Done; when another session holds the claim it keeps the credit and is told. */
  completeTask(actor: Actor, idOrPrefix: string, note?: string): Task {
    const before = this.task(idOrPrefix);
    const holder = this.otherHolder(actor, before);
    let done!: Task;
    this.doc.transact(() => {
      done = this.updateTask(actor, before.id, 'task.done', (x) => (holder ? `${x.title} (claimed by ${holder.name})` : x.title), (t) => ({
        status: 'done',
        doneAt: Date.now(),
        assignee: t.assignee ?? { id: actor.id, name: actor.name, at: Date.now() },
        lastNote: note?.trim() || t.lastNote,
      }));
      if (holder) this.tellHolder(actor, holder, done, 'marked done', note);
    });
    return done;
  }

  blockTask(actor: Actor, idOrPrefix: string, reason: string): Task {
    if (!reason?.trim()) throw new ContextError('blocking a task needs a reason');
    const holder = this.otherHolder(actor, this.task(idOrPrefix));
    let t!: Task;
    this.doc.transact(() => {
      t = this.updateTask(actor, idOrPrefix, 'task.blocked', (x) => `${x.title}: ${reason}`, () => ({ status: 'blocked', blockedReason: reason.trim() }));
      if (holder) this.tellHolder(actor, holder, t, 'marked blocked', reason);
    });
    return t;
  }

  reopenTask(actor: Actor, idOrPrefix: string): Task {
    const holder = this.otherHolder(actor, this.task(idOrPrefix));
    let t!: Task;
    this.doc.transact(() => {
      t = this.updateTask(actor, idOrPrefix, 'task.reopened', (x) => x.title, () => ({ status: 'open', assignee: null, blockedReason: undefined, doneAt: undefined }));
      if (holder) this.tellHolder(actor, holder, t, 'reopened');
    });
    return t;
  }

  noteTask(actor: Actor, idOrPrefix: string, note: string): Task {
    if (!note?.trim()) throw new ContextError('a task note needs text');
    return this.updateTask(actor, idOrPrefix, 'task.note', (x) => `${x.title}: ${note}`, () => ({ lastNote: note.trim() }));
  }

  /** Hand a task to a role (`role:NAME`) or a session, with a summary; the receiver finds it in its inbox. */
  handoff(actor: Actor, idOrPrefix: string, input: { to: string; summary: string; files?: string[] }): { task: Task; message: Message } {
    const to = input.to?.trim();
    if (!to) throw new ContextError('a handoff needs a recipient: a session or role:NAME');
    if (!input.summary?.trim()) throw new ContextError('a handoff needs a summary');
    const files = input.files ?? [];
    let task!: Task;
    let message!: Message;
    this.doc.transact(() => {
      task = this.updateTask(actor, idOrPrefix, 'task.handoff', (x) => `${x.title} to ${to}`, (t) => ({
        status: 'open',
        assignee: null,
        doneAt: undefined,
        role: to.startsWith('role:') ? to.slice(5) : t.role,
        handoff: { from: actor.id, fromName: actor.name, to, summary: input.summary.trim(), files, at: Date.now() },
      }));
      message = this.send(actor, { to, kind: 'handoff', text: `Handoff of task "${task.title}" (${task.id}): ${input.summary.trim()}`, taskId: task.id, files, needsReply: false });
    });
    return { task, message };
  }

  /** Return a dead session's claimed tasks to open, marked orphaned. Returns the tasks changed. */
  orphanTasksOf(actor: Actor, session: { id: string; name: string; lastNote?: string }): Task[] {
    const changed: Task[] = [];
    const mine = this.tasks({ status: 'claimed', assignee: session.id });
    if (mine.length === 0) return changed;
    this.doc.transact(() => {
      for (const t of mine) {
        changed.push(this.updateTask(actor, t.id, 'task.orphaned', (x) => `${x.title} (was ${session.name})`, () => ({
          status: 'open',
          assignee: null,
          orphaned: clean({ from: session.id, fromName: session.name, at: Date.now(), lastNote: t.lastNote ?? session.lastNote }),
        })));
      }
    });
    return changed;
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

  // ---- versions -----------------------------------------------------------

  /** The versioned content: every versioned kind's records (src/model/kinds). */
  private content(): VersionedContent {
    return Object.fromEntries(VERSIONED_KINDS.map((k) => [k.section, k.read(this.doc)])) as VersionedContent;
  }

  /** Save the current content as a version. Keeps at most `versionsMax`, dropping the oldest. */
  snapshot(actor: Actor, input: { name?: string; summary?: string; auto?: boolean } = {}): Version {
    const content = this.content();
    const sections = content as unknown as Record<string, Record<string, unknown>>;
    const counts = VERSIONED_KINDS.map((k) => `${Object.keys(sections[k.section] ?? {}).length} ${k.plural}`).join(', ');
    const v: Version = clean({ id: newId('v'), name: input.name?.trim() || undefined, summary: input.summary?.trim() || counts, auto: input.auto ?? false, content: JSON.stringify(content), ...this.authored(actor) });
    this.doc.transact(() => {
      this.versionsArr.push([v]);
      const over = this.versionsArr.length - this.opts.versionsMax;
      if (over > 0) this.versionsArr.delete(0, over);
      this.record(actor, 'version', v.name ? `${v.name}: ${v.summary}` : v.summary, v.id);
    });
    return v;
  }

  versions(): Array<Omit<Version, 'content'>> {
    return validItems('version', this.versionsArr.toArray()).map(({ content: _c, ...rest }) => rest).sort((a, b) => a.at - b.at);
  }

  private version(ref: string): Version {
    const all = validItems('version', this.versionsArr.toArray());
    const byName = all.filter((v) => v.name === ref);
    if (byName.length > 0) return byName.sort((a, b) => b.at - a.at)[0];
    const hits = all.filter((v) => v.id === ref || v.id.startsWith(ref) || v.id.split('-')[2]?.startsWith(ref));
    if (hits.length === 0) throw new ContextError(`no version ${ref}`, 'not-found');
    if (hits.length > 1) throw new ContextError(`version ${ref} is ambiguous`, 'ambiguous');
    return hits[0];
  }

  private contentOf(ref: string): VersionedContent {
    return ref === 'current' ? this.content() : parseContent(this.version(ref));
  }

  /** Differences from version `from` to version `to` (`current` for the live content). */
  diff(from: string, to = 'current'): VersionDiff {
    const a = this.contentOf(from);
    const b = this.contentOf(to);
    const changes: VersionDiff['changes'] = [];
    for (const kind of VERSIONED_KINDS) {
      const section = kind.section as keyof VersionedContent;
      const A = (a[section] ?? {}) as Record<string, unknown>;
      const B = (b[section] ?? {}) as Record<string, unknown>;
      for (const k of new Set([...Object.keys(A), ...Object.keys(B)])) {
        if (!(k in A)) changes.push({ section, key: k, change: 'added', after: B[k] });
        else if (!(k in B)) changes.push({ section, key: k, change: 'removed', before: A[k] });
        else if (JSON.stringify(stable(kind, A[k])) !== JSON.stringify(stable(kind, B[k]))) changes.push({ section, key: k, change: 'changed', before: A[k], after: B[k] });
      }
    }
    return { from, to, changes };
  }

  /**
   * Restore a version's content as a new change (history is not rewritten):
   * the current content is saved as an automatic version first.
   */
  rollback(actor: Actor, ref: string): { version: Omit<Version, 'content'>; changes: number } {
    const target = this.version(ref);
    const want = parseContent(target);
    const d = this.diff(target.id, 'current');
    this.doc.transact(() => {
      this.snapshot(actor, { summary: `before rollback to ${target.name ?? target.id}`, auto: true });
      // A version saved before a kind existed leaves that kind as it is.
      const sections = want as unknown as Record<string, Record<string, unknown>>;
      for (const k of VERSIONED_KINDS) if (sections[k.section]) k.restore(this.doc, sections[k.section]);
      this.record(actor, 'rollback', `to ${target.name ?? target.id} (${d.changes.length} changes)`, target.id);
    });
    const { content: _c, ...meta } = target;
    return { version: meta, changes: d.changes.length };
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

/** A version's content; a wrongly typed one is refused with a clear error (never a crash). */
function parseContent(v: Version): VersionedContent {
  let c: unknown;
  try {
    c = JSON.parse(v.content);
  } catch {
    c = null;
  }
  const isRec = (x: unknown) => !!x && typeof x === 'object' && !Array.isArray(x);
  const o = c as Record<string, unknown> | null;
  if (!isRec(o) || !['decisions', 'interfaces', 'tasks', 'notes'].every((k) => isRec(o![k]))) {
    throw new ContextError(`version ${v.name ?? v.id} has malformed content`, 'invalid');
  }
  return o as unknown as VersionedContent;
}

function byTimeThenId<T extends { at: number; id: string }>(a: T, b: T): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Replace lone surrogates, which would decode differently on each peer. */
export function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
