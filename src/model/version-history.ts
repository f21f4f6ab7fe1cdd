/**
 * Versions of the shared context: a version is the JSON of every versioned
 * kind's records (src/model/kinds), kept in a bounded Y.Array; diff compares
 * two (or one with the live content), rollback restores one as a new change.
 * SharedContext (context.ts) exposes these methods.
 */
import type * as Y from 'yjs';
import { matchesRef, newId, shortId } from './ids.js';
import { VERSIONED_KINDS, stable } from './kinds/index.js';
import { validItems } from './schemas.js';
import { ContextError, clean, type Actor, type TimelineData, type Version, type VersionDiff, type VersionedContent } from './records.js';

/** What the version history needs of the context it belongs to (SharedContext). */
export interface VersionHost {
  readonly doc: Y.Doc;
  readonly versionsArr: Y.Array<Version>;
  readonly opts: { versionsMax: number };
  record(actor: Actor, type: string, summary: string, ref?: string, now?: number, data?: TimelineData): void;
}

export class VersionHistory {
  constructor(private readonly host: VersionHost) {}

  /** The versioned content: every versioned kind's records (src/model/kinds). */
  private content(): VersionedContent {
    return Object.fromEntries(VERSIONED_KINDS.map((k) => [k.section, k.read(this.host.doc)])) as VersionedContent;
  }

  /** Save the current content as a version. Keeps at most `versionsMax`, dropping the oldest. */
  snapshot(actor: Actor, input: { name?: string; summary?: string; auto?: boolean } = {}): Version {
    const content = this.content();
    const sections = content as unknown as Record<string, Record<string, unknown>>;
    const counts = VERSIONED_KINDS.map((k) => {
      const n = Object.keys(sections[k.section] ?? {}).length;
      return `${n} ${n === 1 ? k.singular : k.plural}`;
    }).join(', ');
    const v: Version = clean({ id: newId('v'), name: input.name?.trim() || undefined, summary: input.summary?.trim() || counts, auto: input.auto ?? false, content: JSON.stringify(content), by: actor.id, byName: actor.name, at: Date.now() });
    this.host.doc.transact(() => {
      this.host.versionsArr.push([v]);
      const over = this.host.versionsArr.length - this.host.opts.versionsMax;
      if (over > 0) this.host.versionsArr.delete(0, over);
      this.host.record(actor, 'version', v.name ? `${v.name}: ${v.summary}` : v.summary, v.id);
    });
    return v;
  }

  versions(): Array<Omit<Version, 'content'>> {
    return validItems('version', this.host.versionsArr.toArray()).map(({ content: _c, ...rest }) => rest).sort((a, b) => a.at - b.at);
  }

  private version(ref: string): Version {
    const all = validItems('version', this.host.versionsArr.toArray());
    const byName = all.filter((v) => v.name === ref);
    if (byName.length > 0) return byName.sort((a, b) => b.at - a.at)[0];
    // The short form people see (`v-96fd8e`) names a version as well as the full id or a prefix of it.
    const hits = all.filter((v) => matchesRef(v.id, ref));
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
    this.host.doc.transact(() => {
      this.snapshot(actor, { summary: `before rollback to ${target.name ?? shortId(target.id)}`, auto: true });
      // A version saved before a kind existed leaves that kind as it is.
      const sections = want as unknown as Record<string, Record<string, unknown>>;
      for (const k of VERSIONED_KINDS) if (sections[k.section]) k.restore(this.host.doc, sections[k.section]);
      this.host.record(actor, 'rollback', `to ${target.name ?? shortId(target.id)} (${d.changes.length} ${d.changes.length === 1 ? 'change' : 'changes'})`, target.id);
    });
    const { content: _c, ...meta } = target;
    return { version: meta, changes: d.changes.length };
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
