/** Debian's Chromium for the dashboard tests, driven by playwright-core (which downloads no browser). */
import fs from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.HUDDLE_CHROMIUM ?? '/usr/bin/chromium';
// In CI the browser must be there (.ci/run installs it): never skip there.
export const skipBrowser = !fs.existsSync(CHROMIUM) && !process.env.CI;

/**
 * A headless Chromium and a fresh context in it (its own empty profile in memory, like a new
 * incognito window); closing the context closes the browser too. Not launchPersistentContext: closing
 * a browser with a profile on disk waited 3-4 s for it to be flushed, in every file that used one.
 */
export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext(opts.viewport ? { viewport: opts.viewport } : {});
  const closeContext = context.close.bind(context);
  context.close = async (options) => {
    await closeContext(options);
    await browser.close();
  };
  return context;
}
