import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { spawn, spawnSync } from 'node:child_process';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { HuddlePeer } from '../src/peer/peer.js';
import { RelayConnection } from '../src/peer/connection.js';
import { SharedContext } from '../src/model/context.js';
import { buildPresence } from '../src/model/view.js';
import { ApiClient } from '../cli/client.js';
import type { ServerConfig } from '../relay/config.js';
import { CLI, cleanup, onCleanup, ROOT, sleep, spawnJsonLines, spawnServer, startServer, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

async function join(url: string, id: string) {
  const p = await HuddlePeer.join({ url, project: 'team', session: { id, name: id }, heartbeatMs: 200 });
  onCleanup(() => p.close());
  return p;
}

describe('upstream sync through a team relay', () => {
  it('documents and presence flow between machines, survive a relay outage, and merge on return', async () => {
    const relayData = path.join(tempDir(), 'relay');
    const relay = await startServer({ dataDir: relayData, token: 'team-secret' });
    const relayPort = relay.port;
    const up = { upstream: `ws://127.0.0.1:${relayPort}`, upstreamToken: 'team-secret' };
    const machineA = await startServer({ ...up, awarenessTimeoutMs: 3000 });
    const machineB = await startServer({ ...up, awarenessTimeoutMs: 3000 });
    const a = await join(machineA.wsUrl, 'alice');
    const b = await join(machineB.wsUrl, 'bob');
    a.context.decide(a.actor, { text: 'from A' });
    await waitFor(() => b.context.decisions().some((d) => d.text === 'from A'), 'A → B through the relay', 5000);
    await waitFor(() => b.presenceView().sessions.some((s) => s.id === 'alice'), 'B sees alice', 5000);
    await waitFor(() => a.presenceView().sessions.some((s) => s.id === 'bob'), 'A sees bob', 5000);
    await waitFor(() => machineA.health().upstream?.projects.team?.status === 'connected', 'health shows upstream');

    await relay.close();
    await waitFor(() => machineA.health().upstream?.projects.team?.status !== 'connected', 'A notices the outage');
    // Both machines keep working from their replicas.
    a.context.decide(a.actor, { text: 'A offline' });
    b.context.decide(b.actor, { text: 'B offline' });
    await a.whenStored();
    await b.whenStored();

    const relay2 = await startServer({ dataDir: relayData, token: 'team-secret', port: relayPort });
    await waitFor(() => a.context.decisions().length === 3 && b.context.decisions().length === 3, 'merge after return', 15000);
    expect(a.context.decisions().map((d) => d.text).sort()).toEqual(['A offline', 'B offline', 'from A']);
    await waitFor(() => b.presenceView().sessions.some((s) => s.id === 'alice'), 'presence back', 15000);
    // No duplicates of a session.
    expect(b.presenceView().sessions.filter((s) => s.id === 'alice')).toHaveLength(1);
    const room = await relay2.room('team');
    expect(room.doc.getMap('decisions').size).toBe(3);
  });
});

/** A team relay and two machines' servers syncing with it. */
async function team(extra: Partial<ServerConfig> = {}) {
  const relayData = path.join(tempDir(), 'relay');
  const relay = await startServer({ dataDir: relayData, token: 'team-secret' });
  const up = { upstream: `ws://127.0.0.1:${relay.port}`, upstreamToken: 'team-secret', awarenessTimeoutMs: 3000, ...extra };
  const machineA = await startServer(up);
  const machineB = await startServer(up);
  return { relay, relayData, relayPort: relay.port, machineA, machineB };
}

const holders = (p: HuddlePeer, file: string) =>
  p.presenceView().locks.filter((l) => l.path === file && l.state === 'held').map((l) => l.session).sort();

describe('upstream from .huddle/config.json', () => {
  it('huddle serve takes the team relay from the project config, and peek shows the link', async () => {
    const relay = await startServer({ token: 'cfg-secret' });
    const project = tempDir('huddle-upcfg-');
    fs.mkdirSync(path.join(project, '.huddle'), { recursive: true });
    fs.writeFileSync(path.join(project, '.huddle', 'config.json'), JSON.stringify({ upstream: relay.wsUrl, upstreamToken: 'cfg-secret', project: 'cfgp' }));
    const machine = await spawnServer(path.join(project, '.huddle', 'data'), [], {}, project);
    expect(machine.output()).toMatch(/syncing with ws:\/\/127\.0\.0\.1/);
    const api = new ApiClient({ httpUrl: machine.url, project: 'cfgp', session: { id: 'u1' } });
    await api.op('decide', { text: 'via config' });
    await waitFor(async () => (await api.state()).upstream?.status === 'connected', 'the link to come up', 10_000, 100);
    // peek shows the link; a link that dropped and came back meanwhile (seen once at load 15) is
    // shown as reconnecting at first, so ask again a few times, with the server's log on failure.
    let peekOut = '';
    for (let i = 0; i < 5; i++) {
      peekOut = spawnSync(process.execPath, [CLI, '--url', machine.wsUrl, '--project', 'cfgp', 'peek'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }).stdout;
      if (/team relay ws:\/\/127\.0\.0\.1:\d+: connected since/.test(peekOut)) break;
      await sleep(500);
    }
    expect(peekOut, machine.output()).toMatch(/team relay ws:\/\/127\.0\.0\.1:\d+: connected since/);
    const room = await relay.room('cfgp');
    await waitFor(() => Array.from((room.doc.getMap('decisions') as Y.Map<{ text: string }>).values()).some((d) => d.text === 'via config'), 'the decision at the relay');
  });
});

describe('lock authority with several machines', () => {
  it('sessions on two machines race for one exclusive lock: exactly one is confirmed, every round', async () => {
    const { machineA, machineB } = await team();
    const peers = [
      await join(machineA.wsUrl, 'a1'),
      await join(machineA.wsUrl, 'a2'),
      await join(machineB.wsUrl, 'b1'),
      await join(machineB.wsUrl, 'b2'),
    ];
    // Sessions the servers host (thin clients: hooks, CLI), one per machine.
    const hosted = [
      new ApiClient({ httpUrl: machineA.url, project: 'team', session: { id: 'ha', name: 'ha' } }),
      new ApiClient({ httpUrl: machineB.url, project: 'team', session: { id: 'hb', name: 'hb' } }),
    ];
    for (const h of hosted) await h.op('update', { intent: 'racing' });
    for (const p of peers) await waitFor(() => p.presence.transport.online(), `${p.presence.id} authoritative`, 5000);
    await waitFor(() => peers.every((p) => p.presenceView().sessions.length === 6), 'everyone sees everyone', 5000);
    const names = [...peers.map((p) => p.presence.id), 'ha', 'hb'];
    for (let round = 0; round < 6; round++) {
      const file = `src/race-${round}.ts`;
      const results = await Promise.all([
        ...peers.map((p) => p.lock([file])),
        ...hosted.map((h) => h.op('lock', { paths: [file] })),
      ]);
      const confirmed = results.map((r, i) => (r.status === 'confirmed' ? names[i] : null)).filter(Boolean);
      expect(confirmed, `round ${round}: ${results.map((r) => r.status).join(' ')}`).toHaveLength(1);
      expect(results.filter((r) => r.status !== 'confirmed' && r.status !== 'held')).toHaveLength(0);
      // Every peer, on either machine, names the same holder.
      await waitFor(() => peers.every((p) => holders(p, file).join() === confirmed.join()), `round ${round}: all agree`, 5000);
    }
  });

  it('a team relay in its own process: a lock raced from two machines is confirmed for exactly one, every round', async () => {
    // With the relay in another process, a rival's claim and our echo can reach a machine in one
    // read; the machine must pass them on in that order (its echo once overtook the coalesced
    // broadcast of the rival's claim, and both sessions were confirmed: 3 of 3 runs failed so).
    const relay = await spawnServer(path.join(tempDir(), 'relay'), ['--token', 'team-secret']);
    const up = { upstream: relay.wsUrl, upstreamToken: 'team-secret', awarenessTimeoutMs: 3000 };
    const [machineA, machineB] = [await startServer(up), await startServer(up)];
    const a = await join(machineA.wsUrl, 'alice');
    const b = await join(machineB.wsUrl, 'bob');
    for (const p of [a, b]) await waitFor(() => p.presence.transport.online(), `${p.presence.id} authoritative`, 10_000);
    await waitFor(() => a.presenceView().sessions.length === 2 && b.presenceView().sessions.length === 2, 'both see both', 10_000);
    for (let round = 0; round < 8; round++) {
      const file = `src/proc-race-${round}.ts`;
      const results = await Promise.all([a.lock([file]), b.lock([file])]);
      expect(results.filter((r) => r.status === 'confirmed'), `round ${round}: ${results.map((r) => r.status).join(' ')}`).toHaveLength(1);
      expect(results.filter((r) => r.status !== 'confirmed' && r.status !== 'held')).toHaveLength(0);
    }
  });

  it('sessions in processes on two machines race: exactly one is confirmed', async () => {
    const { machineA, machineB } = await team();
    const script = path.join(ROOT, 'dist/test/fixtures/lock-racer.js');
    const procs = [machineA, machineB, machineA, machineB, machineA, machineB].map((m, i) => spawnJsonLines(script, [m.wsUrl, 'team', `racer-${i}`, 'src/shared.ts', '6']));
    await waitFor(() => procs.every((x) => x.lines.some((l) => l.ready)), 'racers ready', 20000);
    // Each racer sees the others (through the relay: it printed ready once it did), and both machines' links
    // are authoritative, before the race means anything.
    await waitFor(() => [machineA, machineB].every((m) => m.health().upstream?.projects.team?.authoritative), 'both machines authoritative', 10000);
    for (const x of procs) x.p.stdin!.write('go\n');
    await waitFor(() => procs.every((x) => x.lines.some((l) => l.phase === 'first')), 'first outcomes', 15000);
    const firsts = procs.map((x) => x.lines.find((l) => l.phase === 'first')!);
    expect(firsts.filter((f) => f.status === 'confirmed'), JSON.stringify(firsts)).toHaveLength(1);
    for (const f of firsts) if (f.status !== 'confirmed') expect(f.status).toBe('held');
  });

  it('with the relay down claims are unconfirmed; when it returns each is confirmed or lost, and both machines agree', async () => {
    const { relayData, relayPort, relay, machineA, machineB } = await team();
    const a = await join(machineA.wsUrl, 'alice');
    const b = await join(machineB.wsUrl, 'bob');
    const api = new ApiClient({ httpUrl: machineA.url, project: 'team', session: { id: 'hosted-carol', name: 'carol' } });
    for (const p of [a, b]) await waitFor(() => p.presence.transport.online(), 'online', 5000);
    // Held before the outage: stays confirmed through it.
    expect((await a.lock(['docs/before.md'])).status).toBe('confirmed');
    await waitFor(() => holders(b, 'docs/before.md').join() === 'alice', 'b sees the lock', 5000);

    await relay.close();
    await waitFor(() => !a.presence.transport.online() && !b.presence.transport.online(), 'both machines lose authority', 5000);
    expect(machineA.health().upstream?.projects.team).toMatchObject({ authoritative: false });
    const outcomes = new Map<string, string>();
    a.presence.on('lock-confirmed', (c) => outcomes.set(`alice:${c.path}`, 'confirmed'));
    a.presence.on('lock-lost', (e) => outcomes.set(`alice:${e.claim.path}`, 'lost'));
    b.presence.on('lock-confirmed', (c) => outcomes.set(`bob:${c.path}`, 'confirmed'));
    b.presence.on('lock-lost', (e) => outcomes.set(`bob:${e.claim.path}`, 'lost'));
    // Each side claims the same file while cut off: neither can be confirmed.
    expect((await a.lock(['src/x.ts'])).status).toBe('unconfirmed');
    await sleep(5);
    expect((await b.lock(['src/x.ts'])).status).toBe('unconfirmed');
    // A hosted session on machine A: unconfirmed as well, and it does not block alice (a pending claim of alice does).
    expect((await api.op('lock', { paths: ['src/y.ts'] })).status).toBe('unconfirmed');
    // The lock held from before is still held on A, and still confirmed.
    expect(a.presence.claims().find((c) => c.path === 'docs/before.md')?.confirmed).toBe(true);

    const relay2 = await startServer({ dataDir: relayData, token: 'team-secret', port: relayPort });
    onCleanup(() => relay2.close());
    await waitFor(() => outcomes.has('alice:src/x.ts') && outcomes.has('bob:src/x.ts'), 'both claims settled', 15000);
    // Exactly one of the two is confirmed (the first the relay orders with no rival in view, or else
    // the earlier claim), the other is dropped and told; every peer names the same holder.
    expect([outcomes.get('alice:src/x.ts'), outcomes.get('bob:src/x.ts')].sort()).toEqual(['confirmed', 'lost']);
    const winner = outcomes.get('alice:src/x.ts') === 'confirmed' ? 'alice' : 'bob';
    await waitFor(async () => (await api.state()).locks.some((l) => l.path === 'src/y.ts' && l.state === 'held' && l.confirmed), 'hosted claim confirmed', 10000);
    await waitFor(() => holders(a, 'src/x.ts').join() === winner && holders(b, 'src/x.ts').join() === winner, 'both machines agree', 10000);
    expect([...a.presence.claims(), ...b.presence.claims()].filter((c) => c.path === 'src/x.ts')).toMatchObject([{ confirmed: true }]);
    await waitFor(() => holders(b, 'docs/before.md').join() === 'alice' && holders(b, 'src/y.ts').join() === 'hosted-carol', 'b sees every holder', 10000);
  });

  it('a machine cut off from the relay keeps its confirmed lock; a claim on another machine meanwhile yields when they meet', async () => {
    const { machineA, machineB } = await team();
    const a = await join(machineA.wsUrl, 'alice');
    const b = await join(machineB.wsUrl, 'bob');
    for (const p of [a, b]) await waitFor(() => p.presence.transport.online(), 'online', 5000);
    expect((await a.lock(['src/z.ts'])).status).toBe('confirmed');
    await waitFor(() => holders(b, 'src/z.ts').join() === 'alice', 'b sees alice hold it', 5000);
    // Machine A's link drops (its server keeps serving alice).
    const link = machineA.upstreams.get('team')!;
    link.conn.disconnect();
    await waitFor(() => !a.presence.transport.online(), 'alice loses authority', 5000);
    // The relay dropped machine A's presence at once: bob may take the lock, confirmed by the relay.
    await waitFor(() => holders(b, 'src/z.ts').length === 0, 'alice gone from B', 5000);
    expect((await b.lock(['src/z.ts'])).status).toBe('confirmed');
    const lost = new Promise<string>((r) => b.presence.on('lock-lost', (e) => r(e.claim.path)));
    link.conn.connect();
    // alice claimed first: bob yields when the machines meet again; everyone agrees.
    expect(await lost).toBe('src/z.ts');
    await waitFor(() => holders(a, 'src/z.ts').join() === 'alice' && holders(b, 'src/z.ts').join() === 'alice', 'agreement', 10000);
  });
});

/** A self-signed certificate for 127.0.0.1, made with openssl (skips the test when openssl is missing). */
function selfSigned(dir: string): { cert: string; key: string } | null {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { timeout: 10_000 });
  return r.status === 0 ? { cert, key } : null;
}

