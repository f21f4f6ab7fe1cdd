/**
 * One server per machine, found without flags. The server keeps its data in
 * the user's state folder ($XDG_STATE_HOME/huddle, else ~/.local/state/huddle;
 * HUDDLE_DATA or --data override) and writes where it listens into that
 * folder (`server.json`: url, pid, startedAt, data), removed at shutdown.
 * Commands, hooks and the MCP server read it when no URL is configured; a
 * file whose pid is gone (a crash) is stale and ignored.
 */
import fs from 'node:fs';
import path from 'node:path';
// zod/mini: every huddle command reads this at start-up, and the full build's per-schema methods cost it milliseconds.
import * as z from 'zod/mini';

export const SERVER_FILE = 'server.json';

// Built on first use: a command given its URL never reads the file, and building a schema costs start-up time.
const makeSchema = () =>
  z.object({
  url: z.string().check(z.regex(/^(https?|wss?):\/\/[^\s]+$/)),
  pid: z.int().check(z.positive()),
  startedAt: z.number(),
    data: z.string(),
  });
let serverFileSchema: ReturnType<typeof makeSchema> | undefined;

export type ServerFile = z.infer<ReturnType<typeof makeSchema>>;

/** The per-user huddle state folder, or null when the environment names no home. */
export function userStateDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)) return path.join(env.XDG_STATE_HOME, 'huddle');
  if (env.HOME && path.isAbsolute(env.HOME)) return path.join(env.HOME, '.local', 'state', 'huddle');
  return null;
}

/** The data folder a server uses by default: HUDDLE_DATA, else the per-user state folder. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HUDDLE_DATA || userStateDir(env) || path.join('.huddle', 'data');
}

export function writeServerFile(dataDir: string, info: Omit<ServerFile, 'data'>): void {
  const file = path.join(dataDir, SERVER_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ ...info, data: path.resolve(dataDir) }) + '\n');
  fs.renameSync(tmp, file);
}

/** Remove the file if it is still this process's (another server may have taken the folder since). */
export function removeServerFile(dataDir: string, pid = process.pid): void {
  const file = path.join(dataDir, SERVER_FILE);
  if (readServerFile(dataDir)?.pid === pid) fs.rmSync(file, { force: true });
}

export function readServerFile(dataDir: string): ServerFile | null {
  let raw: string;
  try {
    raw = fs.readFileSync(path.join(dataDir, SERVER_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const r = (serverFileSchema ??= makeSchema()).safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The server that says it runs on `dataDir`, when its process is alive. */
export function liveServer(dataDir: string): ServerFile | null {
  const f = readServerFile(dataDir);
  return f && pidAlive(f.pid) ? f : null;
}

/** Where the machine's server listens, from its file in the default data folder; null when none runs. */
export function discoverServer(env: NodeJS.ProcessEnv = process.env): ServerFile | null {
  const dirs = [env.HUDDLE_DATA, userStateDir(env)].filter((d): d is string => Boolean(d));
  for (const d of dirs) {
    const f = liveServer(d);
    if (f) return f;
  }
  return null;
}
