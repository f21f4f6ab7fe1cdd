/** Debian's Chromium for the dashboard tests, driven by playwright-core (which downloads no browser). */
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.HUDDLE_CHROMIUM ?? '/usr/bin/chromium';
// In CI the browser must be there (.ci/run installs it): never skip there.
export const skipBrowser = !fs.existsSync(CHROMIUM) && !process.env.CI;

// One Chromium per test process (vitest keeps a worker's modules from file to file, isolate: false):
// launching and closing one cost about 2.5 s of wall and over a CPU-second per file (issue 15).
// Kept on globalThis so that a second copy of this module, should one be loaded, finds it too.
const KEY = Symbol.for('huddle.test.chromium');
const slot = globalThis as { [KEY]?: Promise<Browser> };

function sharedBrowser(): Promise<Browser> {
  const current = slot[KEY];
  if (current) {
    // A browser that crashed or was closed is launched again.
    return current.then(
      (b) => (b.isConnected() ? b : relaunch(current)),
      () => relaunch(current),
    );
  }
  return relaunch(undefined);
}

function relaunch(old: Promise<Browser> | undefined): Promise<Browser> {
  if (slot[KEY] !== old) return sharedBrowser(); // another caller got there first
  const launched = chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  slot[KEY] = launched;
  launched.then(
    (b) => b.on('disconnected', () => {
      if (slot[KEY] === launched) delete slot[KEY];
    }),
    () => {
      if (slot[KEY] === launched) delete slot[KEY];
    },
  );
  return launched;
}

// playwright-core kills the browsers it launched when the process exits; closing it here as well
// lets Chromium end cleanly when the worker is asked to stop.
process.once('beforeExit', () => void slot[KEY]?.then((b) => b.close(), () => undefined));

/**
 * A fresh context in the process's headless Chromium (its own empty profile in memory, like a new
 * incognito window: no cookies, storage or cache shared with other tests); close it when done.
 * Not launchPersistentContext: closing a browser with a profile on disk waited 3-4 s for it to be
 * flushed, in every file that used one.
 */
export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  const browser = await sharedBrowser();
  return browser.newContext(opts.viewport ? { viewport: opts.viewport } : {});
}
