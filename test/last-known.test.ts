/**
 * Issue 12, "when the server or the relay is away, show the last known truth": peek with the server
 * down keeps the sessions and locks last seen (marked as of then); a refused or unreachable team relay
 * shows with its reason in /healthz, peek and the dashboard; a write while it is away says where it is.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { cleanup, onCleanup, spawnServer, startServer, tempDir, waitExit, waitFor } from './helpers.js';
import { isolatedEnv, runCli } from './cli-run.js';
import { launchBrowser, skipBrowser } from './browser.js';
import type { HuddleServer } from '../relay/server.js';
import { HuddlePeer } from '../src/peer/peer.js';

afterEach(cleanup);

type Json = Record<string, any>;

function project(name: string): string {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, '.huddle'));
  fs.writeFileSync(path.join(dir, '.huddle', 'config.json'), JSON.stringify({ project: name }));
  return dir;
}

async function linkOf(server: HuddleServer, project: string): Promise<Json> {
  const h = (await (await fetch(`${server.url}/healthz`)).json()) as Json;
  return h.upstream?.projects?.[project];
}

describe('the last known truth', () => {
  it('peek with the server down shows the sessions and locks last seen, marked as of then', async () => {
    const data = path.join(tempDir(), 'data');
    const server = await spawnServer(data);
    const cwd = project('known1');
    const env = isolatedEnv({ HUDDLE_URL: server.wsUrl });
    expect((await runCli(['lock', 'src/db/**', '--reason', 'migrations'], { cwd, env: { ...env, HUDDLE_SESSION: 'sess-L', HUDDLE_NAME: 'lena' } })).code).toBe(0);
    const live = await runCli(['peek'], { cwd, env });
    expect(live.stdout).toContain('live');
    server.proc.kill('SIGKILL');
    await waitExit(server.proc);

    const r = await runCli(['peek'], { cwd, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OFFLINE, as of .* sessions and locks as last seen/);
    expect(r.stdout).toContain('lena');
    expect(r.stdout).toMatch(/src\/db\/\*\*\s+exclusive/);
    const j = JSON.parse((await runCli(['peek', '--json'], { cwd, env })).stdout) as Json;
    expect(j).toMatchObject({ source: 'offline', sessions: [{ id: 'sess-L', name: 'lena' }], locks: [{ path: 'src/db/**', reason: 'migrations' }] });
    expect(typeof j.presenceAsOf).toBe('number');
  });

  it('a team relay that refuses the token or cannot be reached shows with its reason; writes say they stay on this machine', async () => {
    const relay = await startServer({ token: 'the-right-token' });
    const refused = await startServer({ upstream: relay.wsUrl, upstreamToken: 'a-wrong-token' });
    const away = await startServer({ upstream: 'ws://127.0.0.1:9' });
    const cwd = project('known2');
    for (const s of [refused, away]) await fetch(`${s.url}/api/p/known2/state`);
    await waitFor(async () => (await linkOf(refused, 'known2'))?.reason === 'refused: wrong or missing token', 'the refusal in /healthz');
    const down = await linkOf(away, 'known2');
    expect(down).toMatchObject({ reason: 'unreachable', authoritative: false });
    expect(typeof down.downSince).toBe('number');

    const peek = await runCli(['peek'], { cwd, env: isolatedEnv({ HUDDLE_URL: refused.wsUrl }) });
    expect(peek.stdout).toMatch(/team relay ws:\/\/127\.0\.0\.1:\d+: refused: wrong or missing token/);
    const peek2 = await runCli(['peek'], { cwd, env: isolatedEnv({ HUDDLE_URL: away.wsUrl }) });
    expect(peek2.stdout).toMatch(/team relay ws:\/\/127\.0\.0\.1:9: unreachable since \d/);
    const write = await runCli(['decide', 'Use zod for config'], { cwd, env: isolatedEnv({ HUDDLE_URL: away.wsUrl }) });
    expect(write.code).toBe(0);
    expect(write.stderr).toMatch(/stored on this machine, not yet on the team relay ws:\/\/127\.0\.0\.1:9 \(unreachable since /);
    // Once it is reachable, nothing is said.
    const direct = await runCli(['decide', 'x'], { cwd, env: isolatedEnv({ HUDDLE_URL: relay.wsUrl, HUDDLE_TOKEN: 'the-right-token' }) });
    expect(direct.stderr).toBe('');
  });
});

describe.skipIf(skipBrowser)('dashboard: relay state and unknown projects', () => {
  let browser: BrowserContext;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows a refused team relay with its reason, and warns about a ?project= that does not exist', async () => {
    const relay = await startServer({ token: 'the-right-token' });
    const local = await startServer({ upstream: relay.wsUrl, upstreamToken: 'a-wrong-token' });
    const cwd = project('dash1');
    await runCli(['decide', 'something stored'], { cwd, env: isolatedEnv({ HUDDLE_URL: local.wsUrl }) });
    const page = await browser.newPage();
    onCleanup(() => page.close());
    await page.goto(`${local.url}/?project=dash1`);
    await page.waitForSelector('#relay:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#relay')).toMatch(/team relay ws:\/\/127\.0\.0\.1:\d+: refused: wrong or missing token/);
    expect(await page.isHidden('#notice')).toBe(true);

    await page.goto(`${local.url}/?project=dahs1`);
    await page.waitForSelector('#notice:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#notice')).toContain('No project named “dahs1” exists on this server yet');
    expect(await page.textContent('#notice')).toContain('dash1');
  });

  it('a server that shuts down leaves the last known sessions and locks on the page, as of then', async () => {
    const server = await startServer();
    const alice = await HuddlePeer.join({ url: server.wsUrl, project: 'dash2', session: { id: 'a', name: 'alice', role: 'backend' }, heartbeatMs: 200 });
    onCleanup(() => alice.close());
    expect((await alice.lock(['src/api/**'])).status).toBe('confirmed');
    const page = await browser.newPage();
    onCleanup(() => page.close());
    // The page's own clock, running at the real pace, so that the 2 s of "reconnecting…" can be skipped.
    await page.clock.install();
    await page.goto(`${server.url}/?project=dash2`);
    await page.locator('tr[data-session="a"]').waitFor({ timeout: 10_000 });
    await page.locator('tr[data-lock="src/api/**"]').waitFor({ timeout: 10_000 });
    await server.close();
    await page.locator('#conn.conn-reconnecting, #conn.conn-offline').waitFor({ timeout: 10_000 });
    await page.clock.fastForward(2500);
    await page.locator('#conn', { hasText: /offline as of \d\d:\d\d:\d\d/ }).waitFor({ timeout: 10_000 });
    expect(await page.locator('tr[data-session="a"]').count()).toBe(1);
    expect(await page.locator('tr[data-lock="src/api/**"]').count()).toBe(1);
    expect(await page.locator('#main').getAttribute('class')).toContain('as-of');
  });
});
