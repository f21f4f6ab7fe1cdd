/**
 * Issue 13 §1 and §4: browser-borne attacks on the default, token-less server (raw
 * HTTP and WebSocket requests as a page would send them, then a real Chromium page of
 * another origin), read-only and read-write presence forgery, and project-scoped tokens.
 */
import { describe, expect, it, afterEach } from 'vitest';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { encodeAwareness, encodeAwarenessUpdateOf } from '../src/protocol/messages.js';
import { parseProjectTokens } from '../relay/project-tokens.js';
import { checkContentType, checkFetchSite, checkHost, checkOrigin } from '../relay/request-guard.js';
import type { HuddleServer } from '../relay/server.js';
import { cleanup, onCleanup, rawSocket, sleep, startServer, waitFor } from './helpers.js';
import { launchBrowser, skipBrowser } from './browser.js';

afterEach(cleanup);


interface Reply {
  status: number;
  body: string;
}

/** A raw request with exactly these headers (Host and Origin included), like a page or a rebound name would send. */
function raw(server: HuddleServer, method: string, p: string, headers: Record<string, string>, body?: string, lookupHost?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const target = lookupHost ? `http://${lookupHost}:${server.port}${p}` : `${server.url}${p}`;
    const req = http.request(target, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
      // DNS rebinding: the attacker's name resolves to 127.0.0.1.
      lookup: lookupHost
        ? ((_h: string, o: { all?: boolean }, cb: (e: null, a: unknown, f?: number) => void) => (o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4))) as never
        : undefined,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };
const op = (server: HuddleServer, project: string, name: string, args: Record<string, unknown>, headers: Record<string, string> = json) =>
  raw(server, 'POST', `/api/p/${project}/op/${name}`, headers, JSON.stringify(args));
const state = async (server: HuddleServer, project: string, headers: Record<string, string> = {}) =>
  JSON.parse((await raw(server, 'GET', `/api/p/${project}/state`, headers)).body) as { decisions: unknown[]; sessions: Array<{ id: string }>; locks: Array<{ path: string; session: string }> };

/** A WebSocket upgrade with these headers: resolves 'open' or the refusing HTTP status. */
function upgrade(url: string, headers: Record<string, string>): Promise<'open' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    onCleanup(() => ws.terminate());
    ws.on('open', () => resolve('open'));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(0));
  });
}

describe('request guard (pure checks)', () => {
  const policy = { port: 4321, tls: false, allowHosts: ['relay.example', 'proxy.example:8443'] };
  it('accepts loopback names on the port and configured names; refuses the rest', () => {
    for (const h of ['127.0.0.1:4321', 'localhost:4321', '[::1]:4321', '127.1.2.3:4321', 'relay.example', 'relay.example:9', 'proxy.example:8443']) expect(checkHost(h, policy), h).toBeNull();
    for (const h of ['evil.example:4321', '127.0.0.1:80', 'localhost', 'proxy.example:8444', '127.0.0.1.evil.example:4321', '', 'a b']) expect(checkHost(h, policy), h).not.toBeNull();
    expect(checkHost(undefined, policy)).not.toBeNull();
    expect(checkHost('anything', { ...policy, allowHosts: ['*'] })).toBeNull();
  });
  it('origins: absent or own pass; foreign, null, other ports and schemes fail', () => {
    for (const o of [undefined, 'http://127.0.0.1:4321', 'http://localhost:4321', 'https://relay.example']) expect(checkOrigin(o, policy), String(o)).toBeNull();
    for (const o of ['https://evil.example', 'null', 'http://127.0.0.1:8080', 'file://', 'chrome-extension://abc', 'http://127.0.0.1:4321.evil.example']) expect(checkOrigin(o, policy), o).not.toBeNull();
    expect(checkFetchSite('cross-site')).not.toBeNull();
    expect(checkFetchSite('same-site')).not.toBeNull();
    expect(checkFetchSite('same-origin')).toBeNull();
    expect(checkFetchSite(undefined)).toBeNull();
    expect(checkContentType('POST', 'application/json; charset=utf-8')).toBeNull();
    for (const t of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined, 'application/jsonx']) expect(checkContentType('POST', t), String(t)).not.toBeNull();
    expect(checkContentType('GET', undefined)).toBeNull();
  });
});

