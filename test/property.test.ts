/**
 * Property-based test of the shared context over a real relay (issue 3):
 * several peers apply random operations through a real server while their
 * connections drop and return at random; at the end every peer (and the
 * server, and what the server stored in LevelDB) holds an identical state, and
 * no operation is lost.
 *
 * Each run starts a server on port 0 with its own LevelDB folder and joins 3-4
 * HuddlePeers, each its own session. A command list drives them: shared
 * context operations (decide, declare, send, addTask, claimTask, completeTask,
 * setNote, markRead, snapshot; texts of any Unicode, sometimes long), claim
 * races (every peer claims the same task in one tick), connection drops
 * (disconnect), returns (connect) and blips, server restarts on the same port
 * and folder, sessions that leave once stored and rejoin with an empty
 * document, and short pauses. A model records every operation: its outcome
 * (ok, or rejected with a ContextError), the records it created, the register
 * values it wrote, and the writer's state vector before it and its own clock
 * after it. At the end everyone reconnects, syncs (whenSynced) and is stored
 * (whenStored), and the test checks the peers, the server's document, and the
 * document reloaded from the server's LevelDB after it closed:
 *
 * - convergence: every replica has the same state vector, the same delete set
 *   (Y.equalSnapshots), the same raw content of every top-level type, and the
 *   same SharedContext views;
 * - no loss: every replica covers every clock any writer reached; every
 *   created decision, message, task, read marker and version is there with the
 *   content its creator got back; every operation left exactly one timeline
 *   event; nothing appeared that nobody created;
 * - registers (notes, interfaces, task status and assignee): the final value is
 *   one written by a write that no other write of the same register
 *   overwrote knowingly (a write W2 overwrites W1 knowingly when W2's writer
 *   had all of W1 when it wrote). This allows every legitimate concurrent
 *   outcome (Yjs picks one, the janitor restores the first of two concurrent
 *   claims) and rejects lost or resurrected writes;
 * - a completed task is done at the end: a concurrent claim must not undo it;
 * - a rejected operation changed nothing.
 *
 * `npm test` runs a bounded number of runs (12, from a new random seed every time; 25 until issue 15
 * cut the suite's time); `HUDDLE_LONG=1` (npm run
 * test:property) runs many more and longer ones. A failure prints the seed and
 * the shrunk counterexample; replay it with HUDDLE_SEED=... HUDDLE_PATH=...
 * (network timing still varies, so a replay may need a few tries).
 */
import { ACTIVITY_TYPES } from '../src/model/activity.js';
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import * as Y from 'yjs';
import { HuddlePeer } from '../src/peer/peer.js';
import { ContextError, SharedContext, type MessageKind } from '../src/model/context.js';
import { HuddleServer } from '../relay/server.js';
import type { Room } from '../relay/room.js';
import { silentLogger } from '../relay/log.js';
import { readStoredDoc, sleep } from './helpers.js';

const LONG = process.env.HUDDLE_LONG === '1';
const NUM_RUNS = Number(process.env.HUDDLE_RUNS ?? (LONG ? 500 : 12));
const MAX_COMMANDS = LONG ? 200 : 100;
const SEED = process.env.HUDDLE_SEED !== undefined ? Number(process.env.HUDDLE_SEED) : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
const REPLAY_PATH = process.env.HUDDLE_PATH;
/** After the first failure, shrink for at most this long, then report the smallest counterexample found. */
const SHRINK_BUDGET_MS = Number(process.env.HUDDLE_SHRINK_MS ?? (LONG ? 10 * 60_000 : 15_000));
const PROJECT = 'prop';
const ROLES = ['frontend', 'backend'];
const NOTE_KEYS = ['db', 'api', 'style'];
const INTERFACE_NAMES = ['UserAPI', 'AuthAPI', 'Billing'];
const KINDS: MessageKind[] = ['fyi', 'need-input', 'request', 'interface-ready'];

// ---- commands -----------------------------------------------------------------

