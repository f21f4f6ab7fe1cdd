/**
 * The dashboard shows the server's team relay link and its state (issue 15) in Chromium:
 * "connected" while the link is up, "unreachable since TIME" once the relay is gone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { HuddlePeer } from '../src/peer/peer.js';
import { cleanup, onCleanup, startServer } from './helpers.js';

afterEach(cleanup);

const CHROMIUM = process.env.HUDDLE_CHROMIUM ?? '/usr/bin/chromium';
const skipBrowser = !fs.existsSync(CHROMIUM) && !process.env.CI;

describe.skipIf(skipBrowser)('dashboard: the team relay link', () => {
  let browser: BrowserContext;
  let profile = '';

  beforeAll(async () => {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  it('says connected while the link is up, unreachable once the relay is gone', { timeout: 60_000 }, async () => {
    const relay = await startServer();
    const local = await startServer({ upstream: relay.wsUrl });
    const peer = await HuddlePeer.join({ url: local.wsUrl, project: 'demo', session: { id: 'alice', name: 'alice', role: 'backend' }, heartbeatMs: 200 });
    onCleanup(() => peer.close());
    const page = await browser.newPage();
    onCleanup(() => page.close());
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
    await expect.poll(() => link.textContent(), { timeout: 20_000 }).toMatch(/^team relay .*: unreachable since \d\d:\d\d/);
  });
});