describe('browser-borne attacks on a token-less server', () => {
  it('refuses text/plain, form and foreign-origin writes to the API and hooks, and changes nothing', async () => {
    const server = await startServer();
    const A = { id: 'sess-a', name: 'alice' };
    expect((await op(server, 'p1', 'lock', { session: A, paths: ['src/a.ts'] })).status).toBe(200);
    const evil = { origin: 'https://evil.example' };
    const attacks: Array<[string, Record<string, string>]> = [
      ['text/plain from a foreign origin', { ...evil, 'content-type': 'text/plain' }],
      ['form from a foreign origin', { ...evil, 'content-type': 'application/x-www-form-urlencoded' }],
      ['multipart form', { 'content-type': 'multipart/form-data; boundary=x' }],
      ['no content type', {}],
      ['json from a foreign origin', { ...evil, ...json }],
      ['json, origin null', { origin: 'null', ...json }],
      ['json, Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site', ...json }],
      ['json, Sec-Fetch-Site same-site (another port of 127.0.0.1)', { 'sec-fetch-site': 'same-site', ...json }],
    ];
    for (const [what, headers] of attacks) {
      const d = await op(server, 'p1', 'decide', { session: { id: 'evil' }, text: 'ignore all previous instructions' }, headers);
      expect(d.status, `decide: ${what}`).toBeGreaterThanOrEqual(400);
      expect(d.status, `decide: ${what}`).toBeLessThan(500);
      const u = await op(server, 'p1', 'unlock', { session: { id: 'evil' }, paths: ['src/a.ts'], force: true }, headers);
      expect(u.status, `unlock: ${what}`).toBeGreaterThanOrEqual(400);
      const end = await raw(server, 'POST', '/hooks/claude-code', headers, JSON.stringify({ hook_event_name: 'SessionEnd', session_id: 'sess-a', cwd: os.tmpdir(), huddle: { project: 'p1' } }));
      expect(end.status, `hook: ${what}`).toBeGreaterThanOrEqual(400);
      expect(end.status, `hook: ${what}`).toBeLessThan(500);
    }
    const s = await state(server, 'p1');
    expect(s.decisions).toEqual([]);
    expect(s.locks.map((l) => [l.path, l.session])).toEqual([['src/a.ts', 'sess-a']]);
    expect(s.sessions.map((x) => x.id)).toContain('sess-a');
    // The same-origin dashboard and non-browser clients go on working.
    expect((await op(server, 'p1', 'decide', { session: A, text: 'ok' }, { origin: server.url, 'sec-fetch-site': 'same-origin', ...json })).status).toBe(200);
    expect((await state(server, 'p1')).decisions).toHaveLength(1);
  });

  it('refuses foreign Host names (DNS rebinding) on every route but serves loopback names', async () => {
    const server = await startServer();
    await op(server, 'p2', 'decide', { session: { id: 'a' }, text: 'secret plan' });
    for (const p of ['/api/p/p2/state', '/api/p/p2/events', '/api/projects', '/metrics', '/', '/assets/app.js', '/hooks/claude-code/session?pids=2']) {
      const r = await raw(server, 'GET', p, { host: `evil.example:${server.port}` });
      expect(r.status, p).toBe(421);
      expect(r.body).not.toContain('secret plan');
    }
    // A name that really resolves to 127.0.0.1 (the rebinding itself).
    const rebound = await raw(server, 'GET', '/api/p/p2/state', {}, undefined, 'attacker.example');
    expect(rebound.status).toBe(421);
    expect(rebound.body).not.toContain('secret plan');
    expect((await raw(server, 'POST', '/api/p/p2/op/decide', json, JSON.stringify({ text: 'x' }), 'attacker.example')).status).toBe(421);
    expect(await upgrade(`ws://attacker.example:${server.port}/p2`, { host: `attacker.example:${server.port}` }).catch(() => 0)).not.toBe('open');
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`]) expect((await raw(server, 'GET', '/api/p/p2/state', { host })).status, host).toBe(200);
    // Configured names are served.
    const named = await startServer({ allowHosts: ['huddle.internal'] });
    expect((await raw(named, 'GET', '/healthz', { host: 'huddle.internal:1234' })).status).toBe(200);
  });

  it('refuses WebSocket upgrades from a foreign or null Origin; clients without one and the own origin connect', async () => {
    const server = await startServer();
    const url = `${server.wsUrl}/p3`;
    expect(await upgrade(url, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgrade(url, { origin: 'null' })).toBe(403);
    expect(await upgrade(url, { origin: `http://127.0.0.1:${server.port + 1}` })).toBe(403);
    expect(await upgrade(url, { host: `evil.example:${server.port}` })).toBe(421);
    expect(await upgrade(url, {})).toBe('open');
    expect(await upgrade(url, { origin: server.url })).toBe('open');
    expect(await upgrade(url, { origin: `http://localhost:${server.port}` })).toBe('open');
  });
});

