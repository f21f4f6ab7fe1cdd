import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import * as Y from 'yjs';
import { DocWal, readLog, readRecords, replayWal, walDir } from '../src/store/wal.js';
import { DocStore } from '../src/store/doc-store.js';
import { cleanup, tempDir } from './helpers.js';

afterEach(cleanup);

function updates(n: number): Uint8Array[] {
  const doc = new Y.Doc();
  const out: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => out.push(u));
  for (let i = 0; i < n; i++) doc.getArray<number>('xs').push([i]);
  return out;
}

describe('write-ahead log', () => {
  it('reads back intact records and stops at a torn tail', () => {
    const dir = walDir(tempDir());
    const wal = new DocWal(dir, 'p.x');
    const us = updates(5);
    wal.append(us.slice(0, 3));
    wal.append(us.slice(3));
    const file = wal.closeCurrent()!;
    // A crash in the middle of a write leaves part of a record.
    fs.appendFileSync(file, Buffer.from([200, 0, 0, 0, 1, 2, 3]));
    const back = readRecords(file);
    expect(back.map((u) => Buffer.from(u).toString('hex'))).toEqual(us.map((u) => Buffer.from(u).toString('hex')));
    // A corrupted record in the middle (a flipped byte) is skipped; every record after it is recovered.
    const bytes = fs.readFileSync(file);
    bytes[8 + us[0].byteLength + 8] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const hex = (l: Uint8Array[]) => l.map((u) => Buffer.from(u).toString('hex'));
    expect(hex(readRecords(file))).toEqual(hex([us[0], ...us.slice(2)]));
    const r = readLog(file);
    expect(r).toMatchObject({ damaged: 1, damagedBytes: 8 + us[1].byteLength, tornBytes: 7 });
  });

  it('a flipped byte in a length field loses only that record', () => {
    const dir = walDir(tempDir());
    const wal = new DocWal(dir, 'p.y');
    const us = updates(50);
    wal.append(us);
    const file = wal.closeCurrent()!;
    const bytes = fs.readFileSync(file);
    let o = 0;
    for (let i = 0; i < 20; i++) o += 8 + us[i].byteLength;
    bytes[o] ^= 0x40; // record 20's length
    fs.writeFileSync(file, bytes);
    const back = readLog(file);
    expect(back.records).toHaveLength(49);
    expect(back.damaged).toBe(1);
  });

  it('replays logs left by a crash into LevelDB and removes them', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const us = updates(10);
    const wal = new DocWal(walDir(dataDir), 'proj');
    wal.append(us.slice(0, 4));
    wal.rotateIfLarge(1); // a second file, as after a rotation
    wal.append(us.slice(4));
    wal.closeCurrent();
    expect(fs.readdirSync(walDir(dataDir))).toHaveLength(2);
    const store = new DocStore(dataDir);
    await store.open();
    const r = await replayWal(dataDir, store);
    expect(r).toMatchObject({ files: 2, records: 10, docs: ['proj'] });
    expect(fs.readdirSync(walDir(dataDir))).toHaveLength(0);
    const loaded = await store.load('proj');
    await store.close();
    const doc = new Y.Doc();
    Y.applyUpdate(doc, loaded.update!);
    expect(doc.getArray('xs').toArray()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
