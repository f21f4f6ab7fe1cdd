import { resolve } from './dist/src/model/locks.js';
import { sessionOf } from './dist/src/model/session.js';
const now = Date.now();
const claims = [];
for (let i = 0; i < 100; i++) for (let j = 0; j < 10; j++) claims.push({ id: `l-${i}-${j}`, path: `src/s${i}/f${j}.ts`, mode: 'exclusive', claimedAt: now, expiresAt: now + 1e6, capAt: now + 1e7, confirmed: true, clientId: i, session: 's' + i, sessionName: 's', role: 'r' });
for (let r = 0; r < 3; r++) { const t = performance.now(); for (let k = 0; k < 100; k++) resolve(claims); console.log(((performance.now() - t) / 100).toFixed(3), 'ms/resolve'); }
const st = { huddle: { v: 1, kind: 'session', id: 's', name: 's', role: 'r', startedAt: now, lastActive: now, locks: [], editing: [] } };
let t = performance.now(); for (let k = 0; k < 100000; k++) sessionOf(st); console.log(((performance.now() - t) / 100000 * 1000).toFixed(3), 'us/sessionOf');