/** `p` is a peer index and `ix` an index into what that peer sees, both taken modulo the actual count. */
type Cmd =
  | { t: 'decide'; p: number; text: string; rationale?: string; sup?: number }
  | { t: 'declare'; p: number; name: number; file: string; status?: 'draft' | 'ready' | 'changed' }
  | { t: 'send'; p: number; to: 'all' | 'role' | 'peer'; toPeer: number; kind?: MessageKind; reply?: number; text: string }
  | { t: 'addTask'; p: number; title: string; role?: number; dep?: number }
  | { t: 'claim'; p: number; ix: number }
  | { t: 'complete'; p: number; ix: number; note?: string }
  | { t: 'note'; p: number; key: number; value: string }
  | { t: 'read'; p: number; n: number }
  | { t: 'snapshot'; p: number; name?: string }
  | { t: 'drop'; p: number }
  | { t: 'return'; p: number }
  | { t: 'blip'; p: number }
  | { t: 'race'; ix: number }
  | { t: 'restart'; downMs: number }
  | { t: 'leave'; p: number }
  | { t: 'pause'; ms: number };

const peerIx = fc.nat(3);
/** Mostly short texts; sometimes long ones (past the timeline's 300-character summaries), any Unicode. */
const text = (label: string) =>
  fc
    .oneof({ weight: 9, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 150, maxLength: 400 }) })
    .map((s) => `${label} ${s}`);
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('decide' as const), p: peerIx, text: text('decide'), rationale: fc.option(text('because'), { nil: undefined }), sup: fc.option(fc.nat(5), { nil: undefined }) }, { requiredKeys: ['t', 'p', 'text'] }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('declare' as const), p: peerIx, name: fc.nat(INTERFACE_NAMES.length - 1), file: fc.constantFrom('src/a.ts', 'src/b.ts', 'api.graphql'), status: fc.option(fc.constantFrom('draft' as const, 'ready' as const, 'changed' as const), { nil: undefined }) }, { requiredKeys: ['t', 'p', 'name', 'file'] }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('send' as const), p: peerIx, to: fc.constantFrom('all' as const, 'role' as const, 'peer' as const), toPeer: peerIx, kind: fc.option(fc.constantFrom(...KINDS), { nil: undefined }), reply: fc.option(fc.nat(5), { nil: undefined }), text: text('msg') }, { requiredKeys: ['t', 'p', 'to', 'toPeer', 'text'] }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('addTask' as const), p: peerIx, title: text('task'), role: fc.option(fc.nat(1), { nil: undefined }), dep: fc.option(fc.nat(5), { nil: undefined }) }, { requiredKeys: ['t', 'p', 'title'] }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('claim' as const), p: peerIx, ix: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('race' as const), ix: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('complete' as const), p: peerIx, ix: fc.nat(3), note: fc.option(text('note'), { nil: undefined }) }, { requiredKeys: ['t', 'p', 'ix'] }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('note' as const), p: peerIx, key: fc.nat(NOTE_KEYS.length - 1), value: text('v') }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('read' as const), p: peerIx, n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('snapshot' as const), p: peerIx, name: fc.option(fc.constantFrom('v1', 'v2'), { nil: undefined }) }, { requiredKeys: ['t', 'p'] }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('drop' as const), p: peerIx }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('return' as const), p: peerIx }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('blip' as const), p: peerIx }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), downMs: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('leave' as const), p: peerIx }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('pause' as const), ms: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 25 })) }) },
);
const scenarioArb = fc.record({
  peers: fc.integer({ min: 3, max: 4 }),
  cmds: fc.array(cmdArb, { minLength: 1, maxLength: MAX_COMMANDS, size: 'max' }),
});
type Scenario = { peers: number; cmds: Cmd[] };

// ---- the model ------------------------------------------------------------------

type StateVector = Map<number, number>;
const svOf = (doc: Y.Doc): StateVector => Y.decodeStateVector(Y.encodeStateVector(doc));

/** One transaction by one writer: its client, what it had integrated before, and its own clock after. */
interface Txn {
  client: number;
  before: StateVector;
  end: number;
  who: string;
  op: number;
}

interface Write {
  txn: Txn;
  value: unknown;
}

