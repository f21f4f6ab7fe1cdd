/**
 * The dashboard shows the server's team relay link and its state (issue 15) in Chromium:
 * "connected" while the link is up, "unreachable since TIME" once the relay is gone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { HuddlePeer } from '../src/peer/peer.js';
import { cleanup, onCleanup, startServer, waitFor } from './helpers.js';
import { launchBrowser, skipBrowser } from './browser.js';

afterEach(cleanup);

describe.skipIf(skipBrowser)('dashboard: the team relay link', () => {
  let browser: BrowserContext;

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('says connected while the link is up, unreachable once the relay is gone', { timeout: 60_000 }, async () => {
    const relay = await startServer();
    const local = await startServer({ upstream: relay.wsUrl });
    const peer = await HuddlePeer.join({ url: local.wsUrl, project: 'demo', session: { id: 'alice', name: 'alice', role: 'backend' }, heartbeatMs: 200 });
    onCleanup(() => peer.close());
    const page = await browser.newPage();
    onCleanup(() => page.close());
    // The page's own clock, moved on below instead of waiting for its next poll; it runs as usual otherwise.
    await page.clock.install();
    await page.goto(`${local.url}/?project=demo`);
    const link = page.locator('#relay');
    await expect.poll(() => link.textContent(), { timeout: 20_000 }).toBe(`team relay ${relay.wsUrl}: connected`);
    expect(await link.isVisible()).toBe(true);
    // The longer header still fits a phone: nothing scrolls sideways, the link stays inside the page.
    await page.setViewportSize({ width: 360, height: 800 });
    await page.waitForTimeout(50);
    expect(await page.evaluate(() => {
      const doc = document.documentElement;
      const r = document.getElementById('relay')!.getBoundingClientRect();
      return { scrolls: doc.scrollWidth > doc.clientWidth, past: r.right > doc.clientWidth + 0.5 };
    })).toEqual({ scrolls: false, past: false });

    await relay.close();
    // The page asks the server every 5 s. Once the server knows its link is down, bring the page's
    // next poll forward: what the page shows is still what that poll finds.
    const linkDown = async () => {
      const h = (await (await fetch(`${local.url}/healthz`)).json()) as { upstream: { projects: Record<string, { status: string }> } };
      return h.upstream.projects.demo?.status !== 'connected';
    };
    await waitFor(linkDown, 'the server sees its link down', 15_000);
    await page.clock.fastForward(5000);
    await expect.poll(() => link.textContent(), { timeout: 20_000 }).toMatch(/^team relay .*: unreachable since \d\d:\d\d/);
  });
});
