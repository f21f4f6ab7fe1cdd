import { buildPresence } from './dist/src/model/view.js';
const now = Date.now();
const states = new Map();
for (let i = 0; i < 100; i++) states.set(i + 1, { huddle: { v: 1, kind: 'session', id: 's' + i, name: 's' + i, role: 'r', agent: 'a', host: 'h', pid: 1, cwd: '/', branch: null, task: null, intent: null, startedAt: now, lastActive: now, hosted: true, editing: [],
  locks: Array.from({ length: 10 }, (_, j) => ({ id: `l-${i}-${j}`, path: `src/s${i}/f${j}.ts`, mode: 'exclusive', claimedAt: now, expiresAt: now + 1e6, capAt: now + 1e7, confirmed: true })) } });
for (let r = 0; r < 5; r++) { const t = performance.now(); for (let k = 0; k < 100; k++) buildPresence(states, { now }); console.log(((performance.now() - t) / 100).toFixed(3), 'ms/build'); }
