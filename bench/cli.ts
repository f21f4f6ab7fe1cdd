/**
 * The huddle command as whole processes: wall time of `huddle peek --json` and
 * `huddle decide` against a local server, Node start-up included, beside a
 * bare `node -e 0` (the floor no command can go below).
 */
import { spawnSync } from 'node:child_process';
import type { Section } from './section.js';
import type { ResultRow } from './stats.js';
import { summarize } from './stats.js';
import { HUDDLE_CLI, makeTempDir, startServer } from './procs.js';

function timeRuns(args: string[], n: number, cwd: string): number[] {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('HUDDLE_') || k.startsWith('CLAUDE_CODE_')) delete env[k];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (i > 0) out.push(ms); // the first run warms the file cache
  }
  return out;
}

export const cliSection: Section = {
  name: 'cli',
  groups: ['client'],
  description: 'wall time of huddle peek --json and huddle decide as whole processes (p50/p99, Node start-up included)',
  async run(ctx) {
    const n = ctx.quick ? 11 : 41;
    const dir = makeTempDir();
    const server = await startServer('huddle', `${dir}/data`);
    try {
      const base = [HUDDLE_CLI, '--url', server.wsUrl, '--project', 'bench-cli'];
      const rows: ResultRow[] = [];
      const node = summarize(timeRuns(['-e', '0'], n, dir));
      for (const [metric, args] of [
        ['peek --json', [...base, 'peek', '--json']],
        ['decide', [...base, 'decide', 'a benchmark decision', '--why', 'timing']],
      ] as const) {
        ctx.progress(`cli: ${metric} x${n}`);
        const s = summarize(timeRuns([...args], n, dir));
        rows.push({ section: 'cli', metric: `${metric} p50`, unit: 'ms', huddle: s.p50, reference: null, goal: '< 150 ms', met: s.p50 < 150, note: `bare node -e 0: p50 ${node.p50.toFixed(0)} ms` });
        rows.push({ section: 'cli', metric: `${metric} p99`, unit: 'ms', huddle: s.p99, reference: null, goal: '', met: null });
      }
      return rows;
    } finally {
      await server.stop();
    }
  },
};
