/**
 * Token and read-only matrices (issue 13 §4): every HTTP route and every WebSocket
 * message type, against every kind of credential: none, a wrong token, the server-wide
 * read-only token, the server-wide read-write token, project-scoped read and write tokens
 * of the project, and a project-scoped write token of another project. Each is answered
 * as it should (401/403 or close 4401); a read-only or foreign credential never changes
 * the document or publishes a lock, and a foreign one never reads the project.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { WebSocket } from 'ws';
import { cleanup, closeOf, onCleanup, sleep, startServer, waitFor } from './helpers.js';
import { OPS } from '../src/ops/table.js';
import { AGENT_KINDS } from '../src/agents/event.js';
import { parseProjectTokens } from '../relay/project-tokens.js';
import {
  encodeAwarenessUpdateOf,
  encodeAwareness,
  encodeQueryAwareness,
  encodeSyncStep1FromSV,
  encodeSyncStep2FromUpdate,
  encodeUpdate,
  MSG_AUTH,
  MSG_AWARENESS,
  MSG_SYNC,
  SYNC_STEP2,
} from '../src/protocol/messages.js';
import { newSessionState } from '../src/model/session.js';
import type { HuddleServer } from '../relay/server.js';

afterEach(cleanup);

const PROJECT = 'alpha';
const OTHER = 'beta';
const TOKENS = {
  write: 'rw-server-token',
  read: 'ro-server-token',
  projWrite: 'alpha-write-token',
  projRead: 'alpha-read-token',
  foreign: 'beta-write-token',
} as const;

type Cred = 'none' | 'wrong' | keyof typeof TOKENS;
const CREDS: Cred[] = ['none', 'wrong', 'read', 'write', 'projRead', 'projWrite', 'foreign'];
const tokenOf = (c: Cred): string | null => (c === 'none' ? null : c === 'wrong' ? 'wrong-token-0000' : TOKENS[c]);

/** The access each credential should have on PROJECT, and server-wide. */
const ON_PROJECT: Record<Cred, 'none' | 'read' | 'write'> = { none: 'none', wrong: 'none', read: 'read', write: 'write', projRead: 'read', projWrite: 'write', foreign: 'none' };
const SERVER_WIDE: Record<Cred, 'none' | 'read' | 'write'> = { none: 'none', wrong: 'none', read: 'read', write: 'write', projRead: 'none', projWrite: 'none', foreign: 'none' };

/** What a route that needs `needs` answers to a credential with `has`. */
function expected(needs: 'read' | 'write', has: 'none' | 'read' | 'write'): 'ok' | 401 | 403 {
  if (has === 'none') return 401;
  if (needs === 'write' && has === 'read') return 403;
  return 'ok';
}

async function start(): Promise<HuddleServer> {
  return startServer({
    token: TOKENS.write,
    readToken: TOKENS.read,
    projectTokens: parseProjectTokens(JSON.stringify({
      projects: { [PROJECT]: { write: [TOKENS.projWrite], read: [TOKENS.projRead] }, [OTHER]: { write: [TOKENS.foreign] } },
    })),
  });
}

