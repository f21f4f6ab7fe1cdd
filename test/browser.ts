/** Debian's Chromium for the dashboard tests, driven by playwright-core (which downloads no browser). */
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.HUDDLE_CHROMIUM ?? '/usr/bin/chromium';
// In CI the browser must be there (.ci/run installs it): never skip there.
export const skipBrowser = !fs.existsSync(CHROMIUM) && !process.env.CI;

// One Chromium per test process (vitest keeps a worker's modules from file to file, isolate: false):
// launching and closing one cost about 2 s of wall and over a CPU-second per file (issue 15).
// Kept on globalThis so that a second copy of this module, should one be loaded, finds it too.
const KEY = Symbol.for('huddle.test.chromium');
const slot = globalThis as { [KEY]?: Promise<Browser> };

function sharedBrowser(): Promise<Browser> {
  const current = slot[KEY];
  if (!current) return launch();
  // A browser that crashed or was closed is launched again.
  return current.then(
    (b) => (b.isConnected() ? b : slot[KEY] === current ? launch() : sharedBrowser()),
    () => (slot[KEY] === current ? launch() : sharedBrowser()),
  );
}

function launch(): Promise<Browser> {
  const launched = chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  slot[KEY] = launched;
  const forget = () => {
    if (slot[KEY] === launched) delete slot[KEY];
  };
  launched.then((b) => b.on('disconnected', forget), forget);
  if (!process.listeners('SIGTERM').includes(closeAndExit)) process.once('SIGTERM', closeAndExit);
  return launched;
}

/**
 * vitest stops a worker with SIGTERM, and SIGKILL 500 ms later if it is still there. Close the
 * browser first, so that Chromium's processes end and are reaped (none is left behind, and their
 * CPU time is counted), then exit; playwright-core kills whatever is left on exit.
 */
function closeAndExit(): void {
  const closed = slot[KEY]?.then((b) => b.close(), () => undefined) ?? Promise.resolve();
  void Promise.race([closed, new Promise((r) => setTimeout(r, 400))]).finally(() => process.exit());
}

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
