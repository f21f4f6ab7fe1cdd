/**
 * Hooks section (issue 5): Claude Code hooks answered by a `huddle serve` child.
 *
 *   PreToolUse through the HTTP hook (POST /hooks/claude-code) with 20 sessions
 *   holding 200 locks, one keep-alive connection, p50/p99
 *   PreToolUse through the command hook (`huddle hook`, JSON on stdin) as a whole
 *   process, p50/p99, beside a bare `node -e 0`
 *   Characters injected at SessionStart and per UserPromptSubmit in a scripted
 *   4-session scenario (locks, decisions, messages, edits between prompts)
 *
 * Payloads are the ones Claude Code sends (see test/hooks.test.ts); the project
 * comes from a `.huddle/config.json` in a temp repository, as after `huddle init`.
 * BENCH_DEBUG=1 prints every injected text of the scenario.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Section } from './section.js';
import { shimCommand, shimScript } from '../src/agents/shim.js';
import { summarize, type ResultRow } from './stats.js';
import { HUDDLE_CLI, makeTempDir, removeTempDir, startServer, type ServerProc } from './procs.js';

type Json = Record<string, any>;

/** A repository as `huddle init` leaves it: .git, .huddle/config.json naming the project. */
export function makeRepo(parent: string, name: string, config: Json): string {
  const root = path.join(parent, name);
  fs.mkdirSync(path.join(root, '.git'), { recursive: true });
  fs.writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  fs.mkdirSync(path.join(root, '.huddle'));
  fs.writeFileSync(path.join(root, '.huddle', 'config.json'), JSON.stringify(config));
  fs.mkdirSync(path.join(root, 'src'));
  return root;
}

export class HttpClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  constructor(private readonly base: string) {}

  post(pathname: string, body: Json, headers: Record<string, string> = {}): Promise<{ status: number; body: Json }> {
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${this.base}${pathname}`,
        { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Json });
            } catch {
              reject(new Error(`POST ${pathname}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  destroy(): void {
    this.agent.destroy();
  }
}

const HOOK = '/hooks/claude-code';
const base = (session: string, cwd: string, event: string) => ({ session_id: session, transcript_path: '/tmp/bench.jsonl', cwd, permission_mode: 'default', hook_event_name: event });
const editPayload = (session: string, cwd: string, file: string) => ({ ...base(session, cwd, 'PreToolUse'), tool_name: 'Edit', tool_input: { file_path: file, old_string: 'a', new_string: 'b' }, tool_use_id: 'toolu_bench' });
const bashPayload = (session: string, cwd: string, command: string) => ({ ...base(session, cwd, 'PreToolUse'), tool_name: 'Bash', tool_input: { command, description: 'bench' }, tool_use_id: 'toolu_bench' });

interface Who {
  id: string;
  name: string;
  role: string;
}

