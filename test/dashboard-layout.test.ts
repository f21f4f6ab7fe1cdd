/**
 * The dashboard's layout in Chromium (issue 15): a populated project fits its
 * cards at every width from 360 to 2560 px (no element reaches past the panel
 * it is in, no horizontal scroll, no action button cut off), plain words
 * instead of jargon, a non-destructive style for adding things, and a token
 * page with a field; claim, answer and send from the page, signed with a
 * name asked once. Screenshots of the populated page at 390, 1366 and
 * 1920 px go to test-output/.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { HuddlePeer, type JoinOptions } from '../src/peer/peer.js';
import { cleanup, onCleanup, ROOT, startServer } from './helpers.js';
import { launchBrowser, skipBrowser } from './browser.js';

afterEach(cleanup);

const OUT = path.join(ROOT, 'test-output');

/** The widths checked: phones, tablets, the laptop range where the locks panel used to overflow, big screens. */
const WIDTHS = [360, 390, 768, 1024, 1281, 1366, 1440, 1500, 1600, 1920, 2560];
const SHOTS = [390, 1366, 1920];

async function join(url: string, project: string, session: JoinOptions['session']): Promise<HuddlePeer> {
  const peer = await HuddlePeer.join({ url, project, session, heartbeatMs: 200 });
  onCleanup(() => peer.close());
  return peer;
}

/** Elements that reach past the right edge of their panel, or panels wider than the page. */
function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const bad: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) bad.push(`page scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    for (const panel of Array.from(document.querySelectorAll<HTMLElement>('.panel'))) {
      if (panel.offsetParent === null) continue;
      const edge = panel.getBoundingClientRect().right + 0.5;
      if (panel.scrollWidth > panel.clientWidth + 1) bad.push(`#${panel.id} scrolls: ${panel.scrollWidth} > ${panel.clientWidth}`);
      for (const el of Array.from(panel.querySelectorAll<HTMLElement>('*'))) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        if (r.right > edge) bad.push(`#${panel.id} ${el.tagName.toLowerCase()}.${el.className} "${(el.textContent ?? '').trim().slice(0, 30)}" ends at ${Math.round(r.right)} > ${Math.round(edge)}`);
      }
    }
    return bad.slice(0, 10);
  });
}