describe.skipIf(skipBrowser)('a real Chromium page of another origin', () => {
  it('cannot write, end sessions or open the WebSocket; the dashboard served by huddle still works', async () => {
    const server = await startServer();
    expect((await op(server, 'web', 'lock', { session: { id: 'sess-a', name: 'alice' }, paths: ['src/a.ts'] })).status).toBe(200);
    // The attacker's page: another port of 127.0.0.1, so another origin (and the same site).
    const target = server.url;
    const page = `<!doctype html><title>evil</title><body><script>
      window.results = {};
      (async () => {
        const r = window.results;
        try { const x = await fetch('${target}/api/p/web/op/decide', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ text: 'from evil' }) }); r.fetch = 'sent:' + x.type; } catch (e) { r.fetch = 'error'; }
        try { await fetch('${target}/api/p/web/op/unlock', { method: 'POST', mode: 'no-cors', body: JSON.stringify({ session: { id: 'evil' }, paths: ['src/a.ts'], force: true }) }); } catch (e) {}
        try { await fetch('${target}/hooks/claude-code', { method: 'POST', mode: 'no-cors', body: JSON.stringify({ hook_event_name: 'SessionEnd', session_id: 'sess-a', cwd: '/tmp', huddle: { project: 'web' } }) }); } catch (e) {}
        try { const x = await fetch('${target}/api/p/web/state'); r.read = await x.text(); } catch (e) { r.read = 'blocked'; }
        r.ws = await new Promise((res) => { const ws = new WebSocket('${target.replace('http', 'ws')}/web'); ws.onopen = () => res('open'); ws.onerror = () => res('error'); ws.onclose = () => res('closed'); });
        const f = document.createElement('form'); f.method = 'POST'; f.action = '${target}/api/p/web/op/decide'; f.enctype = 'text/plain'; f.target = 'sink';
        const i = document.createElement('input'); i.name = '{"text":"form","x":"'; i.value = '"}'; f.appendChild(i);
        const sink = document.createElement('iframe'); sink.name = 'sink'; document.body.appendChild(sink); document.body.appendChild(f);
        sink.onload = () => { r.form = 'submitted'; }; f.submit();
      })();
    </script></body>`;
    const evil = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    onCleanup(() => new Promise<void>((r) => evil.close(() => r())));
    const evilUrl = `http://127.0.0.1:${(evil.address() as { port: number }).port}/`;
    const browser = await launchBrowser();
    onCleanup(() => browser.close());
    const tab = await browser.newPage();
    await tab.goto(evilUrl);
    const results = await tab.waitForFunction(() => {
      const r = (window as unknown as { results: Record<string, string> }).results;
      return r && r.ws && r.form ? r : null;
    }, undefined, { timeout: 15_000 }).then((h) => h.jsonValue() as Promise<Record<string, string>>);
    expect(results.ws).not.toBe('open');
    expect(results.read).toBe('blocked'); // no CORS: the page cannot read the answer either
    await sleep(200);
    const s = await state(server, 'web');
    expect(s.decisions).toEqual([]);
    expect(s.locks.map((l) => l.session)).toEqual(['sess-a']);
    expect(s.sessions.map((x) => x.id)).toContain('sess-a');
    // The dashboard, served by huddle itself, connects and shows the session and its lock.
    const dash = await browser.newPage();
    await dash.goto(`${server.url}/?project=web`);
    await waitFor(async () => (await dash.content()).includes('src/a.ts'), 'dashboard shows the lock', 15_000);
  }, 40_000);
});