async function call(server: HuddleServer, method: string, path: string, cred: Cred, body?: unknown): Promise<{ status: number; body: any }> {
  const token = tokenOf(cred);
  const ac = new AbortController();
  const res = await fetch(server.url + path, {
    method,
    signal: ac.signal,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // Event streams never end: the status and headers are the answer.
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    ac.abort();
    return { status: res.status, body: null };
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON (metrics, the page) */
  }
  return { status: res.status, body: parsed };
}

/** Everything that could change: the document's state vector and who publishes a lock. */
async function fingerprint(server: HuddleServer): Promise<{ sv: string; lockers: string[]; hosted: number }> {
  const room = await server.room(PROJECT);
  const lockers: string[] = [];
  for (const st of room.awareness.getStates().values()) {
    const h = (st as { huddle?: { id?: string; locks?: unknown[] } }).huddle;
    if (h?.locks?.length) lockers.push(String(h.id));
  }
  return { sv: Buffer.from(Y.encodeStateVector(room.doc)).toString('hex'), lockers: lockers.sort(), hosted: server.hosted.list(room).length };
}

describe('HTTP routes x credentials', () => {
  it('answers every route for every credential as its access allows, and never writes for a read-only or foreign one', async () => {
    const server = await start();
    // Something to read, written with the right token.
    expect((await call(server, 'POST', `/api/p/${PROJECT}/op/decide`, 'write', { session: { id: 'owner' }, text: 'seed', rationale: 'r' })).status).toBe(200);
    // The seed's session joins the timeline a moment later (activity.ts): let it settle first.
    const room = await server.room(PROJECT);
    await waitFor(() => room.doc.getArray('timeline').toArray().some((e) => (e as { type?: string }).type === 'session.joined'), 'the seed session joined');
    const writes = Object.entries(OPS).filter(([, o]) => o.access === 'write').map(([n]) => n);
    const reads = Object.entries(OPS).filter(([, o]) => o.access === 'read').map(([n]) => n);
    expect(writes.length).toBeGreaterThan(10);
    expect(reads.length).toBeGreaterThan(5);

    interface Row { method: string; path: string; needs: 'read' | 'write'; scope: 'project' | 'server'; body?: unknown }
    const rows: Row[] = [
      { method: 'GET', path: `/api/p/${PROJECT}/state`, needs: 'read', scope: 'project' },
      { method: 'GET', path: `/api/p/${PROJECT}/state?session=owner`, needs: 'read', scope: 'project' },
      { method: 'GET', path: `/api/p/${PROJECT}/events`, needs: 'read', scope: 'project' },
      { method: 'GET', path: '/metrics', needs: 'read', scope: 'server' },
      { method: 'GET', path: '/hooks/session?pids=1234', needs: 'read', scope: 'server' },
      { method: 'GET', path: '/hooks/claude-code/session?pids=1234', needs: 'read', scope: 'server' },
      ...reads.map((op): Row => ({ method: 'POST', path: `/api/p/${PROJECT}/op/${op}`, needs: 'read', scope: 'project', body: { session: { id: 'reader' } } })),
      ...writes.map((op): Row => ({ method: 'POST', path: `/api/p/${PROJECT}/op/${op}`, needs: 'write', scope: 'project', body: { session: { id: 'intruder' }, paths: ['**'], title: 'x', rationale: 'x', text: 'x', to: 'everyone' } })),
      ...AGENT_KINDS.map((a): Row => ({ method: 'POST', path: `/hooks/${a}`, needs: 'write', scope: 'server', body: { huddle_probe: true } })),
    ];

    const wrong: string[] = [];
    // Read-only and foreign credentials first: nothing they send may change anything.
    let before = await fingerprint(server);
    const start0 = before;
    for (const cred of ['none', 'wrong', 'read', 'projRead', 'foreign'] as Cred[]) {
      for (const r of rows) {
        const has = r.scope === 'project' ? ON_PROJECT[cred] : SERVER_WIDE[cred];
        const want = expected(r.needs, has);
        const got = await call(server, r.method, r.path, cred, r.body);
        const ok = want === 'ok' ? got.status !== 401 && got.status !== 403 && got.status < 500 : got.status === want;
        if (!ok) wrong.push(`${cred} ${r.method} ${r.path}: ${got.status} (want ${want}) ${JSON.stringify(got.body).slice(0, 120)}`);
        const now = await fingerprint(server);
        if (JSON.stringify(now) !== JSON.stringify(before)) {
          wrong.push(`${cred} ${r.method} ${r.path}: changed ${JSON.stringify(before)} -> ${JSON.stringify(now)}`);
          before = now;
        }
        // A refusal says why, in the one error shape.
        if (want !== 'ok' && got.status === want) expect(got.body.code).toBe(want === 401 ? 'unauthorized' : 'forbidden');
      }
    }
    expect(wrong).toEqual([]);
    expect(await fingerprint(server)).toEqual(start0);

    // The right credentials are let through (the answer may still be a 400 for arguments).
    for (const cred of ['write', 'projWrite'] as Cred[]) {
      for (const r of rows) {
        const has = r.scope === 'project' ? ON_PROJECT[cred] : SERVER_WIDE[cred];
        const want = expected(r.needs, has);
        const got = await call(server, r.method, r.path, cred, r.body);
        const ok = want === 'ok' ? got.status !== 401 && got.status !== 403 && got.status < 500 : got.status === want;
        if (!ok) wrong.push(`${cred} ${r.method} ${r.path}: ${got.status} (want ${want}) ${JSON.stringify(got.body).slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
    // ...and they did write (the matrix above is not vacuous).
    expect((await fingerprint(server)).sv).not.toBe(start0.sv);
  }, 60_000);

  it('a project-scoped token reads only its projects, and public routes say nothing more than the caller presented', async () => {
    const server = await start();
    expect((await call(server, 'POST', `/api/p/${OTHER}/op/note.set`, 'foreign', { session: { id: 'b' }, key: 'k', value: 'beta' })).status).toBe(200);
    expect((await call(server, 'POST', `/api/p/${PROJECT}/op/note.set`, 'projWrite', { session: { id: 'a' }, key: 'k', value: 'alpha' })).status).toBe(200);
    // The other project's token cannot read or write this one, nor this one's the other.
    expect((await call(server, 'GET', `/api/p/${PROJECT}/state`, 'foreign')).status).toBe(401);
    expect((await call(server, 'GET', `/api/p/${OTHER}/state`, 'projWrite')).status).toBe(401);
    expect((await call(server, 'GET', `/api/p/${OTHER}/state`, 'projRead')).status).toBe(401);
    // Percent-encoding the name reaches the same project and the same refusal.
    expect((await call(server, 'GET', `/api/p/alph%61/state`, 'foreign')).status).toBe(401);
    // /api/projects lists what the token may read, no more.
    const names = async (c: Cred) => {
      const r = await call(server, 'GET', '/api/projects', c);
      return r.status === 200 ? (r.body.projects as Array<{ name: string }>).map((p) => p.name).sort() : r.status;
    };
    expect(await names('none')).toBe(401);
    expect(await names('wrong')).toBe(401);
    expect(await names('foreign')).toEqual([OTHER]);
    expect(await names('projRead')).toEqual([PROJECT]);
    expect(await names('projWrite')).toEqual([PROJECT]);
    expect(await names('read')).toEqual([PROJECT, OTHER].sort());
    // /api/access is public and reports only the caller's own access.
    for (const cred of CREDS) {
      const server_ = await call(server, 'GET', '/api/access', cred);
      expect(server_.status).toBe(200);
      expect(server_.body.access).toBe(SERVER_WIDE[cred]);
      const onProject = await call(server, 'GET', `/api/access?project=${PROJECT}`, cred);
      expect(onProject.body.access).toBe(ON_PROJECT[cred]);
      // The page itself holds no data and is served to anyone who follows a link.
      expect((await call(server, 'GET', '/', cred)).status).toBe(200);
      expect((await call(server, 'GET', '/healthz', cred)).status).toBe(200);
    }
    // A read-only token may look at a session's state but does not consume its notices (they are the session's).
    expect((await call(server, 'POST', `/api/p/${PROJECT}/op/lock`, 'projWrite', { session: { id: 'a' }, paths: ['src/a.ts'] })).body.result.status).toBe('confirmed');
    const forced = await call(server, 'POST', `/api/p/${PROJECT}/op/unlock`, 'write', { session: { id: 'boss' }, paths: ['src/a.ts'], force: true });
    expect(forced.body.result.forced.length).toBe(1);
    const room = await server.room(PROJECT);
    await waitFor(() => !server.hosted.get(room, 'a')!.presence.current.locks.length, 'a lost its lock');
    for (const cred of ['read', 'projRead'] as Cred[]) {
      const looked = await call(server, 'GET', `/api/p/${PROJECT}/state?session=a`, cred);
      expect(looked.status).toBe(200);
      expect(looked.body.notices).toBeUndefined();
      const readOp = await call(server, 'POST', `/api/p/${PROJECT}/op/decisions`, cred, { session: { id: 'a' } });
      expect(readOp.status).toBe(200);
      expect(readOp.body.notices).toBeUndefined();
    }
    const own = await call(server, 'GET', `/api/p/${PROJECT}/state?session=a`, 'projWrite');
    expect(own.body.notices?.join(' ')).toMatch(/src\/a\.ts/);
  }, 30_000);
});

/** A raw client that records every frame it gets, and how it closed. */
function client(server: HuddleServer, project: string, cred: Cred) {
  const token = tokenOf(cred);
  const ws = new WebSocket(`${server.wsUrl}/${project}${token ? `?token=${encodeURIComponent(token)}` : ''}`);
  ws.binaryType = 'nodebuffer';
  onCleanup(() => ws.terminate());
  const got: Array<{ type: number; sub?: number }> = [];
  let closed: { code: number } | null = null;
  ws.on('message', (d: Buffer) => {
    const dec = decoding.createDecoder(new Uint8Array(d));
    const type = decoding.readVarUint(dec);
    got.push({ type, sub: type === MSG_SYNC || type === MSG_AUTH ? decoding.readVarUint(dec) : undefined });
  });
  ws.on('error', () => {});
  const done = closeOf(ws).then((c) => (closed = c));
  const open = new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
  });
  return { ws, got, open, done, closed: () => closed };
}

function docUpdate(key: string): Uint8Array {
  const d = new Y.Doc();
  d.getMap('m').set(key, 1);
  return Y.encodeStateAsUpdate(d);
}

let nextClient = 900_000;
function lockState(sessionId: string): { clientID: number; frame: Uint8Array } {
  const now = Date.now();
  const st = newSessionState({ id: sessionId, name: sessionId, role: 'agent' }, { host: 'h', pid: 1, cwd: '/r' }, now, false);
  st.locks = [{ id: `l-${sessionId}`, path: 'src/**', mode: 'exclusive', claimedAt: now, expiresAt: now + 60_000, capAt: now + 120_000, confirmed: true }];
  const clientID = nextClient++;
  return { clientID, frame: encodeAwareness(encodeAwarenessUpdateOf([{ clientID, clock: 1, json: JSON.stringify({ huddle: st }) }])) };
}

describe('WebSocket message types x credentials', () => {
  it('refuses, reads only, or reads and writes, per credential, for every message type', async () => {
    const server = await start();
    const room = await server.room(PROJECT);
    const wrong: string[] = [];
    for (const cred of CREDS) {
      const c = client(server, PROJECT, cred);
      await c.open;
      const has = ON_PROJECT[cred];
      const aw = lockState(`s-${cred}`);
      const frames: Array<[string, Uint8Array]> = [
        ['sync-step1', encodeSyncStep1FromSV(Y.encodeStateVector(new Y.Doc()))],
        ['sync-step2', encodeSyncStep2FromUpdate(docUpdate(`step2-${cred}`))],
        ['update', encodeUpdate(docUpdate(`update-${cred}`))],
        ['awareness', aw.frame],
        ['query-awareness', encodeQueryAwareness()],
      ];
      for (const [, f] of frames) if (c.ws.readyState === c.ws.OPEN) c.ws.send(f);
      if (has === 'none') {
        const closed = await c.done;
        if (closed.code !== 4401) wrong.push(`${cred}: closed ${closed.code}, want 4401`);
        // Nothing of the project reached it.
        if (c.got.length) wrong.push(`${cred}: got ${c.got.length} frames before the close`);
      } else {
        // The sync answer (step 2) and the awareness answer arrive.
        await waitFor(() => c.got.some((g) => g.type === MSG_SYNC && g.sub === SYNC_STEP2) && c.got.some((g) => g.type === MSG_AWARENESS), `${cred}: sync and awareness answers`);
        if (c.closed()) wrong.push(`${cred}: closed ${c.closed()!.code}`);
      }
      await sleep(100);
      const m = room.doc.getMap('m');
      const wrote = m.has(`step2-${cred}`) || m.has(`update-${cred}`);
      const published = room.awareness.getStates().has(aw.clientID);
      if (has === 'write') {
        if (!m.has(`step2-${cred}`) || !m.has(`update-${cred}`)) wrong.push(`${cred}: its sync-step2 and update were not applied`);
        if (!published) wrong.push(`${cred}: its awareness was not applied`);
      } else {
        if (wrote) wrong.push(`${cred}: a document update was applied`);
        if (published) wrong.push(`${cred}: its lock was published`);
      }
      // A read-only client is told once why its updates go nowhere (the auth protocol's permission-denied).
      if (has === 'read' && !c.got.some((g) => g.type === MSG_AUTH)) wrong.push(`${cred}: no permission-denied message`);
      c.ws.close();
    }
    expect(wrong).toEqual([]);
  }, 30_000);

  it('a project token opens only its own project; the foreign one reads nothing of it', async () => {
    const server = await start();
    for (const [project, cred, code] of [[PROJECT, 'foreign', 4401], [OTHER, 'projWrite', 4401], [OTHER, 'projRead', 4401], [OTHER, 'foreign', null]] as const) {
      const c = client(server, project, cred);
      await c.open;
      c.ws.send(encodeSyncStep1FromSV(Y.encodeStateVector(new Y.Doc())));
      if (code) {
        expect((await c.done).code).toBe(code);
        expect(c.got).toEqual([]);
      } else {
        await waitFor(() => c.got.some((g) => g.type === MSG_SYNC && g.sub === SYNC_STEP2), 'own project syncs');
        c.ws.close();
      }
    }
  });
});

