/**
 * `npm run bench`: huddle beside the reference y-websocket server, in one run.
 *
 *   node dist/bench/run.js [--only NAME[,NAME]] [--quick] [--json] [--list]
 *
 * Sections are named (see --list); --only takes section names or group names
 * (e.g. "server"). Progress goes to stderr; the result goes to stdout as a
 * table (metric, huddle, reference, ratio, goal, met?) or, with --json, as JSON.
 * Every child process is killed at the end, also on errors and signals.
 *
 * To add a section: implement `Section` (bench/section.ts) in its own module,
 * returning ResultRow[] (reference may be null where there is none), and list
 * it in `SECTIONS` below.
 */
import os from 'node:os';
import type { Section } from './section.js';
import { formatTable, ratioOf, type ResultRow } from './stats.js';
import { installCleanup, killAll, removeTempDirs } from './procs.js';
import { serverSections } from './server.js';
import { cliSection } from './cli.js';
import { presenceSection } from './presence.js';
import { hooksSection } from './hooks.js';
import { deliverSection } from './deliver.js';
import { upstreamSection } from './upstream.js';
import { pgSection, pgRelaySection } from './pg.js';
import { scaleSection } from './scale.js';

const SECTIONS: Section[] = [...serverSections, cliSection, presenceSection, hooksSection, deliverSection, scaleSection, upstreamSection, pgSection, pgRelaySection];

interface Options {
  only: string[] | null;
  quick: boolean;
  json: boolean;
  list: boolean;
}

const USAGE = `usage: node dist/bench/run.js [--only NAME[,NAME]] [--quick] [--json] [--list]
  --only NAMES  run only these sections or groups (comma-separated, repeatable)
  --quick       a short run: fewer samples, shorter windows
  --json        print the results as JSON instead of a table
  --list        list the sections and exit`;

function parseArgs(argv: string[]): Options {
  const o: Options = { only: null, quick: false, json: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--json') o.json = true;
    else if (a === '--list') o.list = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!v) throw new Error('--only needs a section name');
      o.only = [...(o.only ?? []), ...v.split(',').map((s) => s.trim()).filter(Boolean)];
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

function select(only: string[] | null): Section[] {
  if (!only) return SECTIONS;
  const known = new Set(SECTIONS.flatMap((s) => [s.name, ...s.groups]));
  const unknown = only.filter((n) => !known.has(n));
  if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  return SECTIONS.filter((s) => only.includes(s.name) || s.groups.some((g) => only.includes(g)));
}

async function main(): Promise<number> {
  let opts: Options;
  let sections: Section[];
  try {
    opts = parseArgs(process.argv.slice(2));
    sections = select(opts.only);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.list) {
    for (const s of SECTIONS) process.stdout.write(`${s.name.padEnd(12)} [${s.groups.join(',')}] ${s.description}\n`);
    return 0;
  }
  installCleanup();
  // Every stock y-websocket provider adds a process 'exit' listener; 64 at once are expected here.
  process.setMaxListeners(0);
  const t0 = performance.now();
  const elapsed = () => ((performance.now() - t0) / 1000).toFixed(1).padStart(6) + 's';
  const progress = (msg: string) => process.stderr.write(`[${elapsed()}] ${msg}\n`);
  const loadStart = os.loadavg()[0];
  progress(
    `bench${opts.quick ? ' (quick)' : ''}: ${sections.map((s) => s.name).join(', ')} on node ${process.version}, ` +
      `${os.cpus().length} CPUs, load average ${loadStart.toFixed(2)}`,
  );

  const rows: ResultRow[] = [];
  const errors: Array<{ section: string; error: string }> = [];
  const timings: Record<string, number> = {};
  for (const s of sections) {
    progress(`${s.name}: ${s.description}`);
    const s0 = performance.now();
    try {
      rows.push(...(await s.run({ quick: opts.quick, progress })));
    } catch (err) {
      const e = err as Error;
      errors.push({ section: s.name, error: e.message });
      progress(`${s.name} FAILED: ${e.stack ?? e.message}`);
    } finally {
      killAll();
    }
    timings[s.name] = (performance.now() - s0) / 1000;
    progress(`${s.name} done in ${timings[s.name].toFixed(1)} s`);
  }
  const totalSeconds = (performance.now() - t0) / 1000;
  const loadEnd = os.loadavg()[0];
  progress(`finished in ${totalSeconds.toFixed(1)} s, load average ${loadEnd.toFixed(2)}`);

  if (opts.json) {
    const out = {
      meta: {
        date: new Date().toISOString(),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? null,
        quick: opts.quick,
        loadAverage1m: { start: loadStart, end: loadEnd },
        sections: sections.map((s) => s.name),
        sectionSeconds: timings,
        totalSeconds,
      },
      rows: rows.map((r) => ({ ...r, ratio: ratioOf(r) })),
      errors,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    if (rows.length > 0) process.stdout.write(formatTable(rows) + '\n');
    process.stdout.write(
      `\n${opts.quick ? 'quick run' : 'run'} of ${totalSeconds.toFixed(0)} s on node ${process.version}, ${os.cpus().length} CPUs; ` +
        `1-minute load average ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end (other work on the machine skews every number)\n`,
    );
    for (const e of errors) process.stdout.write(`\nsection ${e.section} failed: ${e.error}\n`);
  }
  return errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    killAll();
    removeTempDirs();
    // Clients' reconnect timers and the like must not keep the bench alive.
    process.exit(code);
  },
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    killAll();
    removeTempDirs();
    process.exit(1);
  },
);