/** Per-register (note key, interface name, task field) writes. */
class Registers {
  readonly writes = new Map<string, Write[]>();
  add(reg: string, txn: Txn, value: unknown): void {
    let list = this.writes.get(reg);
    if (!list) this.writes.set(reg, (list = []));
    list.push({ txn, value });
  }
  /** Writes of `reg` that no other write of it overwrote knowingly. */
  undominated(reg: string): Write[] {
    const list = this.writes.get(reg) ?? [];
    return list.filter((w1) => !list.some((w2) => w2 !== w1 && w2.txn !== w1.txn && (w2.txn.before.get(w1.txn.client) ?? 0) >= w1.txn.end));
  }
}

interface OpLog {
  op: number;
  peer: number;
  t: Cmd['t'];
  outcome: 'ok' | 'rejected' | 'skipped';
  offline: boolean;
  error?: string;
  /** Timeline event this op must have left: type and ref. */
  event?: { type: string; ref: string };
  /** Events the operation leaves beside its own (the message telling a task's holder). */
  also?: Array<{ type: string; ref: string }>;
}

class Model {
  readonly ops: OpLog[] = [];
  readonly regs = new Registers();
  readonly decisions = new Map<string, unknown>();
  readonly messages = new Map<string, unknown>();
  readonly tasks = new Map<string, { title: string; by: string; createdAt: number; deps: string[] }>();
  readonly reads = new Map<string, number>();
  readonly versions = new Set<string>();
  readonly claimants = new Map<string, Set<string>>();
  readonly completed = new Set<string>();
  /** Highest clock each client reached, from every transaction we know of. */
  readonly clocks = new Map<number, number>();
  noteTxn(txn: Txn): void {
    this.clocks.set(txn.client, Math.max(this.clocks.get(txn.client) ?? 0, txn.end));
  }
}

// ---- one run ----------------------------------------------------------------------

interface Stats {
  runs: number;
  ops: number;
  ok: number;
  rejected: number;
  skipped: number;
  offlineOps: number;
  drops: number;
  restarts: number;
  leaves: number;
  claimRejectedByJanitor: number;
  contestedTasks: number;
  ms: number;
}
const stats: Stats = { runs: 0, ops: 0, ok: 0, rejected: 0, skipped: 0, offlineOps: 0, drops: 0, restarts: 0, leaves: 0, claimRejectedByJanitor: 0, contestedTasks: 0, ms: 0 };