/** `huddle serve` as a child process (http or https); resolves with its URL once it listens. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}) {
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => void proc.kill('SIGKILL'));
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = (await waitFor(() => /listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1], 'server start', 15000)) as string;
  return { proc, url, wsUrl: url.replace(/^http/, 'ws'), output: () => out };
}

function getJson(url: string, ca?: string): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https') ? https : http).get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
  });
}

describe('TLS', () => {
  it('a relay on wss with a token; a machine syncs to it with --upstream-ca; an unknown CA and a wrong token are refused', async (ctx) => {
    const dir = tempDir();
    const pem = selfSigned(dir);
    if (!pem) return ctx.skip();
    const ca = fs.readFileSync(pem.cert, 'utf8');
    fs.writeFileSync(path.join(dir, 'token'), 'tls-secret\n');
    const relay = await serve(['--data', path.join(dir, 'relay'), '--token-file', path.join(dir, 'token'), '--tls-cert', pem.cert, '--tls-key', pem.key]);
    expect(relay.url).toMatch(/^https:\/\//);
    expect((await getJson(`${relay.url}/healthz`, ca)).ok).toBe(true);
    // Plain http to the https port is refused at the TLS layer; the server carries on.
    await expect(getJson(relay.url.replace('https', 'http') + '/healthz')).rejects.toThrow();

    const machine = await serve(['--data', path.join(dir, 'machine'), '--upstream', relay.wsUrl, '--upstream-token', 'tls-secret', '--upstream-ca', pem.cert]);
    const a = await join(machine.wsUrl, 'alice');
    a.context.decide(a.actor, { text: 'over TLS' });
    await a.whenStored();
    await waitFor(() => a.presence.transport.online(), 'authoritative through the wss upstream', 10000);
    const health = await getJson(`${machine.url}/healthz`);
    expect(health.upstream.projects.team).toMatchObject({ status: 'connected', authoritative: true });
    expect(health.upstream.url).toBe(relay.wsUrl);
    expect((await a.lock(['src/tls.ts'])).status).toBe('confirmed');

    // A library client straight to the relay, trusting the CA: sees the decision and alice's lock.
    const doc = new Y.Doc();
    const aw = new Awareness(doc);
    const direct = new RelayConnection({ url: relay.wsUrl, project: 'team', doc, awareness: aw, token: 'tls-secret', ca });
    onCleanup(() => direct.destroy());
    await direct.whenSynced(10000);
    await waitFor(() => new SharedContext(doc).decisions().some((d) => d.text === 'over TLS'), 'decision on the relay', 10000);
    await waitFor(() => buildPresence(aw.getStates()).locks.some((l) => l.session === 'alice' && l.path === 'src/tls.ts' && l.state === 'held'), 'lock seen on the relay', 10000);

    // Without the CA the certificate is not trusted: no connection, and nothing breaks.
    const doc2 = new Y.Doc();
    const untrusting = new RelayConnection({ url: relay.wsUrl, project: 'team', doc: doc2, awareness: new Awareness(doc2), token: 'tls-secret', maxBackoffMs: 200 });
    onCleanup(() => untrusting.destroy());
    let attempts = 0;
    untrusting.on('dropped', () => attempts++);
    await waitFor(() => attempts >= 3, 'three attempts refused at the TLS layer', 10000);
    expect(untrusting.synced).toBe(false);
    // A wrong token over TLS: refused for good (4401).
    const doc3 = new Y.Doc();
    const wrong = new RelayConnection({ url: relay.wsUrl, project: 'team', doc: doc3, awareness: new Awareness(doc3), token: 'nope', ca });
    onCleanup(() => wrong.destroy());
    await expect(wrong.whenSynced(5000)).rejects.toThrow(/4401/);
    expect((await getJson(`${relay.url}/healthz`, ca)).ok).toBe(true);
    // The huddle command against the TLS relay: HUDDLE_CA makes it trust the certificate.
    const env = { ...process.env, HUDDLE_SESSION: '', CLAUDE_CODE_SESSION_ID: '' };
    const cli = (extra: NodeJS.ProcessEnv) => spawnSync(process.execPath, [CLI, '--url', relay.wsUrl, '--project', 'team', '--token', 'tls-secret', 'decisions', '--json'], { encoding: 'utf8', env: { ...env, ...extra } });
    const trusted = cli({ HUDDLE_CA: pem.cert });
    expect(trusted.status, trusted.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(trusted.stdout))).toBe(true);
    const untrusted = cli({});
    expect(untrusted.status).toBe(2);
    expect(untrusted.stderr).toMatch(/TLS: .*HUDDLE_CA/);
  });
});
