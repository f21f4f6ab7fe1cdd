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
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'profr-'));
fs.mkdirSync(root + '/.git'); fs.writeFileSync(root + '/.git/HEAD', 'ref: refs/heads/main\n'); fs.mkdirSync(root + '/.huddle'); fs.writeFileSync(root + '/.huddle/config.json', JSON.stringify({ project: 'many' }));
const lat = [];
for (let k = 0; k < 300; k++) {
  const t0 = performance.now();
  const r = await post('/hooks/claude-code', { session_id: `s-${k % 100}`, transcript_path: '/tmp/t', cwd: root, permission_mode: 'default', hook_event_name: 'PreToolUse', tool_name: 'Edit', tool_input: { file_path: root + `/src/s${(k + 1) % 100}/f0.ts`, old_string: 'a', new_string: 'b' }, tool_use_id: 't' });
  lat.push(performance.now() - t0);
  if (k === 0) console.log(JSON.stringify(r).slice(0, 100));
}
lat.sort((a, b) => a - b); console.log('hook p50', lat[150].toFixed(2), 'p99', lat[297].toFixed(2));
await s.close(); fs.rmSync(dir, { recursive: true, force: true });