async function runScenario(sc: Scenario): Promise<void> {
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-prop-'));
  const dataDir = path.join(dir, 'data');
  const peers: HuddlePeer[] = [];
  let server: HuddleServer | null = null;
  let room!: Room;
  const model = new Model();
  /** Start (or restart, on the same port and folder) the server, and watch the writes it makes itself. */
  const start = async (port = 0) => {
    server = new HuddleServer({ port, dataDir, orphanAfterMs: 10 * 60_000 }, { logger: silentLogger });
    await server.listen();
    const r = await server.room(PROJECT);
    // The janitor restoring a first claim writes task fields: those are writes too.
    const roomTasks = r.doc.getMap<Y.Map<unknown>>('tasks');
    r.doc.on('afterTransaction', (tr: Y.Transaction) => {
      if (!tr.local) return;
      const txn: Txn = { client: r.doc.clientID, before: tr.beforeState, end: tr.afterState.get(r.doc.clientID) ?? 0, who: 'server', op: -1 };
      model.noteTxn(txn);
      for (const [type, keys] of tr.changed) {
        if (!(type instanceof Y.Map) || type.parent !== roomTasks) continue;
        const id = type._item?.parentSub;
        if (!id) continue;
        for (const k of keys) if (k === 'status' || k === 'assignee') model.regs.add(`task:${id}:${k}`, txn, type.get(k));
      }
    });
    room = r;
    return server;
  };
  try {
    const url = (await start()).wsUrl;
    const port = server!.port;
    const join = (i: number) => HuddlePeer.join({ url, project: PROJECT, session: { id: `s${i}`, name: `peer${i}`, role: ROLES[i % ROLES.length], agent: 'script' }, syncTimeoutMs: 5000 });
    for (let i = 0; i < sc.peers; i++) peers.push(await join(i));
    for (const p of peers) expect(p.online, 'every peer is online after join').toBe(true);
    const connected = peers.map(() => true);

    for (let op = 0; op < sc.cmds.length; op++) {
      const cmd = sc.cmds[op];
      switch (cmd.t) {
        case 'pause':
          await (cmd.ms === 0 ? new Promise((r) => setImmediate(r)) : sleep(cmd.ms));
          break;
        case 'restart':
          // Everyone loses the server; what it acknowledged must survive.
          await server!.close();
          server = null;
          if (cmd.downMs > 0) await sleep(cmd.downMs);
          await start(port);
          stats.restarts++;
          break;
        case 'leave': {
          // The session's process ends once the relay has stored its writes, and a new one joins
          // as the same session with an empty document: what it wrote can no longer come back
          // from it, so it must survive in the relay (through restarts too).
          const pi = cmd.p % peers.length;
          const old = peers[pi];
          old.connection.connect();
          await old.connection.whenSynced(10_000);
          await storedOrExplain(old, pi, room);
          await old.close();
          peers[pi] = await join(pi);
          connected[pi] = true;
          expect(peers[pi].online, `peer${pi} is online after rejoining`).toBe(true);
          stats.leaves++;
          break;
        }
        case 'race':
          // Every peer claims the task it sees at this index, in the same tick: concurrent claims.
          for (let i = 0; i < peers.length; i++) applyOp(model, peers, i, op, { t: 'claim', p: i, ix: cmd.ix });
          break;
        case 'drop':
        case 'return':
        case 'blip': {
          const pi = cmd.p % peers.length;
          const conn = peers[pi].connection;
          if (cmd.t === 'drop' && connected[pi]) {
            conn.disconnect();
            connected[pi] = false;
            stats.drops++;
          } else if (cmd.t === 'return' && !connected[pi]) {
            conn.connect();
            connected[pi] = true;
          } else if (cmd.t === 'blip' && connected[pi]) {
            conn.disconnect();
            conn.connect();
            stats.drops++;
          }
          break;
        }
        default:
          applyOp(model, peers, cmd.p % peers.length, op, cmd);
      }
    }

    // Everyone back, synced, stored, and caught up with each other and the server.
    for (const p of peers) p.connection.connect();
    await Promise.all(peers.map((p, i) => p.connection.whenSynced(10_000).catch((e: Error) => Promise.reject(new Error(`peer${i} whenSynced: ${e.message}`)))));
    await Promise.all(peers.map((p, i) => storedOrExplain(p, i, room)));
    await converge(room, peers);

    const replicas: Array<{ name: string; doc: Y.Doc }> = [
      ...peers.map((p, i) => ({ name: `peer${i}`, doc: p.doc })),
      { name: 'server', doc: room.doc },
    ];
    checkReplicas(replicas, model);
    tally(room.doc, model);

    // What the server stored in LevelDB is that same state.
    await Promise.all(peers.splice(0).map((p) => p.close()));
    await server!.close();
    server = null;
    const stored = await readStoredDoc(dataDir, PROJECT);
    checkReplicas([replicas[replicas.length - 1], { name: 'leveldb', doc: stored }], model);

    stats.runs++;
    stats.ms += Date.now() - t0;
  } finally {
    await Promise.all(peers.map((p) => p.close().catch(() => {})));
    await (server as HuddleServer | null)?.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** peer.whenStored(), failing with what the peer holds, what it was told, and what the relay stored. */
async function storedOrExplain(p: HuddlePeer, i: number, room: Room): Promise<void> {
  try {
    await p.whenStored(5_000);
  } catch (e) {
    const sv = JSON.stringify(Object.fromEntries(svOf(p.doc)));
    const acked = JSON.stringify(Object.fromEntries(p.connection.durable));
    const stored = JSON.stringify(Object.fromEntries(Y.decodeStateVector(room.durableStateVector)));
    throw new Error(`peer${i} whenStored: ${(e as Error).message}; it holds ${sv}, the relay acknowledged ${acked} to it, and has stored ${stored}`);
  }
}

function applyOp(model: Model, peers: HuddlePeer[], pi: number, op: number, cmd: Exclude<Cmd, { t: 'pause' | 'drop' | 'return' | 'blip' | 'race' | 'restart' | 'leave' }>): void {
  const peer = peers[pi];
  const ctx = peer.context;
  const actor = peer.actor;
  const client = peer.doc.clientID;
  const before = svOf(peer.doc);
  const log: OpLog = { op, peer: pi, t: cmd.t, outcome: 'ok', offline: !peer.online };
  model.ops.push(log);
  stats.ops++;
  if (log.offline) stats.offlineOps++;
  const txn = (): Txn => {
    const t: Txn = { client, before, end: svOf(peer.doc).get(client) ?? 0, who: `peer${pi}`, op };
    model.noteTxn(t);
    return t;
  };
  const pick = <T>(list: T[], ix: number | undefined): T | undefined => (ix === undefined || list.length === 0 ? undefined : list[ix % list.length]);
  try {
    switch (cmd.t) {
      case 'decide': {
        const sup = pick(ctx.decisions(), cmd.sup);
        const d = ctx.decide(actor, { text: cmd.text, rationale: cmd.rationale, supersedes: sup?.id });
        txn();
        model.decisions.set(d.id, d);
        log.event = { type: 'decision', ref: d.id };
        break;
      }
      case 'declare': {
        const decl = ctx.declare(actor, { name: INTERFACE_NAMES[cmd.name], file: cmd.file, status: cmd.status });
        model.regs.add(`interface:${decl.name}`, txn(), decl);
        log.event = { type: 'interface', ref: decl.name };
        break;
      }
      case 'send': {
        const to = cmd.to === 'all' ? 'all' : cmd.to === 'role' ? `role:${ROLES[cmd.toPeer % ROLES.length]}` : `s${cmd.toPeer % peers.length}`;
        const reply = pick(ctx.messages(), cmd.reply);
        const m = ctx.send(actor, { to, text: cmd.text, kind: reply ? undefined : cmd.kind, replyTo: reply?.id });
        txn();
        model.messages.set(m.id, m);
        log.event = { type: 'message', ref: m.id };
        break;
      }
      case 'addTask': {
        const dep = pick(ctx.tasks(), cmd.dep);
        const t = ctx.addTask(actor, { title: cmd.title, role: cmd.role === undefined ? undefined : ROLES[cmd.role], deps: dep ? [dep.id] : [] });
        const w = txn();
        model.tasks.set(t.id, { title: t.title, by: t.by, createdAt: t.createdAt, deps: t.deps });
        model.regs.add(`task:${t.id}:status`, w, 'open');
        model.regs.add(`task:${t.id}:assignee`, w, null);
        log.event = { type: 'task.added', ref: t.id };
        break;
      }
      case 'claim':
      case 'complete': {
        const target = pick(ctx.tasks(), cmd.ix);
        if (!target) {
          log.outcome = 'skipped';
          break;
        }
        const before = new Set(ctx.messagesMap.keys());
        const holder = target.status === 'claimed' && target.assignee && target.assignee.id !== actor.id ? target.assignee.id : null;
        const t = cmd.t === 'claim' ? ctx.claimTask(actor, target.id) : ctx.completeTask(actor, target.id, cmd.note);
        const w = txn();
        // Completing another session's claimed task tells that session: one message, to it (src/model/task-board.ts).
        const told = Array.from(ctx.messagesMap.entries()).filter(([id]) => !before.has(id));
        expect(told.map(([, m]) => m.to)).toEqual(holder && cmd.t === 'complete' ? [holder] : []);
        for (const [id, m] of told) model.messages.set(id, m);
        log.also = told.map(([id]) => ({ type: 'message', ref: id }));
        // The fields as written (the views may derive more from them).
        const stored = ctx.tasksMap.get(t.id)!;
        model.regs.add(`task:${t.id}:status`, w, stored.get('status'));
        model.regs.add(`task:${t.id}:assignee`, w, stored.get('assignee'));
        if (cmd.t === 'claim') {
          let set = model.claimants.get(t.id);
          if (!set) model.claimants.set(t.id, (set = new Set()));
          set.add(actor.id);
        } else model.completed.add(t.id);
        log.event = { type: cmd.t === 'claim' ? 'task.claimed' : 'task.done', ref: t.id };
        break;
      }
      case 'note': {
        const n = ctx.setNote(actor, NOTE_KEYS[cmd.key], cmd.value);
        model.regs.add(`note:${n.key}`, txn(), n);
        log.event = { type: 'note', ref: n.key };
        break;
      }
      case 'read': {
        const unread = ctx.inbox({ id: actor.id, role: actor.role, name: actor.name }).slice(0, cmd.n);
        if (unread.length === 0) {
          log.outcome = 'skipped';
          break;
        }
        const now = Date.now();
        ctx.markRead(actor.id, unread.map((m) => m.id), now);
        txn();
        for (const m of unread) model.reads.set(`${actor.id}\u0000${m.id}`, now);
        break;
      }
      case 'snapshot': {
        const v = ctx.snapshot(actor, { name: cmd.name });
        txn();
        model.versions.add(v.id);
        log.event = { type: 'version', ref: v.id };
        break;
      }
    }
  } catch (err) {
    if (!(err instanceof ContextError)) throw err;
    log.outcome = 'rejected';
    log.error = err.message;
    // A rejected operation changes nothing.
    expect(isDeepStrictEqual(svOf(peer.doc), before), `rejected ${cmd.t} (${err.message}) changed the document`).toBe(true);
  }
  stats[log.outcome]++;
}

/** Wait until every peer holds exactly what the server holds, and the server has stored it. */
async function converge(room: Room, peers: HuddlePeer[]): Promise<void> {
  const until = Date.now() + 10_000;
  let stableSince = 0;
  for (;;) {
    await room.whenDurable();
    const want = Y.encodeStateVector(room.doc);
    const same = peers.every((p) => Buffer.compare(Y.encodeStateVector(p.doc), want) === 0);
    if (same) {
      // Stay equal for a moment: the janitor may still answer the last updates.
      if (stableSince && Date.now() - stableSince >= 30) return;
      stableSince ||= Date.now();
    } else stableSince = 0;
    if (Date.now() > until) {
      const svs = [room.doc, ...peers.map((p) => p.doc)].map((d) => JSON.stringify(Array.from(svOf(d)).sort()));
      throw new Error(`replicas did not converge within 10 s (server first): ${svs.join(' | ')}; statuses ${peers.map((p) => `${p.connection.status}/${p.connection.synced}`).join(', ')}`);
    }
    await sleep(10);
  }
}

/** Throw, naming the first difference, unless `a` and `b` are deeply equal. */
function same(a: unknown, b: unknown, what: string): void {
  const d = firstDifference(a, b, '');
  if (d) throw new Error(`${what} differ: ${d}`);
}

function firstDifference(a: unknown, b: unknown, at: string): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    if (Array.isArray(a) && a.length !== (b as unknown[]).length) return `${at || '(root)'} has ${a.length} vs ${(b as unknown[]).length} entries`;
    for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      const d = firstDifference(ra[k], rb[k], Array.isArray(a) ? `${at}[${k}]` : `${at}.${k}`);
      if (d) return d;
    }
  }
  if (typeof a === 'string' && typeof b === 'string') {
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    return `${at}: ${JSON.stringify(a.slice(Math.max(0, i - 8), i + 8))} vs ${JSON.stringify(b.slice(Math.max(0, i - 8), i + 8))} (from UTF-16 offset ${i})`;
  }
  return `${at || '(root)'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

const TOP = { decisions: 'map', interfaces: 'map', messages: 'map', reads: 'map', tasks: 'map', notes: 'map', timeline: 'array', versions: 'array', forced: 'map' } as const;

function rawContent(doc: Y.Doc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(TOP)) out[name] = kind === 'map' ? doc.getMap(name).toJSON() : doc.getArray(name).toJSON();
  return out;
}

function views(ctx: SharedContext) {
  return {
    decisions: ctx.decisions(),
    interfaces: ctx.interfaces(),
    messages: ctx.messages(),
    tasks: ctx.tasks(),
    notes: ctx.notes(),
    versions: ctx.versions(),
    timeline: ctx.timeline(),
  };
}

function checkReplicas(replicas: Array<{ name: string; doc: Y.Doc }>, model: Model): void {
  const [ref, ...rest] = replicas;
  const refSv = svOf(ref.doc);
  const refCtx = new SharedContext(ref.doc);
  const refRaw = rawContent(ref.doc);
  const refViews = views(refCtx);

  // Convergence: same state vector, same delete set, same content, same views.
  for (const r of rest) {
    expect(Object.fromEntries(svOf(r.doc)), `state vector of ${r.name} vs ${ref.name}`).toEqual(Object.fromEntries(refSv));
    expect(Y.equalSnapshots(Y.snapshot(r.doc), Y.snapshot(ref.doc)), `delete set of ${r.name} vs ${ref.name}`).toBe(true);
    same(rawContent(r.doc), refRaw, `document content of ${r.name} and ${ref.name}`);
    const v = views(new SharedContext(r.doc));
    for (const k of Object.keys(refViews) as Array<keyof typeof refViews>) same(v[k], refViews[k], `${k}() of ${r.name} and ${ref.name}`);
  }

  // No loss: every clock any writer reached is in the state.
  for (const [client, clock] of model.clocks) expect(refSv.get(client) ?? 0, `clock of client ${client}`).toBeGreaterThanOrEqual(clock);

  const ctx = refCtx;
  // Records: every one created is there with what its creator got back, and nothing else.
  const decisions = new Map(Array.from(ctx.decisionsMap.entries()));
  expect(new Set(decisions.keys()), 'decision ids').toEqual(new Set(model.decisions.keys()));
  for (const [id, d] of model.decisions) expect(decisions.get(id), `decision ${id}`).toEqual(d);
  const messages = new Map(Array.from(ctx.messagesMap.entries()));
  expect(new Set(messages.keys()), 'message ids').toEqual(new Set(model.messages.keys()));
  for (const [id, m] of model.messages) expect(messages.get(id), `message ${id}`).toEqual(m);
  const tasks = new Map(ctx.tasks().map((t) => [t.id, t]));
  expect(new Set(tasks.keys()), 'task ids').toEqual(new Set(model.tasks.keys()));
  for (const [id, t] of model.tasks) expect(tasks.get(id), `task ${id}`).toMatchObject(t);
  // A completion is not lost either: nothing here reopens a task, and claimTask refuses a task it
  // sees done, so a claim that overrides a completion only ever comes from a session that had not
  // seen it yet (a concurrent claim), which must not win over the work being done.
  for (const id of model.completed) {
    const t = tasks.get(id)!;
    if (t.status !== 'done') {
      const history = (reg: string) => (model.regs.writes.get(reg) ?? []).map((w) => `${w.txn.who}#${w.txn.op}=${JSON.stringify(w.value)}`).join(', ');
      throw new Error(`task ${id} was completed but is ${t.status} (assignee ${t.assignee?.id ?? 'none'}, doneAt ${t.doneAt}) on ${ref.name}; status writes: ${history(`task:${id}:status`)}; assignee writes: ${history(`task:${id}:assignee`)}`);
    }
  }
  expect(Object.fromEntries(ctx.readsMap.entries()), 'read markers').toEqual(Object.fromEntries(model.reads));
  const versions = ctx.versions().map((v) => v.id);
  for (const id of versions) expect(model.versions.has(id), `version ${id} was created`).toBe(true);
  if (model.versions.size <= ctx.opts.versionsMax) expect(new Set(versions), 'versions').toEqual(model.versions);
  for (const k of ctx.notesMap.keys()) expect(NOTE_KEYS, 'note key').toContain(k);
  for (const k of ctx.interfacesMap.keys()) expect(INTERFACE_NAMES, 'interface name').toContain(k);

  // Registers (stored values): the final value is one that no other write overwrote knowingly.
  const finals: Record<string, unknown> = {};
  for (const n of ctx.notes()) finals[`note:${n.key}`] = n;
  for (const i of ctx.interfaces()) finals[`interface:${i.name}`] = i;
  // Task fields as stored (the views may derive more from them).
  for (const [id, m] of ctx.tasksMap.entries()) {
    finals[`task:${id}:status`] = m.get('status');
    finals[`task:${id}:assignee`] = m.get('assignee');
  }
  for (const reg of new Set([...Object.keys(finals), ...model.regs.writes.keys()])) {
    const live = model.regs.undominated(reg);
    const value = finals[reg];
    if (!live.some((w) => isDeepStrictEqual(w.value, value))) {
      const all = (model.regs.writes.get(reg) ?? []).map((w) => `${w.txn.who}#${w.txn.op}=${JSON.stringify(w.value)}${live.includes(w) ? '' : ' (overwritten)'}`);
      throw new Error(`${reg} on ${ref.name} is ${JSON.stringify(value)}, not the value of any write still standing; writes: ${all.join('; ')}`);
    }
  }

  // Timeline: every successful operation left exactly one event, by its author.
  // Activity events (joined, left, lock held/waited, edit denied) come from presence, not from an operation.
  const timeline = ctx.timeline().filter((e) => !ACTIVITY_TYPES.has(e.type));
  expect(timeline.length, 'timeline below its bound').toBeLessThan(ctx.opts.timelineMax);
  const count = new Map<string, number>();
  for (const e of timeline) count.set(`${e.actor} ${e.type} ${e.ref}`, (count.get(`${e.actor} ${e.type} ${e.ref}`) ?? 0) + 1);
  const want = new Map<string, number>();
  for (const o of model.ops) {
    if (o.outcome !== 'ok' || !o.event) continue;
    for (const ev of [o.event, ...(o.also ?? [])]) want.set(`s${o.peer} ${ev.type} ${ev.ref}`, (want.get(`s${o.peer} ${ev.type} ${ev.ref}`) ?? 0) + 1);
  }
  for (const [k, n] of want) expect(count.get(k) ?? 0, `timeline events "${k}"`).toBe(n);
  for (const e of timeline) if (e.actor !== 'huddle-server') expect(want.has(`${e.actor} ${e.type} ${e.ref}`), `timeline event ${e.actor} ${e.type} ${e.ref} from an operation`).toBe(true);
}