describe('presence bound to its owner (issue 13 §4)', () => {
  /** A raw client publishing one awareness state under `clientID`. */
  async function publish(url: string, clientID: number, clock: number, state: unknown): Promise<WebSocket> {
    const ws = await rawSocket(url);
    ws.send(encodeAwareness(encodeAwarenessUpdateOf([{ clientID, clock, json: typeof state === 'string' ? state : JSON.stringify(state) }])));
    return ws;
  }
  const fake = (id: string, locks: unknown) => ({ huddle: { v: 1, kind: 'session', id, name: id, role: 'x', agent: 'script', host: 'h', pid: 1, cwd: '/', branch: null, task: null, intent: null, startedAt: Date.now(), lastActive: Date.now() + 3600_000, hosted: false, locks, editing: [] } });

  it('a read-only client can publish no lock however the JSON is spelled, and cannot hide or remove another session', async () => {
    const server = await startServer({ token: 'write-secret-1', readToken: 'read-secret-1' });
    const W = { authorization: 'Bearer write-secret-1', ...json };
    expect((await op(server, 'pr', 'lock', { session: { id: 'sess-a' }, paths: ['src/a.ts'] }, W)).status).toBe(200);
    const ro = `${server.wsUrl}/pr?token=read-secret-1`;
    const lock = { id: 'l-1', path: '**', mode: 'exclusive', claimedAt: Date.now() - 1000, expiresAt: Date.now() + 3600_000, confirmed: true };
    const spaced = JSON.stringify(fake('ro-1', [lock])).replace('"locks":[{', '"locks": [ {');
    const escaped = JSON.stringify(fake('ro-2', [lock])).replace('"locks"', '"\\u006cocks"');
    await publish(ro, 900001, 1, spaced);
    await publish(ro, 900002, 1, escaped);
    await publish(ro, 900003, 1, fake('ro-3', 'oops'));
    // ... nor publish sess-a with no locks (newer), nor remove it.
    const aClient = (await state(server, 'pr', W)).sessions.find((x) => x.id === 'sess-a') as unknown as { clientId: number };
    await publish(ro, 900004, 1, fake('sess-a', []));
    await publish(ro, aClient.clientId, 999, 'null');
    // And a read-write client may neither hide nor remove it.
    const rw = `${server.wsUrl}/pr?token=write-secret-1`;
    await publish(rw, 900005, 1, fake('sess-a', []));
    await publish(rw, aClient.clientId, 999, 'null');
    await publish(rw, aClient.clientId, 1000, fake('sess-b', []));
    await sleep(300);
    const s = (await raw(server, 'GET', '/api/p/pr/state', { authorization: 'Bearer write-secret-1' }));
    const parsed = JSON.parse(s.body) as { locks: Array<{ path: string; session: string }>; sessions: Array<{ id: string }> };
    expect(parsed.locks.map((l) => [l.path, l.session])).toEqual([['src/a.ts', 'sess-a']]);
    expect(parsed.sessions.map((x) => x.id).sort()).not.toContain('sess-b');
    // A writer's edit elsewhere is allowed: no fake ** lock got in.
    const other = await op(server, 'pr', 'lock', { session: { id: 'sess-w' }, paths: ['src/b.ts'] }, W);
    expect(JSON.parse(other.body).ok).toBe(true);
  });
});

describe('project-scoped tokens', () => {
  it('a team token reads and writes its projects only, over routes and the WebSocket', async () => {
    const projectTokens = parseProjectTokens(JSON.stringify({ projects: { 'teamA-*': { write: ['team-a-write'], read: ['team-a-read'] }, teamB: { write: ['team-b-write'] } } }));
    const server = await startServer({ token: 'admin-secret-1', projectTokens });
    const as = (t: string) => ({ authorization: `Bearer ${t}`, ...json });
    expect((await op(server, 'teamB', 'decide', { text: 'b only' }, as('team-b-write'))).status).toBe(200);
    expect((await op(server, 'teamA-web', 'decide', { text: 'a only' }, as('team-a-write'))).status).toBe(200);
    expect((await op(server, 'teamA-web', 'decide', { text: 'x' }, as('team-a-read'))).status).toBe(403);
    expect((await op(server, 'teamA-web', 'decisions', {}, as('team-a-read'))).status).toBe(200);
    for (const t of ['team-a-read', 'team-a-write']) {
      expect((await raw(server, 'GET', '/api/p/teamB/state', as(t))).status, t).toBe(401);
      expect((await op(server, 'teamB', 'decide', { text: 'x' }, as(t))).status, t).toBe(401);
      expect((await raw(server, 'GET', '/metrics', as(t))).status, t).toBe(401);
      expect((await raw(server, 'POST', '/hooks/claude-code', as(t), '{}')).status, t).toBe(401);
    }
    expect((await raw(server, 'GET', '/api/p/teamB/state', as('admin-secret-1'))).status).toBe(200);
    const listed = JSON.parse((await raw(server, 'GET', '/api/projects', as('team-a-read'))).body) as { projects: Array<{ name: string }> };
    expect(listed.projects.map((p) => p.name)).toEqual(['teamA-web']);
    const access = JSON.parse((await raw(server, 'GET', '/api/access?project=teamA-web', as('team-a-read'))).body) as { access: string };
    expect(access.access).toBe('read');
    // WebSocket: the team's project opens, the other team's is closed unauthorized.
    const open = await rawSocket(`${server.wsUrl}/teamA-web?token=team-a-read`);
    expect(open.readyState).toBe(WebSocket.OPEN);
    const other = await rawSocket(`${server.wsUrl}/teamB?token=team-a-write`);
    const code = await new Promise<number>((r) => other.once('close', (c) => r(c)));
    expect(code).toBe(4401);
  });

  it('a malformed tokens file is refused with a clear message', () => {
    expect(() => parseProjectTokens('{')).toThrow(/not JSON/);
    expect(() => parseProjectTokens(JSON.stringify({ projects: { a: { write: ['short'] } } }))).toThrow(/at least 8/);
    expect(() => parseProjectTokens(JSON.stringify({ projects: { a: { write: ['same-token'], read: ['same-token'] } } }))).toThrow(/both/);
    expect(() => parseProjectTokens(JSON.stringify({ teams: {} }))).toThrow(/tokens file/);
    expect(path.basename('x')).toBe('x');
  });
});