describe.skipIf(skipBrowser)('dashboard layout in Chromium', () => {
  let browser: BrowserContext;

  beforeAll(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    browser = await launchBrowser({ viewport: { width: 1366, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('fits every card at widths from 360 to 2560 px, in plain words', { timeout: 120_000 }, async () => {
    const server = await startServer();
    const W = server.wsUrl;
    const alice = await join(W, 'demo', { id: 'alice', name: 'alice', role: 'frontend', agent: 'claude-code', task: 'Login form', intent: 'wiring the submit button', branch: 'feat/login-form-with-a-rather-long-branch-name' });
    const bob = await join(W, 'demo', { id: 'bob', name: 'bob', role: 'backend', agent: 'codex', task: 'Rate limits' });
    const c = alice.context;
    c.decide(alice.actor, { text: 'Sessions expire after 30 minutes of inactivity', rationale: 'matches the mobile app' });
    c.declare(alice.actor, { name: 'POST /api/login', file: 'src/api/login.ts', description: 'email + password → session cookie', status: 'ready' });
    const t = c.addTask(alice.actor, { title: 'Rate-limit the login endpoint', role: 'backend' });
    c.addTask(alice.actor, { title: 'Password reset e-mail', role: 'backend', deps: [t.id] });
    c.claimTask(bob.actor, t.id);
    c.send(bob.actor, { to: 'role:frontend', kind: 'request', text: 'Which error codes does the form show?', needsReply: true });
    c.setNote(alice.actor, 'staging-url', 'https://staging.example.com/with/a/rather/long/path/that/must/wrap/inside/its/card?and=query&strings=too');
    c.snapshot(alice.actor, { name: 'before-the-login-rework' });
    alice.presence.editing('src/ui/LoginForm.tsx', [[10, 40]]);
    bob.presence.editing('src/ui/LoginForm.tsx', [[30, 55]]);
    expect((await alice.lock(['src/ui/components/authentication/LoginFormWithValidation.tsx'], { reason: 'reshaping the props of the form component' })).status).toBe('confirmed');
    expect((await bob.lock(['src/api/**'], { reason: 'API refactor' })).status).toBe('confirmed');
    await alice.whenStored();

    const page = await browser.newPage();
    onCleanup(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}/?project=demo`);
    await page.locator('#conn.conn-live').waitFor();
    await page.locator('tr[data-lock="src/api/**"]').waitFor();
    await page.locator('tr[data-session="bob"]').waitFor();

    // The notes and versions of the shared context, and a change to them shows live.
    await page.locator('#notes li[data-note="staging-url"]').waitFor();
    expect(await page.locator('#notes').textContent()).toContain('https://staging.example.com/with/a/rather/long');
    expect(await page.locator('#versions').textContent()).toMatch(/before-the-login-rework[\s\S]*saved[\s\S]*2 tasks/);
    c.setNote(bob.actor, 'rate-limit', '100 requests a minute per IP');
    c.snapshot(bob.actor, { name: 'limits-agreed' });
    await page.locator('#notes li[data-note="rate-limit"]').waitFor();
    await expect.poll(() => page.locator('#versions li').first().textContent()).toContain('limits-agreed');
    expect(await page.locator('#n-versions').textContent()).toBe('2');

    // Plain words; adding is not styled as destructive, releasing is.
    expect(await page.locator('#watchers').textContent()).not.toMatch(/Watching: this page/);
    expect(await page.locator('#sessions').textContent()).not.toMatch(/\(hosted\)/);
    expect(await page.locator('#confirm-ok').getAttribute('class')).not.toMatch(/danger/);
    expect(await page.locator('tr[data-lock="src/api/**"] button').getAttribute('class')).toMatch(/danger/);

    // The layout is CSS alone (no script reacts to the size): one frame after a resize, it is final.
    const frame = () => page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => r())));
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await frame();
      expect({ width, overflow: await overflowing(page) }).toEqual({ width, overflow: [] });
      // Every release button is fully inside its panel and not clipped.
      const cut = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('#locks button')).filter((b) => b.scrollWidth > b.clientWidth + 1).length);
      expect({ width, cut }).toEqual({ width, cut: 0 });
      if (SHOTS.includes(width)) {
        await page.mouse.move(0, 0);
        await page.screenshot({ path: path.join(OUT, `dashboard-${width}.png`), fullPage: true });
      }
    }
    // Actions a lead takes, signed with a name asked once and kept in the browser: claim another's task
    // (who is told), answer the open request, send a message to a role.
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.getByRole('button', { name: 'Claim the task Rate-limit the login endpoint' }).click();
    const claim = page.getByRole('dialog', { name: 'Claim a task' });
    await claim.getByLabel(/your name/i).fill('Dana');
    await claim.getByRole('button', { name: 'Claim' }).click();
    await expect.poll(() => alice.context.tasks().find((x) => x.id === t.id)?.assignee?.name).toBe('Dana');
    await expect.poll(() => alice.context.messages().some((m) => m.to === 'bob' && m.byName === 'Dana' && /took over your task/.test(m.text))).toBe(true);
    await page.getByRole('button', { name: 'Answer bob' }).click();
    const ans = page.getByRole('dialog', { name: 'Answer a request' });
    expect(await ans.getByLabel(/your name/i).isHidden()).toBe(true); // asked once
    await ans.getByLabel('Your answer').fill('400 and 429');
    await ans.getByRole('button', { name: 'Send answer' }).click();
    await expect.poll(() => alice.context.messages().some((m) => m.kind === 'response' && m.to === 'bob' && m.byName === 'Dana' && m.text === '400 and 429')).toBe(true);
    await page.locator('#send-message summary').click();
    await page.getByLabel('To', { exact: true }).fill('role:backend');
    await page.getByLabel('Message', { exact: true }).fill('Standup in 5');
    await page.getByRole('button', { name: 'Send…' }).click();
    await page.getByRole('dialog', { name: 'Send a message' }).getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => alice.context.messages().some((m) => m.to === 'role:backend' && m.byName === 'Dana' && m.text === 'Standup in 5')).toBe(true);
    await page.locator('#send-message summary').click();
    await page.evaluate(() => document.getElementById('toasts')!.replaceChildren());

    // The picture in the README (docs/dashboard.png is a copy of it): the top of the page at a laptop width.
    await page.setViewportSize({ width: 1100, height: 700 });
    await frame();
    await page.screenshot({ path: path.join(OUT, 'dashboard-readme.png'), clip: { x: 0, y: 0, width: 1100, height: 560 } });
    expect(errors).toEqual([]);
  });

  it('a server that needs a token shows a field for it', async () => {
    const server = await startServer({ token: 'sekrit-token-value' });
    const page = await browser.newPage();
    onCleanup(() => page.close());
    await page.goto(`${server.url}/?project=demo`);
    const field = page.getByLabel('Token');
    await field.waitFor();
    await field.fill('sekrit-token-value');
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.waitForURL(/token=sekrit-token-value/);
    await page.locator('#conn.conn-live').waitFor();
  });
});
