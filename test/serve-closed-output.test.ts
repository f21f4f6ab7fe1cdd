/**
 * `huddle serve` outlives whoever reads its output: with its stdout and stderr
 * pipes closed (a pipe into `head`, a closed terminal) it keeps serving and does
 * not spin. Before 2026-12-02 the first log line after the reader left raised
 * EPIPE as an uncaught exception, which the server logged to the same broken
 * pipe, which raised again: 100 % CPU, counted as uncaught errors.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cleanup, onCleanup, sleep, tempDir, waitFor } from './helpers.js';
import { HuddlePeer } from '../src/peer/peer.js';

afterAll(cleanup);

describe('huddle serve with its output closed', () => {
  it('keeps serving and counts no uncaught error after its stdout and stderr readers are gone', async () => {
    const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', path.join(tempDir(), 'data'), '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    onCleanup(() => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    const port = Number((await waitFor(() => /listening on http:\/\/[^:]+:(\d+)/.exec(out), 'the server to listen', 15_000))![1]);
    // The readers go away.
    proc.stdout!.destroy();
    proc.stderr!.destroy();
    // Work that logs (debug): a session joins and writes, a request is answered.
    const peer = await HuddlePeer.join({ url: `ws://127.0.0.1:${port}`, project: 'closed', session: { id: 's', name: 's' } });
    onCleanup(() => peer.close());
    peer.context.decide(peer.actor, { text: 'logged after the pipes closed' });
    await peer.whenStored();
    await sleep(300);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(/^huddle_uncaught_errors_total (\d+)$/m.exec(metrics)?.[1]).toBe('0');
    expect(proc.exitCode).toBe(null);
  });
});
