/**
 * `huddle serve --log-file`: the built command as a real process writes its
 * log to the file (0600), not stderr; the file holds the start, refusals and
 * the shutdown, never the token or what a message said; SIGHUP reopens it
 * after a rotation moved it away.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanup, spawnServer, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

const TOKEN = 'sekrit-token-7f3a9c';
const CONTENT = 'the launch code is 0000';

/** A WebSocket connection the server refuses (a wrong token): one warn line. */
async function refused(wsUrl: string): Promise<void> {
  const ws = new WebSocket(`${wsUrl}/proj?token=wrong-${TOKEN}`);
  await new Promise<void>((resolve) => {
    ws.on('error', () => resolve());
    ws.on('close', () => resolve());
  });
}

describe('serve --log-file', () => {
  it('logs to the file, never tokens or contents, and reopens it on SIGHUP', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'logs', 'server.log');
    const s = await spawnServer(path.join(dir, 'data'), ['--token', TOKEN, '--log-level', 'info', '--log-file', file]);
    const log = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
    await waitFor(() => /info {2}listening url=http:\/\/127\.0\.0\.1:\d+/.test(log()), 'the listening line');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    await refused(s.wsUrl);
    await waitFor(() => log().includes('connection refused: missing or wrong token'), 'the refusal');
    const post = (op: string, body: unknown) =>
      fetch(`${s.url}/api/p/proj/op/${op}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
    expect((await post('send', { session: { id: 'ann', name: 'ann' }, to: 'all', text: CONTENT })).status).toBe(200);
    expect((await post('decide', { session: { id: 'ann', name: 'ann' }, text: CONTENT, rationale: CONTENT })).status).toBe(200);

    // A rotation moves the file away; SIGHUP makes the server start a new one at the path.
    fs.renameSync(file, `${file}.1`);
    s.proc.kill('SIGHUP');
    await waitFor(() => fs.existsSync(file), 'a new log file');
    await refused(s.wsUrl);
    await waitFor(() => log().includes('connection refused'), 'the refusal in the new file');

    s.proc.kill('SIGTERM');
    await new Promise((r) => s.proc.once('exit', r));
    expect(log()).toContain('SIGTERM received: flushing and stopping');
    const all = fs.readFileSync(`${file}.1`, 'utf8') + log();
    for (const secret of [TOKEN, CONTENT, 'launch code']) expect(all).not.toContain(secret);
    // The log went to the file, not to stderr (stdout keeps the one line saying where it listens).
    expect(s.output()).not.toMatch(/\b(info|warn) {1,2}/);
    expect(s.output()).toMatch(/huddle server listening on/);
  });

  it('a log file that cannot be opened is a usage error naming it', async () => {
    const dir = tempDir();
    const blocker = path.join(dir, 'not-a-folder');
    fs.writeFileSync(blocker, '');
    await expect(spawnServer(path.join(dir, 'data'), ['--log-file', path.join(blocker, 'server.log')])).rejects.toThrow(/cannot open the log file .*not-a-folder/);
  });
});
