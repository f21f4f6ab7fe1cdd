/**
 * The huddle command without a server: the last replicated state read from
 * the local server's LevelDB replica (.huddle/data), and context writes stored
 * there for the server to pass on when it runs again. Imported lazily: it
 * loads Yjs and LevelDB, which the normal path never does.
 *
 * LevelDB allows one process per folder, so this only works while no server
 * uses the replica; opening fails otherwise and the caller says so.
 *
 * The command's two bundles load it as a third one (scripts/build-cli.mjs),
 * so nothing it throws is checked with instanceof outside it: a refusal is an
 * OfflineRefusal with the status and code the server would have answered, and
 * cli/common.ts makes that an ApiFailure.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as Y from 'yjs';
import { LeveldbPersistence } from '../src/store/leveldb-persistence.js';
import { SharedContext, ContextError, type Actor } from '../src/model/context.js';
import { PatternError } from '../src/model/paths.js';
import { findOp } from '../src/ops/table.js';
import { OpError, toOpError } from '../src/ops/errors.js';
import { parseArgs } from '../src/ops/input.js';
import { buildSnapshot, type Snapshot } from '../src/model/snapshot.js';
import type { ResolvedConfig } from './config.js';

/** An operation the replica refused, as the server would have (HTTP status, error code). */
export class OfflineRefusal extends Error {
  constructor(readonly status: number, message: string, readonly code: string) {
    super(message);
  }
}

/** When the replica was last written: the newest file in its folder. */
function lastWrite(dir: string): number {
  let t = 0;
  for (const f of fs.readdirSync(dir)) {
    try {
      t = Math.max(t, fs.statSync(path.join(dir, f)).mtimeMs);
    } catch {
      /* vanished */
    }
  }
  return Math.round(t);
}

async function withDoc<T>(dir: string, project: string, write: boolean, fn: (doc: Y.Doc) => T): Promise<{ value: T; asOf: number }> {
  const asOf = lastWrite(dir);
  const store = new LeveldbPersistence(dir);
  // Opening replays what a server that crashed left in its write-ahead log.
  await store.open();
  try {
    const loaded = await store.load(project);
    const doc = new Y.Doc();
    if (loaded.update) Y.applyUpdate(doc, loaded.update);
    const updates: Uint8Array[] = [];
    doc.on('update', (u: Uint8Array) => updates.push(u));
    const value = fn(doc);
    if (write && updates.length) {
      store.appendDurable(project, updates);
      await store.commit(project);
    }
    doc.destroy();
    return { value, asOf };
  } finally {
    await store.close();
  }
}

export async function offlineSnapshot(cfg: ResolvedConfig, dir: string): Promise<Snapshot> {
  const { value } = await withDoc(dir, cfg.project, false, (doc) => {
    const ctx = new SharedContext(doc);
    return buildSnapshot(ctx, { sessions: [], watchers: [], locks: [] }, {
      project: cfg.project,
      reader: { id: cfg.session.id, role: cfg.session.role, name: cfg.session.name },
      source: 'offline',
    });
  });
  value.asOf = lastWrite(dir) || value.at;
  return value;
}

/** Whether an operation can run on the replica (it needs only the shared context). */
export function runsOffline(name: string): boolean {
  return findOp(name)?.needs === 'context';
}

/** Run an operation of the table on the replica (context operations only). */
export async function offlineOp<T>(cfg: ResolvedConfig, dir: string, name: string, args: Record<string, unknown>, write = false): Promise<{ result: T; offline: number }> {
  const op = findOp(name);
  if (!op) throw new OfflineRefusal(404, `unknown operation ${name}`, 'not-found');
  const me = cfg.session;
  const actor: Actor = { id: me.id, name: me.name ?? me.id, role: me.role ?? 'agent' };
  try {
    if (op.needs !== 'context') throw new OpError(`${name} needs the server`, 'needs-server');
    const input = parseArgs(op.input, args);
    const { value, asOf } = await withDoc(dir, cfg.project, write && op.access === 'write', (doc) => {
      const r = op.run(input, { ctx: new SharedContext(doc), actor });
      if (r instanceof Promise) throw new OpError(`${name} needs the server`, 'needs-server');
      return r as T;
    });
    return { result: value, offline: asOf };
  } catch (err) {
    if (err instanceof OpError || err instanceof ContextError || err instanceof PatternError) {
      const e = toOpError(err);
      throw new OfflineRefusal(e.status, e.message, e.code);
    }
    throw err;
  }
}
