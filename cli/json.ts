/**
 * The JSON the huddle command prints (`--json`), in one vocabulary, whatever
 * the server's records call things:
 *
 * - the session behind a record (who decided, sent, claimed, caused an event)
 *   is always `by` (its id) and `byName`; the server's `actor`/`actorName`
 *   (timeline) and `session`/`sessionName` (locks, watch events) are renamed;
 * - other people keep their own pair: `owner`/`ownerName` (interfaces),
 *   `holderName` (forced releases), `from`/`fromName` (handoffs), and
 *   `assignee: {id, name, at} | null` (tasks);
 * - every key listed in SHAPES is present; one with no value is null, never
 *   absent (also the `ranges` of a session's `editing` entries and of a
 *   conflict's `sessions`). Keys not listed may be added in later versions;
 * - event types are the timeline's (`task.added`, `note.deleted`, ...) in
 *   both `watch` and `timeline`.
 *
 * README.md ("JSON output") documents the same table; test/cli.test.ts checks
 * every record printed by the commands against it.
 */

/** The keys of each record kind; a trailing `?` marks a key that may be null. */
export const SHAPES = {
  decision: ['id', 'text', 'rationale?', 'supersedes?', 'supersededBy?', 'by', 'byName', 'at'],
  interface: ['name', 'file', 'description?', 'owner', 'ownerName', 'status', 'by', 'byName', 'at'],
  message: ['id', 'to', 'kind', 'text', 'replyTo?', 'needsReply', 'taskId?', 'files?', 'by', 'byName', 'at'],
  task: ['id', 'title', 'detail?', 'role?', 'status', 'assignee?', 'deps', 'createdAt', 'updatedAt', 'by', 'byName', 'doneAt?', 'blockedReason?', 'lastNote?', 'orphaned?', 'handoff?'],
  note: ['key', 'value', 'by', 'byName', 'at'],
  version: ['id', 'name?', 'summary', 'auto', 'by', 'byName', 'at'],
  event: ['at', 'type', 'by?', 'byName?', 'summary', 'ref?', 'path?'],
  lock: ['id', 'path', 'mode', 'reason?', 'claimedAt', 'expiresAt', 'confirmed', 'by', 'byName', 'role', 'state', 'blockedBy?', 'holderStatus'],
  session: ['id', 'kind', 'name', 'role', 'agent', 'host', 'pid', 'cwd', 'branch?', 'task?', 'intent?', 'startedAt', 'lastActive', 'hosted', 'status', 'locks', 'editing'],
  conflict: ['path', 'sessions', 'conflict', 'overlapping'],
} as const satisfies Record<string, readonly string[]>;

export type Kind = keyof typeof SHAPES;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Which kind of record an object is, from the keys only that kind has (null: none of them). */
export function kindOf(o: Obj): Kind | null {
  const id = typeof o.id === 'string' ? o.id : '';
  if ((o.kind === 'session' || o.kind === 'watcher') && 'lastActive' in o) return 'session';
  if ('conflict' in o && 'sessions' in o && 'path' in o) return 'conflict';
  // A lock and a task are records only with their holder and status: the bare claims of `lock`'s
  // answer, or the `{id, title}` task summaries of `next` and `report`, are not padded with nulls
  // for keys the table says always have a value.
  if ('claimedAt' in o && 'path' in o) return 'by' in o ? 'lock' : null;
  if (id.startsWith('d-') && 'text' in o) return 'decision';
  if (id.startsWith('m-') && 'kind' in o) return 'message';
  if (id.startsWith('t-') && 'title' in o) return 'status' in o && 'createdAt' in o ? 'task' : null;
  if (id.startsWith('v-') && 'auto' in o) return 'version';
  if ('owner' in o && 'file' in o && 'status' in o) return 'interface';
  if ('key' in o && 'value' in o && 'at' in o) return 'note';
  if ('summary' in o && 'type' in o && 'at' in o) return 'event';
  return null;
}

/** Each kind's keys without their `?` marks (made on first use: most commands print no JSON). */
let keys: Record<Kind, string[]> | undefined;
const keysOf = (kind: Kind): string[] =>
  (keys ??= Object.fromEntries(Object.entries(SHAPES).map(([k, specs]) => [k, specs.map((s) => s.replace(/\?$/, ''))])) as Record<Kind, string[]>)[kind];

// The copies below add properties with plain assignments in a for-in loop: in a short command this code
// runs cold (interpreted), and rest/spread destructuring with computed keys and Object.entries made
// `peek --json` of a 16 KiB snapshot spend about 5 ms here, a tenth of the command.

function renameActor(o: Obj): Obj {
  for (const [id, name] of [['actor', 'actorName'], ['session', 'sessionName']]) {
    if (typeof o[id] === 'string' && name in o && !('by' in o)) {
      const out: Obj = {};
      for (const k in o) if (k !== id && k !== name) out[k] = o[k];
      out.by = o[id];
      out.byName = o[name];
      return out;
    }
  }
  return o;
}

function copyWith(o: Obj, key: string, value: unknown): Obj {
  const out: Obj = {};
  for (const k in o) out[k] = o[k];
  out[key] = value;
  return out;
}

/** Line ranges of the files a session edits: null when unknown, never absent. */
const withRanges = (list: unknown) => (Array.isArray(list) ? list.map((e) => (isObj(e) && e.ranges === undefined ? copyWith(e, 'ranges', null) : e)) : list);

/** One record in the public vocabulary: actor keys renamed, the kind's optional keys null when missing. */
function record(o: Obj): Obj {
  const renamed = renameActor(o);
  const kind = kindOf(renamed);
  if (!kind) return renamed;
  const out: Obj = {};
  for (const key of keysOf(kind)) out[key] = renamed[key] ?? null;
  // Keys the table does not list yet (capAt, clientId, ...) follow, so that nothing is lost.
  for (const k in renamed) if (!(k in out)) out[k] = renamed[k];
  if (kind === 'session') out.editing = withRanges(out.editing);
  if (kind === 'conflict') out.sessions = withRanges(out.sessions);
  return out;
}

/**
 * Any value as the command prints it: every record inside, at any depth, in the public vocabulary.
 * An object with nothing to change inside is returned as it is (never modified: a changed one is a copy).
 */
export function publicJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(publicJson);
  if (!isObj(v)) return v;
  let o = record(v);
  let copied = o !== v;
  for (const k in o) {
    const x = o[k];
    if (typeof x !== 'object' || x === null) continue;
    const y = publicJson(x);
    if (y === x) continue;
    if (!copied) {
      o = { ...o };
      copied = true;
    }
    o[k] = y;
  }
  return o;
}

/**
 * `--field a.b.0.c`: the part of the JSON at a dotted path; a name applied to an
 * array picks it from every element (`--field decisions.text`). undefined when absent.
 */
export function selectField(v: unknown, path: string): unknown {
  let cur: unknown = v;
  for (const part of path.split('.').filter(Boolean)) {
    if (Array.isArray(cur)) cur = /^\d+$/.test(part) ? cur[Number(part)] : cur.map((x) => (isObj(x) ? x[part] : undefined));
    else if (isObj(cur)) cur = cur[part];
    else return undefined;
  }
  return cur;
}
