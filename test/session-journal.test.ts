import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup, tempDir } from './helpers.js';
import { SessionJournal } from '../relay/session-journal.js';
import { decodeJournal, type JournalEntry } from '../src/store/session-journal-codec.js';
import { silentLogger } from '../relay/log.js';

afterEach(cleanup);

const entry = (id: string, task: string): JournalEntry => ({
  p: 'j1', id, name: id, role: 'backend', agent: 'claude-code', host: 'h', pid: 1, cwd: '/', branch: null, task, intent: null,
  startedAt: 1, lastActive: 2, lastSeen: 3, locks: [{ id: 'l1', path: 'src/**', mode: 'exclusive', claimedAt: 1, expiresAt: 9e12, capAt: 9e12, confirmed: true }],
});

describe('session journal', () => {
  it('stays bounded under frequent presence changes, and skips a torn or malformed line', () => {
    const dir = tempDir();
    const j = new SessionJournal(dir, silentLogger, { minCompactBytes: 4096 });
    expect(j.open()).toEqual([]);
    for (let i = 0; i < 600; i++) {
      j.mark('j1', 'a', () => entry('a', `task ${i}`));
      j.mark('j1', 'b', () => entry('b', `task ${i}`));
      j.flush();
    }
    const size = fs.statSync(j.file).size;
    expect(size).toBeLessThan(4 * 4096 + 2000);
    j.remove('j1', 'b');
    j.flush();
    j.close();
    // kill -9 in the middle of an append leaves half a line; a hand edit may leave junk.
    fs.appendFileSync(j.file, '{"op":"put","s":{"p":"j1","id":"x","name":1}}\n{"op":"put","s":{"p":"j1","id":"c"');
    const { entries, bad } = decodeJournal(fs.readFileSync(j.file, 'utf8'));
    expect(bad).toBe(2);
    expect(Array.from(entries.values()).map((e) => [e.id, e.task])).toEqual([['a', 'task 599']]);
    const again = new SessionJournal(dir, silentLogger);
    expect(again.open().map((e) => e.id)).toEqual(['a']);
    expect(again.skipped).toBe(2);
    again.close();
    expect(fs.readFileSync(path.join(dir, 'sessions.journal'), 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
