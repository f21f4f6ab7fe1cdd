/**
 * Only what is durable fans out: a watcher (the /events stream behind `huddle watch`)
 * never reports an event that a `kill -9` of the server right after loses.
 *
 * The server runs with a small file-size limit (RLIMIT_FSIZE), so that past a few
 * writes its write-ahead log appends fail (EFBIG) and updates are held in memory,
 * as on a full disk. A watcher that heard of updates before they reached the log
 * would report events that the kill -9 then loses.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { CLI, cleanup, followEvents, onCleanup, readStoredDoc, sleep, tempDir, waitExit } from './helpers.js';

afterEach(cleanup);

async function limitedServer(dataDir: string, kib: number) {
  const proc = spawn('bash', ['-c', `ulimit -f ${kib} && exec "$0" "$@"`, process.execPath, CLI, 'serve', '--port', '0', '--data', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  proc.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return { proc, url: `http://127.0.0.1:${port}`, output: () => out };
}

/** Follow /events; collect the decision events it reports. */
function watch(url: string, project: string, ac: AbortController): { refs: string[]; opened: Promise<void> } {
  const refs: string[] = [];
  const opened = followEvents(url, project, ac.signal, (ev) => {
    if (ev.type === 'decision' && ev.ref) refs.push(ev.ref);
  });
  return { refs, opened };
}

describe('durable fan-out', () => {
  it('a watcher never reports an event that is missing after kill -9 right after it', async () => {
    const rationale = 'x'.repeat(4000);
    // Three rounds, each with its own server and data, run side by side: most of a round is waiting for
    // writes that are never answered.
    const round = async (round: number): Promise<number> => {
      const dataDir = path.join(tempDir(), 'data');
      const server = await limitedServer(dataDir, 48);
      const ac = new AbortController();
      onCleanup(() => ac.abort());
      const w = watch(server.url, 'p', ac);
      await w.opened;
      // Write until a write is no longer acknowledged (the log is full), and a few more.
      let stuck = 0;
      for (let i = 0; i < 60 && stuck < 2; i++) {
        const res = fetch(`${server.url}/api/p/p/op/decide`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ session: { id: 'writer' }, text: `d${round}-${i}`, rationale }),
          signal: ac.signal,
        }).catch(() => null);
        const answered = await Promise.race([res.then(() => true), sleep(300).then(() => false)]);
        if (!answered) stuck++;
      }
      expect(stuck).toBeGreaterThan(0); // the limit was reached: some writes were held
      await sleep(100);
      const reported = w.refs.slice();
      server.proc.kill('SIGKILL');
      await waitExit(server.proc);
      ac.abort();
      const doc = await readStoredDoc(dataDir, 'p');
      const stored = doc.getMap('decisions');
      const missing = reported.filter((ref) => !stored.has(ref));
      expect(missing).toEqual([]);
      return reported.length;
    };
    const reportedTotal = (await Promise.all([0, 1, 2].map(round))).reduce((a, b) => a + b, 0);
    // Not vacuous: the watcher did report the durable decisions.
    expect(reportedTotal).toBeGreaterThan(3);
  }, 60_000);
});