/** What happened in a run, for the summary. */
function tally(doc: Y.Doc, model: Model): void {
  const ctx = new SharedContext(doc);
  stats.claimRejectedByJanitor += ctx.timeline({ types: ['task.claim-rejected'] }).length;
  for (const [, set] of model.claimants) if (set.size > 1) stats.contestedTasks++;
}

// ---- the test -----------------------------------------------------------------------

describe('property: peers converge and lose nothing while connections drop and return', () => {
  it(
    `random operations on 3-4 peers through a real server (${NUM_RUNS} runs of up to ${MAX_COMMANDS} commands)`,
    // No retry: a failure is a counterexample to report, not a flake to run past.
    { timeout: LONG ? 3 * 60 * 60_000 : 5 * 60_000, retry: 0 },
    async () => {
      for (const k of Object.keys(stats) as Array<keyof Stats>) stats[k] = 0;
      let firstFailureAt = 0;
      let failures = 0;
      const property = fc.asyncProperty(scenarioArb, async (sc) => {
        // Past the shrink budget, count remaining shrink candidates as passing: fast-check then
        // reports the smallest counterexample found so far.
        if (firstFailureAt && Date.now() - firstFailureAt > SHRINK_BUDGET_MS) return true;
        try {
          await runScenario(sc);
        } catch (err) {
          failures++;
          firstFailureAt ||= Date.now();
          throw err;
        }
        return true;
      });
      const details = await fc.check(property, { numRuns: NUM_RUNS, seed: SEED, path: REPLAY_PATH, includeErrorInReport: true });
      const summary = `${stats.runs} passing runs in ${(stats.ms / 1000).toFixed(1)} s: ${stats.ops} operations (${stats.ok} ok, ${stats.rejected} rejected, ${stats.skipped} skipped, ${stats.offlineOps} while offline), ${stats.drops} drops, ${stats.restarts} server restarts, ${stats.leaves} sessions rejoined; ${stats.contestedTasks} tasks claimed by several sessions, ${stats.claimRejectedByJanitor} claims rejected by the janitor`;
      if (details.failed) {
        const msg = fc.defaultReportMessage(details) ?? 'property failed';
        throw new Error(`${msg}\n\nReplay: HUDDLE_SEED=${details.seed} HUDDLE_PATH=${details.counterexamplePath} npx vitest run test/property.test.ts\n(${failures} failing executions; ${summary})`);
      }
      console.log(`property seed ${SEED}: ${summary}`);
    },
  );
});
