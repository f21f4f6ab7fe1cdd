/**
 * The huddle command as whole processes: wall time of `huddle peek --json`,
 * `huddle lock` and `huddle decide` against a local server, Node start-up
 * included, beside a bare `node -e 0` (the floor no command can go below) run
 * in turn with each (A B A B ...), so that a machine whose speed drifts during
 * the run moves both alike. Goal (issue 15): each p50 at most 1.3x node's p50.
 */
import { spawnSync } from 'node:child_process';
import type { Section } from './section.js';
import type { ResultRow } from './stats.js';
import { summarize } from './stats.js';
import { HUDDLE_CLI, makeTempDir, startServer } from './procs.js';

const GOAL_RATIO = 1.3;

function once(args: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** `args` and `node -e 0` alternately, n times each after one warm-up pair. */
function timePaired(args: (i: number) => string[], n: number, cwd: string): { cmd: number[]; node: number[] } {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('HUDDLE_') || k.startsWith('CLAUDE_CODE_')) delete env[k];
  const cmd: number[] = [];
  const node: number[] = [];
  for (let i = 0; i <= n; i++) {
    const a = once(args(i), cwd, env);
    const b = once(['-e', '0'], cwd, env);
    if (i > 0) {
      cmd.push(a);
      node.push(b);
    }
  }
  return { cmd, node };
}

export const cliSection: Section = {
  name: 'cli',
  groups: ['client'],
  description: 'wall time of huddle peek --json, lock and decide as whole processes beside node -e 0 (p50/p99, Node start-up included)',
  async run(ctx) {
    const n = ctx.quick ? 11 : 41;
    const dir = makeTempDir();
    const server = await startServer('huddle', `${dir}/data`);
    try {
      const base = [HUDDLE_CLI, '--url', server.wsUrl, '--project', 'bench-cli'];
      const rows: ResultRow[] = [];
      for (const [metric, args] of [
        ['peek --json', () => [...base, 'peek', '--json']],
        // A new path each time: every run takes a lock (and the bench session holds them all).
        ['lock', (i: number) => [...base, 'lock', `bench/f${i}.ts`]],
        ['decide', () => [...base, 'decide', 'a benchmark decision', '--why', 'timing']],
      ] as const) {
        ctx.progress(`cli: ${metric} x${n} (with node -e 0 in turn)`);
        const t = timePaired(args, n, dir);
        const s = summarize(t.cmd);
        const floor = summarize(t.node);
        const ratio = s.p50 / floor.p50;
        rows.push({
          section: 'cli',
          metric: `${metric} p50`,
          unit: 'ms',
          huddle: s.p50,
          reference: null,
          goal: `<= ${GOAL_RATIO}x node -e 0`,
          met: ratio <= GOAL_RATIO,
          note: `node -e 0 p50 ${floor.p50.toFixed(0)} ms in the same run: ${ratio.toFixed(2)}x`,
        });
        rows.push({ section: 'cli', metric: `${metric} p99`, unit: 'ms', huddle: s.p99, reference: null, goal: '', met: null });
      }
      return rows;
    } finally {
      await server.stop();
    }
  },
};
