/**
 * The tasks of the shared context: add, claim (and take over), complete,
 * block, reopen, note, hand off, orphan; each a change to the task's own
 * Y.Map (tasks: Y.Map<id, Y.Map<field, value>>, fields merge independently)
 * with its timeline event, and a message to the holder when another session
 * changes a claimed task. SharedContext (context.ts) exposes these methods.
 */
import * as Y from 'yjs';
import { newId, shortId } from './ids.js';
import { readTask } from './kinds/index.js';
import type { TaskStatus } from './enums.js';
import { ContextError, clean, type Actor, type Message, type Task, type TimelineData } from './records.js';

/** What the task board needs of the context it belongs to (SharedContext). */
export interface TaskHost {
  readonly doc: Y.Doc;
  readonly tasksMap: Y.Map<Y.Map<unknown>>;
  record(actor: Actor, type: string, summary: string, ref?: string, now?: number, data?: TimelineData): void;
  send(actor: Actor, input: { to: string; text: string; kind?: Message['kind']; replyTo?: string; needsReply?: boolean; taskId?: string; files?: string[] }): Message;
  resolveId<T>(map: Y.Map<T>, ref: string, what: string): string;
}

export class TaskBoard {
  constructor(private readonly ctx: TaskHost) {}

  /** A task, or null when its entry is wrongly typed (ignored and counted, see schemas.ts). */
  private readTask(id: string, m: unknown): Task | null {
    return readTask(id, m);
  }

  addTask(actor: Actor, input: { title: string; detail?: string; role?: string; deps?: string[] }): Task {
    const title = input.title?.trim();
    if (!title) throw new ContextError('a task needs a title');
    const deps = (input.deps ?? []).map((d) => this.ctx.resolveId(this.ctx.tasksMap, d, 'task'));
    const id = newId('t');
    const now = Date.now();
    this.ctx.doc.transact(() => {
      const m = new Y.Map<unknown>();
      const fields: Record<string, unknown> = clean({ title, detail: input.detail?.trim() || undefined, role: input.role?.trim() || undefined, status: 'open', assignee: null, deps, createdAt: now, updatedAt: now, by: actor.id, byName: actor.name });
      for (const [k, v] of Object.entries(fields)) m.set(k, v);
      this.ctx.tasksMap.set(id, m);
      this.ctx.record(actor, 'task.added', `${title}${input.role ? ` (role ${input.role})` : ''}`, id);
    });
    return this.task(id);
  }

  task(idOrPrefix: string): Task {
    const id = this.ctx.resolveId(this.ctx.tasksMap, idOrPrefix, 'task');
    return this.mustReadTask(id);
  }

  private mustReadTask(id: string): Task {
    const t = this.readTask(id, this.ctx.tasksMap.get(id));
    if (!t) throw new ContextError(`task ${id} is malformed in the shared document and is ignored`, 'invalid');
    return t;
  }

  tasks(filter: { status?: TaskStatus | TaskStatus[]; role?: string; assignee?: string } = {}): Task[] {
    const statuses = filter.status === undefined ? null : Array.isArray(filter.status) ? filter.status : [filter.status];
    return Array.from(this.ctx.tasksMap.entries())
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
      const m = this.ctx.tasksMap.get(d) as unknown;
      return m instanceof Y.Map && m.get('status') !== 'done';
    });
  }

  private updateTask(actor: Actor, idOrPrefix: string, type: string, summary: (t: Task) => string, fields: (t: Task) => Record<string, unknown>): Task {
    const id = this.ctx.resolveId(this.ctx.tasksMap, idOrPrefix, 'task');
    const before = this.mustReadTask(id);
    const m = this.ctx.tasksMap.get(id)!;
    const set = fields(before);
    this.ctx.doc.transact(() => {
      for (const [k, v] of Object.entries(set)) {
        if (v === undefined) m.delete(k);
        else m.set(k, v);
      }
      m.set('updatedAt', Date.now());
      this.ctx.record(actor, type, summary(before), id);
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
    if (t.status === 'done') throw new ContextError(`task ${shortId(t.id)} is already done`, 'conflict');
    const holder = this.otherHolder(actor, t);
    if (holder && !opts.take) {
      throw new ContextError(`task ${shortId(t.id)} is claimed by ${holder.name}; claim it with --take to take it over (${holder.name} is told)`, 'conflict');
    }
    // A claim written straight over another is what the relay's janitor undoes as a concurrent
    // claim (relay/janitor.ts); a take-over first sets the task open, in a transaction of its own.
    if (holder) this.ctx.tasksMap.get(t.id)!.set('status', 'open');
    let claimed!: Task;
    this.ctx.doc.transact(() => {
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
    this.ctx.send(actor, { to: holder.id, kind: 'fyi', text: `${actor.name} ${what} your task "${t.title}" (${shortId(t.id)})${note?.trim() ? `: ${note.trim()}` : ''}`, taskId: t.id });
  }

  /** Done; when another session holds the claim it keeps the credit and is told. */
  completeTask(actor: Actor, idOrPrefix: string, note?: string): Task {
    const before = this.task(idOrPrefix);
    const holder = this.otherHolder(actor, before);
    let done!: Task;
    this.ctx.doc.transact(() => {
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
    this.ctx.doc.transact(() => {
      t = this.updateTask(actor, idOrPrefix, 'task.blocked', (x) => `${x.title}: ${reason}`, () => ({ status: 'blocked', blockedReason: reason.trim() }));
      if (holder) this.tellHolder(actor, holder, t, 'marked blocked', reason);
    });
    return t;
  }

  reopenTask(actor: Actor, idOrPrefix: string): Task {
    const holder = this.otherHolder(actor, this.task(idOrPrefix));
    let t!: Task;
    this.ctx.doc.transact(() => {
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
    this.ctx.doc.transact(() => {
      task = this.updateTask(actor, idOrPrefix, 'task.handoff', (x) => `${x.title} to ${to}`, (t) => ({
        status: 'open',
        assignee: null,
        doneAt: undefined,
        role: to.startsWith('role:') ? to.slice(5) : t.role,
        handoff: { from: actor.id, fromName: actor.name, to, summary: input.summary.trim(), files, at: Date.now() },
      }));
      message = this.ctx.send(actor, { to, kind: 'handoff', text: `Handoff of task "${task.title}" (${shortId(task.id)}): ${input.summary.trim()}`, taskId: task.id, files, needsReply: false });
    });
    return { task, message };
  }

  /** Return a dead session's claimed tasks to open, marked orphaned. Returns the tasks changed. */
  orphanTasksOf(actor: Actor, session: { id: string; name: string; lastNote?: string }): Task[] {
    const changed: Task[] = [];
    const mine = this.tasks({ status: 'claimed', assignee: session.id });
    if (mine.length === 0) return changed;
    this.ctx.doc.transact(() => {
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
}