async function op(client: HttpClient, project: string, name: string, who: Who, args: Json = {}): Promise<any> {
  const r = await client.post(`/api/p/${project}/op/${name}`, { session: who, ...args });
  if (r.status !== 200 || !r.body.ok) throw new Error(`op ${name} for ${who.id}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  return r.body.result;
}

const isDeny = (b: Json) => b.hookSpecificOutput?.permissionDecision === 'deny';

// ---- 1. PreToolUse over HTTP -------------------------------------------------

interface HttpHookResult {
  edit: number[];
  editDenied: number[];
  editAllowed: number[];
  bash: number[];
  wrong: number;
  setupMs: number;
}

async function httpHookRun(server: ServerProc, dir: string, quick: boolean): Promise<HttpHookResult> {
  const project = 'bench-hooks';
  const root = makeRepo(dir, 'repo-hooks', { project });
  const client = new HttpClient(server.httpUrl);
  try {
    const sessions = 20;
    const locksEach = 10;
    const s0 = performance.now();
    const who = (i: number): Who => ({ id: `bench-session-${String(i).padStart(2, '0')}`, name: `agent-${i}`, role: ['frontend', 'backend', 'tests', 'review'][i % 4] });
    for (let i = 0; i < sessions; i++) {
      const w = who(i);
      const r = await client.post(HOOK, { ...base(w.id, root, 'SessionStart'), source: 'startup', model: 'claude' }, { 'X-Huddle-Role': w.role, 'X-Huddle-Name': w.name });
      if (r.status !== 200) throw new Error(`SessionStart: HTTP ${r.status}`);
    }
    for (let i = 0; i < sessions; i++) {
      const paths = Array.from({ length: locksEach }, (_, j) => `src/mod${i}/file${j}.ts`);
      const r = await op(client, project, 'lock', who(i), { paths, reason: `working on module ${i}` });
      if (r.status !== 'confirmed') throw new Error(`lock for ${who(i).id}: ${r.status}`);
    }
    const state = (await (await fetch(`${server.httpUrl}/api/p/${project}/state`)).json()) as { locks?: unknown[]; sessions?: unknown[] };
    if (state.locks?.length !== sessions * locksEach) throw new Error(`expected ${sessions * locksEach} locks, the server shows ${state.locks?.length}`);
    const setupMs = performance.now() - s0;

    const n = quick ? 1000 : 5000;
    const warmup = 200;
    const edit: number[] = [];
    const editDenied: number[] = [];
    const editAllowed: number[] = [];
    const bash: number[] = [];
    let wrong = 0;
    for (let k = -warmup; k < n; k++) {
      const i = ((k % sessions) + sessions) % sessions;
      const me = who(i);
      // Every other call edits a file another session holds (denied), else a free file (allowed, no output).
      const deny = k % 2 === 0;
      const other = (i + 1 + (((k >> 1) % (sessions - 1)) + sessions - 1) % (sessions - 1)) % sessions;
      const file = deny ? path.join(root, `src/mod${other}/file${((k % locksEach) + locksEach) % locksEach}.ts`) : path.join(root, `src/free/file${i}.ts`);
      let t0 = performance.now();
      const r = await client.post(HOOK, editPayload(me.id, root, file));
      let ms = performance.now() - t0;
      if (r.status !== 200 || isDeny(r.body) !== deny || (!deny && Object.keys(r.body).length !== 0)) wrong++;
      if (k >= 0) {
        edit.push(ms);
        (deny ? editDenied : editAllowed).push(ms);
      }
      // A Bash call too: a write to a locked file (denied) or a harmless command (allowed).
      const cmd = deny ? `echo x > src/mod${other}/file0.ts` : 'npm test 2>&1 | tail -20';
      t0 = performance.now();
      const b = await client.post(HOOK, bashPayload(me.id, root, cmd));
      ms = performance.now() - t0;
      if (b.status !== 200 || isDeny(b.body) !== deny) wrong++;
      if (k >= 0) bash.push(ms);
    }
    return { edit, editDenied, editAllowed, bash, wrong, setupMs };
  } finally {
    client.destroy();
  }
}

// ---- 2. PreToolUse through the command hook ------------------------------------

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('HUDDLE_') || k.startsWith('CLAUDE_CODE_') || k === 'CLAUDE_ENV_FILE') delete env[k];
  return { ...env, ...extra };
}

function timeCommandHook(server: ServerProc, root: string, n: number): { ms: number[]; wrong: number; node: number[] } {
  const env = cleanEnv({ HUDDLE_URL: server.httpUrl });
  const ms: number[] = [];
  const node: number[] = [];
  let wrong = 0;
  for (let k = -1; k < n; k++) {
    const deny = k % 2 === 0;
    const file = deny ? path.join(root, 'src/mod3/file1.ts') : path.join(root, 'src/free/cmd.ts');
    const input = JSON.stringify(editPayload('bench-session-00', root, file));
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [HUDDLE_CLI, 'hook'], { cwd: root, env, input, stdio: ['pipe', 'pipe', 'pipe'] });
    const t = Number(process.hrtime.bigint() - t0) / 1e6;
    const out = r.stdout.toString().trim();
    const denied = out !== '' && isDeny(JSON.parse(out) as Json);
    if (r.status !== 0 || denied !== deny || r.stderr.length > 0) wrong++;
    // The first run warms the file cache.
    if (k >= 0) ms.push(t);
    const n0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0'], { env, stdio: 'ignore' });
    if (k >= 0) node.push(Number(process.hrtime.bigint() - n0) / 1e6);
  }
  return { ms, wrong, node };
}

/** PreToolUse through the sh+curl shim (.huddle/hook.sh) as a whole process, per agent wire format; alternately denied and allowed. */
function timeShimHooks(server: ServerProc, root: string, n: number): Record<string, { ms: number[]; wrong: number }> {
  const shim = path.join(root, '.huddle', 'hook.sh');
  fs.writeFileSync(shim, shimScript(server.httpUrl));
  const env = cleanEnv({});
  const locked = path.join(root, 'src/mod3/file1.ts');
  const free = path.join(root, 'src/free/cmd.ts');
  const payloads: Record<string, (deny: boolean) => Json> = {
    codex: (deny) => ({ session_id: 'bench-codex', cwd: root, hook_event_name: 'PreToolUse', tool_name: 'apply_patch', tool_input: { command: `*** Begin Patch\n*** Update File: ${deny ? locked : free}\n@@\n-a\n+b\n*** End Patch\n` } }),
    gemini: (deny) => ({ session_id: 'bench-gemini', cwd: root, hook_event_name: 'BeforeTool', tool_name: 'replace', tool_input: { file_path: deny ? locked : free, old_string: 'a', new_string: 'b' } }),
    cursor: (deny) => ({ conversation_id: 'bench-cursor', workspace_roots: [root], cwd: root, hook_event_name: 'preToolUse', tool_name: 'Write', tool_input: { file_path: deny ? locked : free } }),
    'claude-code': (deny) => editPayload('bench-session-01', root, deny ? locked : free),
  };
  const out: Record<string, { ms: number[]; wrong: number }> = {};
  for (const [agent, make] of Object.entries(payloads)) {
    const ms: number[] = [];
    let wrong = 0;
    for (let k = -1; k < n; k++) {
      const deny = k % 2 === 0;
      const input = JSON.stringify(make(deny));
      const t0 = process.hrtime.bigint();
      // The command the agent's hook file holds, through a shell as the agent runs it (Codex and Cursor find
      // the script by climbing from the cwd, Gemini CLI through GEMINI_PROJECT_DIR).
      const r = spawnSync('sh', ['-c', shimCommand(agent)], { cwd: root, env: agent === 'gemini' ? { ...env, GEMINI_PROJECT_DIR: root } : env, input, stdio: ['pipe', 'pipe', 'pipe'] });
      const t = Number(process.hrtime.bigint() - t0) / 1e6;
      const text = r.stdout.toString();
      if (r.status !== 0 || text.includes('deny') !== deny) wrong++;
      if (k >= 0) ms.push(t);
    }
    out[agent] = { ms, wrong };
  }
  return out;
}

// ---- 3. Injected characters in a scripted 4-session scenario --------------------

interface InjectResult {
  start: Array<{ name: string; chars: number }>;
  /** Characters of every UserPromptSubmit, with whether something had changed for that session. */
  prompts: Array<{ round: number; name: string; chars: number; quiet: boolean }>;
}

async function injectScenario(server: ServerProc, dir: string): Promise<InjectResult> {
  const project = 'bench-inject';
  const root = makeRepo(dir, 'repo-inject', { project });
  fs.mkdirSync(path.join(root, 'src', 'web'), { recursive: true });
  fs.mkdirSync(path.join(root, 'src', 'api'), { recursive: true });
  fs.writeFileSync(path.join(root, 'src/web/users.tsx'), 'export function Users() {\n  return null;\n}\n');
  fs.writeFileSync(path.join(root, 'src/api/users.ts'), 'export const users = [];\n');
  const client = new HttpClient(server.httpUrl);
  const alice: Who = { id: 'sess-alice-7f3a', name: 'alice', role: 'backend' };
  const bob: Who = { id: 'sess-bob-91c2', name: 'bob', role: 'frontend' };
  const carol: Who = { id: 'sess-carol-4d8e', name: 'carol', role: 'tests' };
  const dave: Who = { id: 'sess-dave-0b6f', name: 'dave', role: 'review' };
  const all = [alice, bob, carol, dave];
  const headers = (w: Who) => ({ 'X-Huddle-Role': w.role, 'X-Huddle-Name': w.name });
  const chars = (b: Json): number => {
    const text = b.hookSpecificOutput?.additionalContext;
    if (typeof text !== 'string') return 0;
    if (process.env.BENCH_DEBUG) process.stderr.write(`---- ${b.hookSpecificOutput.hookEventName} (${text.length} chars)\n${text}\n`);
    return text.length;
  };
  const res: InjectResult = { start: [], prompts: [] };
  try {
    const start = async (w: Who) => {
      const r = await client.post(HOOK, { ...base(w.id, root, 'SessionStart'), source: 'startup', model: 'claude-opus' }, headers(w));
      res.start.push({ name: w.name, chars: chars(r.body) });
    };
    const postEdit = (w: Who, file: string, oldS: string, newS: string) =>
      client.post(HOOK, { ...base(w.id, root, 'PostToolUse'), tool_name: 'Edit', tool_input: { file_path: path.join(root, file), old_string: oldS, new_string: newS }, tool_response: { filePath: path.join(root, file), success: true } }, headers(w));
    /** Every session submits a prompt; `changed` lists who had something new since its last prompt. */
    const promptAll = async (round: number, changed: Who[]) => {
      for (const w of all) {
        const r = await client.post(HOOK, { ...base(w.id, root, 'UserPromptSubmit'), prompt: `round ${round}: carry on` }, headers(w));
        res.prompts.push({ round, name: w.name, chars: chars(r.body), quiet: !changed.includes(w) });
      }
    };

    // Sessions start one after the other, with work in between: later ones see more.
    await start(alice);
    await op(client, project, 'update', alice, { task: 'Paginate the users API', intent: 'changing GET /api/users to return pages' });
    await op(client, project, 'lock', alice, { paths: ['src/api/users.ts'], reason: 'pagination' });
    await op(client, project, 'decide', alice, { text: 'GET /api/users returns { items, nextCursor }; page size 50', rationale: 'the list grew past 10,000 users' });
    await start(bob);
    await op(client, project, 'task.add', bob, { title: 'Cover pagination with integration tests', role: 'tests' });
    await op(client, project, 'send', bob, { to: 'role:backend', text: 'Is nextCursor null on the last page, or absent?', kind: 'need-input' });
    await start(carol);
    await op(client, project, 'decide', carol, { text: 'Integration tests run against a real server on port 0', rationale: 'no mocked network' });
    await start(dave);
    // New since each one's start: alice has bob's question and carol's decision, bob carol's decision; carol and dave nothing.
    await promptAll(0, [alice, bob]);

    // Round 1: edits and answers. (The edit comes first: since delivery between tool calls, a message
    // already waiting goes out in the edit's PostToolUse answer and is, rightly, not new at the prompt.)
    fs.writeFileSync(path.join(root, 'src/web/users.tsx'), 'export function Users() {\n  return <List pageSize={50} />;\n}\n');
    await postEdit(bob, 'src/web/users.tsx', '  return null;', '  return <List pageSize={50} />;');
    await op(client, project, 'send', alice, { to: bob.id, text: 'nextCursor is null on the last page.', kind: 'response' });
    await promptAll(1, [bob]);

    // Round 2: nothing happens.
    await promptAll(2, []);

    // Round 3: alice locks a file bob edited; dave records a review decision.
    await op(client, project, 'lock', alice, { paths: ['src/web/users.tsx'], reason: 'renaming the users prop' });
    await op(client, project, 'decide', dave, { text: 'No default exports in src/', rationale: 'grep-able names' });
    await promptAll(3, [alice, bob, carol]);

    // Round 4: the lock goes; carol tells everyone CI is red; a task for tests.
    await op(client, project, 'unlock', alice, { paths: ['src/web/users.tsx'] });
    await op(client, project, 'send', carol, { to: 'all', text: 'CI is red on main: users.spec.ts times out after the pagination change.' });
    await op(client, project, 'task.add', dave, { title: 'Fix the users.spec.ts timeout', role: 'tests' });
    await promptAll(4, [alice, bob, dave]);

    // Round 5: nothing happens.
    await promptAll(5, []);

    // Round 6: a burst: three decisions and two messages.
    await op(client, project, 'decide', alice, { text: 'Cursor is an opaque base64 string', rationale: 'clients must not build it' });
    await op(client, project, 'decide', bob, { text: 'The users page keeps the cursor in the URL', rationale: 'back button works' });
    await op(client, project, 'decide', carol, { text: 'Pagination tests use 120 seeded users', rationale: 'three pages' });
    await op(client, project, 'send', dave, { to: alice.id, text: 'Please add a test for an invalid cursor before merging.', kind: 'request', needsReply: true });
    await op(client, project, 'send', bob, { to: 'role:tests', text: 'The users page is ready for e2e tests.' });
    await promptAll(6, all);

    // Round 7: nothing happens.
    await promptAll(7, []);
    return res;
  } finally {
    client.destroy();
  }
}

export const hooksSection: Section = {
  name: 'hooks',
  groups: ['client'],
  description: 'Claude Code PreToolUse through the HTTP hook (20 sessions, 200 locks) and the command hook; characters injected in a 4-session scenario',
  async run(ctx) {
    const dir = makeTempDir('huddle-bench-hooks-');
    let server: ServerProc | null = null;
    try {
      server = await startServer('huddle', path.join(dir, 'data'));
      ctx.progress(`  huddle server pid ${server.pid} on ${server.httpUrl}`);

      const h = await httpHookRun(server, dir, ctx.quick);
      const e = summarize(h.edit);
      const ed = summarize(h.editDenied);
      const ea = summarize(h.editAllowed);
      const b = summarize(h.bash);
      ctx.progress(
        `  HTTP PreToolUse Edit x${h.edit.length}: p50 ${e.p50.toFixed(3)} ms, p99 ${e.p99.toFixed(3)} ms, max ${e.max.toFixed(1)} ms ` +
          `(denied p50 ${ed.p50.toFixed(3)}, allowed p50 ${ea.p50.toFixed(3)}); Bash p50 ${b.p50.toFixed(3)} ms, p99 ${b.p99.toFixed(3)} ms; ${h.wrong} wrong answers; setup ${h.setupMs.toFixed(0)} ms`,
      );

      const cmdN = ctx.quick ? 10 : 40;
      const cmd = timeCommandHook(server, path.join(dir, 'repo-hooks'), cmdN);
      const c = summarize(cmd.ms);
      const node = summarize(cmd.node);
      ctx.progress(`  command hook x${cmdN}: p50 ${c.p50.toFixed(1)} ms, p99 ${c.p99.toFixed(1)} ms; node -e 0 p50 ${node.p50.toFixed(1)} ms; ${cmd.wrong} wrong answers`);

      const shims = timeShimHooks(server, path.join(dir, 'repo-hooks'), cmdN);
      const shimRows: ResultRow[] = [];
      for (const [agent, r] of Object.entries(shims)) {
        const sm = summarize(r.ms);
        ctx.progress(`  shim (sh + curl) PreToolUse ${agent} x${cmdN}: p50 ${sm.p50.toFixed(1)} ms, p99 ${sm.p99.toFixed(1)} ms; ${r.wrong} wrong answers`);
        shimRows.push({ section: 'hooks', metric: `PreToolUse shim hook p50 (${agent})`, unit: 'ms', huddle: sm.p50, reference: node.p50, goal: '<= 15 ms', met: sm.p50 <= 15 && r.wrong === 0, note: 'the hook file\'s command through sh -c, as the agent runs it (the script found by climbing from the cwd, or through GEMINI_PROJECT_DIR), as a whole process (sh + curl, JSON on stdin, one POST /hooks/AGENT); reference: node -e 0' });
      }

      const inj = await injectScenario(server, dir);
      const prompts = inj.prompts;
      const changedPrompts = prompts.filter((p) => !p.quiet);
      const quietPrompts = prompts.filter((p) => p.quiet);
      const quietNonEmpty = quietPrompts.filter((p) => p.chars > 0);
      const ps = summarize(prompts.map((p) => p.chars));
      const nonEmpty = prompts.filter((p) => p.chars > 0);
      const ne = summarize(nonEmpty.map((p) => p.chars));
      const changedEmpty = changedPrompts.filter((p) => p.chars === 0);
      const startMax = Math.max(...inj.start.map((s) => s.chars));
      const perRound = new Map<number, number[]>();
      for (const p of prompts) perRound.set(p.round, [...(perRound.get(p.round) ?? []), p.chars]);
      ctx.progress(`  SessionStart chars: ${inj.start.map((s) => `${s.name} ${s.chars}`).join(', ')}`);
      for (const [round, cs] of perRound) ctx.progress(`  round ${round} UserPromptSubmit chars (alice, bob, carol, dave): ${cs.join(', ')}`);

      const rows: ResultRow[] = [
        ...shimRows,
        { section: 'hooks', metric: 'PreToolUse HTTP hook p50', unit: 'ms', huddle: e.p50, reference: null, goal: '< 2 ms', met: e.p50 < 2 && h.wrong === 0 },
        {
          section: 'hooks',
          metric: 'PreToolUse HTTP hook p99',
          unit: 'ms',
          huddle: e.p99,
          reference: null,
          goal: '< 10 ms',
          met: e.p99 < 10 && h.wrong === 0,
          note:
            `${h.edit.length} Edit calls (after ${200} unrecorded) POSTed one at a time over one keep-alive connection (node:http Agent) by 20 hosted sessions ` +
            `while they hold 200 exclusive locks (10 each); every other call edits a file another session holds (denied with a reason), the rest a free file (answer {}); ` +
            `denied p50 ${ed.p50.toFixed(2)} / p99 ${ed.p99.toFixed(2)} ms, allowed p50 ${ea.p50.toFixed(2)} / p99 ${ea.p99.toFixed(2)} ms; max ${e.max.toFixed(1)} ms; ` +
            `${h.wrong} wrong answers (Edit and Bash)`,
        },
        {
          section: 'hooks',
          metric: 'PreToolUse HTTP hook, Bash p99',
          unit: 'ms',
          huddle: b.p99,
          reference: null,
          goal: '',
          met: null,
          note: `interleaved with the Edit calls: "echo x > LOCKED_FILE" (denied) or "npm test 2>&1 | tail -20" (allowed); p50 ${b.p50.toFixed(2)} ms`,
        },
        { section: 'hooks', metric: 'PreToolUse command hook p50', unit: 'ms', huddle: c.p50, reference: null, goal: '< 150 ms', met: c.p50 < 150 && cmd.wrong === 0 },
        {
          section: 'hooks',
          metric: 'PreToolUse command hook p99',
          unit: 'ms',
          huddle: c.p99,
          reference: null,
          goal: '',
          met: null,
          note:
            `${cmdN} runs (after 1 unrecorded) of "node dist/cli/huddle.js hook" with the Edit payload on stdin, alternately denied and allowed, timed from spawn to exit; ` +
            `bare "node -e 0" p50 ${node.p50.toFixed(0)} ms (the floor); ${cmd.wrong} wrong answers`,
        },
        {
          section: 'hooks',
          metric: 'SessionStart injected, max of 4 sessions',
          unit: 'chars',
          huddle: startMax,
          reference: null,
          goal: '<= 2,000',
          met: startMax <= 2000,
          note: `per session: ${inj.start.map((s) => `${s.name} ${s.chars}`).join(', ')} (they start one after another, with locks, decisions, a task and a message in between)`,
        },
        {
          section: 'hooks',
          metric: 'UserPromptSubmit injected, mean per prompt',
          unit: 'chars',
          huddle: ps.mean,
          reference: null,
          goal: '',
          met: null,
          note:
            `${prompts.length} prompts (4 sessions x ${perRound.size} rounds) of a scripted scenario: answers, an edit, a lock on a file another session edited and its release, ` +
            `a broadcast, tasks, a burst of 3 decisions and 2 messages, and rounds where nothing happens; per round (alice, bob, carol, dave): ` +
            Array.from(perRound, ([r, cs]) => `${r}: ${cs.join('/')}`).join('; ') +
            `; non-empty injections: ${nonEmpty.length}, mean ${ne.mean.toFixed(0)} chars`,
        },
        { section: 'hooks', metric: 'UserPromptSubmit injected, max per prompt', unit: 'chars', huddle: ps.max, reference: null, goal: '<= 2,000', met: ps.max <= 2000 },
        {
          section: 'hooks',
          metric: 'UserPromptSubmit with nothing new that injected text',
          unit: 'prompts',
          huddle: quietNonEmpty.length,
          reference: null,
          goal: '= 0',
          met: quietNonEmpty.length === 0,
          note:
            `${quietPrompts.length} prompts had nothing new for their session (by the script)` +
            (quietNonEmpty.length ? `; non-empty quiet prompts: ${quietNonEmpty.map((p) => `round ${p.round} ${p.name} ${p.chars}`).join(', ')}` : ''),
        },
        {
          section: 'hooks',
          metric: 'UserPromptSubmit with something new that injected nothing',
          unit: 'prompts',
          huddle: changedEmpty.length,
          reference: null,
          goal: '= 0',
          met: changedEmpty.length === 0,
          note: `of ${changedPrompts.length} prompts with new messages, decisions or lock changes for their session (by the script)`,
        },
      ];
      return rows;
    } catch (err) {
      if (server) {
        const out = server.output().trim().split('\n').slice(-40).join('\n');
        if (out) ctx.progress(`  last output of the huddle server:\n${out}`);
      }
      throw err;
    } finally {
      if (server) await server.stop('SIGKILL', 5000);
      removeTempDir(dir);
    }
  },
};
