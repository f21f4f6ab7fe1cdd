import { HuddleServer } from './dist/relay/server.js';
import { silentLogger } from './dist/relay/log.js';
import os from 'node:os'; import fs from 'node:fs'; import path from 'node:path';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prof-'));
const s = new HuddleServer({ port: 0, dataDir: dir }, silentLogger);
await s.listen();
const post = async (r, b) => (await fetch(s.url + r, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) })).json();
let t = performance.now();
for (let i = 0; i < 100; i++) {
  const paths = Array.from({ length: 10 }, (_, j) => `src/s${i}/f${j}.ts`);
  const r = await post('/api/p/many/op/lock', { session: { id: `s-${i}`, name: `s${i}` }, paths });
  if (i % 20 === 19) { const n = performance.now(); console.log(i, r.result.status, ((n - t) / 20).toFixed(1), 'ms/op'); t = n; }
}
const lat = [];
for (let k = 0; k < 300; k++) {
  const t0 = performance.now();
  await post('/api/p/many/op/lock', { session: { id: `s-${k % 100}` }, paths: [`extra/${k}.ts`] });
  lat.push(performance.now() - t0);
  await post('/api/p/many/op/unlock', { session: { id: `s-${k % 100}` }, paths: [`extra/${k}.ts`] });
}
lat.sort((a, b) => a - b); console.log('lock p50', lat[150].toFixed(2), 'p99', lat[297].toFixed(2));
await s.close(); fs.rmSync(dir, { recursive: true, force: true });
