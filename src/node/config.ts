/**
 * Where the huddle command, the MCP server and the server's hooks find the
 * server, project, token, identity and hook policy of a working directory.
 * Precedence: flags, then environment (HUDDLE_URL, HUDDLE_PROJECT, HUDDLE_TOKEN,
 * HUDDLE_SESSION, CLAUDE_CODE_SESSION_ID), then `.huddle/config.json` found by
 * walking up from the working directory, then defaults (ws://127.0.0.1:4321,
 * project derived from the repository: its normalized origin URL, else the
 * main checkout of its git common dir, else the folder; see project-id.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gitBranch, gitRoot } from './repo.js';
import { parseBool } from './env.js';
import { projectNameProblem } from '../protocol/names.js';
import type { SessionInfo } from '../model/session.js';
import { discoverServer } from './server-file.js';
import { checkFileConfig, FileConfigProblem, trackedTokenWarning } from './config-file.js';
import { projectIdentity, type ProjectIdentity } from './project-id.js';

import { DEFAULT_URL } from '../protocol/constants.js';

export const DEFAULT_SERVER_URL = DEFAULT_URL;

/** The shape of .huddle/config.json (every field optional). */
export interface FileConfig {
  /** Server or team relay URL (ws:// or wss://; http(s):// is accepted). */
  url?: string;
  project?: string;
  token?: string;
  /** Role of sessions started in this project (e.g. frontend). */
  role?: string;
  /** Display name of sessions started here. */
  name?: string;
  /** Hook policy: block edits of files locked by others, warn, or off. Default block. */
  enforce?: 'block' | 'warn' | 'off';
  /** Take an exclusive lock on a file at its first edit. Default false. */
  autoLock?: boolean;
  /** Upstream team relay for `huddle serve` on this machine. */
  upstream?: string;
  upstreamToken?: string;
}

export type Source = 'flag' | 'env' | 'config' | 'default' | 'discovered';

export interface ResolvedConfig {
  /** WebSocket base URL, e.g. ws://127.0.0.1:4321 */
  url: string;
  /** HTTP base URL of the same server. */
  httpUrl: string;
  project: string;
  token: string | undefined;
  session: SessionInfo;
  enforce: 'block' | 'warn' | 'off';
  autoLock: boolean;
  /** Repository root (git root, else the folder holding .huddle, else cwd). */
  root: string;
  configFile: string | null;
  file: FileConfig;
  /** Where the default project comes from (used when no flag, env or config names one). */
  projectFrom: ProjectIdentity;
  sources: Record<'url' | 'project' | 'token' | 'session' | 'role' | 'enforce' | 'autoLock', Source>;
}

export interface ConfigFlags {
  url?: string;
  project?: string;
  token?: string;
  session?: string;
  role?: string;
}

export class ConfigError extends Error {}

/** The nearest .huddle/config.json at or above `from`. */
/** The nearest `.huddle/config.json` at or above `from`, not looking above `ceiling` when given. */
export function findConfigFile(from: string, ceiling?: string): string | null {
  let dir = path.resolve(from);
  for (;;) {
    const f = path.join(dir, '.huddle', 'config.json');
    if (fs.existsSync(f)) return f;
    const up = path.dirname(dir);
    if (up === dir || (ceiling !== undefined && dir === path.resolve(ceiling))) return null;
    dir = up;
  }
}

export function readConfigFile(file: string): FileConfig {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  // Every key typed; a wrong type names the file and key, an unknown key is a warning.
  try {
    const { config, warnings } = checkFileConfig(v, file);
    fileWarnings.set(file, warnings);
    return config as FileConfig;
  } catch (err) {
    if (err instanceof FileConfigProblem) throw new ConfigError(err.message);
    throw err;
  }
}

const fileWarnings = new Map<string, string[]>();

/** Warnings about a config file read earlier (unknown keys), and a token in a file git tracks. */
export function configWarnings(cfg: Pick<ResolvedConfig, 'configFile' | 'file'>): string[] {
  if (!cfg.configFile) return [];
  const out = [...(fileWarnings.get(cfg.configFile) ?? [])];
  const tracked = trackedTokenWarning(cfg.configFile, cfg.file);
  if (tracked) out.push(tracked);
  return out;
}

/** ws(s):// base URL from anything a user may write (http://, host:port, trailing slash). */
export function normalizeServerUrl(u: string): string {
  let s = u.trim().replace(/\/+$/, '');
  if (/^https?:\/\//.test(s)) s = s.replace(/^http/, 'ws');
  if (!/^wss?:\/\//.test(s)) s = `ws://${s}`;
  try {
    new URL(s);
  } catch {
    throw new ConfigError(`not a server URL: ${u}`);
  }
  return s;
}

export function httpOf(wsUrl: string): string {
  return wsUrl.replace(/^ws/, 'http');
}

/**
 * Resolve flags, environment, `.huddle/config.json` and the repository for `cwd`. With
 * `opts.ceiling`, nothing above that folder is looked at (the server's hook policy bounds
 * what a request's cwd can make it read, relay/hook-config.ts).
 */
export function resolveConfig(flags: ConfigFlags = {}, cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env, opts: { ceiling?: string } = {}): ResolvedConfig {
  const configFile = findConfigFile(cwd, opts.ceiling);
  const file = configFile ? readConfigFile(configFile) : {};
  const repo = gitRoot(cwd, opts.ceiling);
  const root = repo ?? (configFile ? path.dirname(path.dirname(configFile)) : path.resolve(cwd));
  const pick = <T>(flag: T | undefined, envv: T | undefined, conf: T | undefined, def: T): [T, Source] =>
    flag !== undefined && flag !== '' ? [flag, 'flag'] : envv !== undefined && envv !== '' ? [envv, 'env'] : conf !== undefined && conf !== '' ? [conf, 'config'] : [def, 'default'];

  let [rawUrl, urlSrc] = pick(flags.url, env.HUDDLE_URL, file.url, DEFAULT_SERVER_URL);
  // No URL configured: the machine's server, from the file it writes where it keeps its data.
  const found = urlSrc === 'default' ? discoverServer(env) : null;
  if (found) [rawUrl, urlSrc] = [found.url, 'discovered'];
  const url = normalizeServerUrl(rawUrl);
  // The default project is the repository's identity (origin, else common dir), not the folder name.
  const identity = projectIdentity(root);
  const [project, projSrc] = pick(flags.project, env.HUDDLE_PROJECT, file.project, identity.project);
  const problem = projectNameProblem(project);
  if (problem) throw new ConfigError(`bad project "${project}" (${projSrc}): ${problem}`);
  const [token, tokSrc] = pick<string | undefined>(flags.token, env.HUDDLE_TOKEN, file.token, undefined);
  const claude = env.CLAUDE_CODE_SESSION_ID;
  const [sessionId, sessSrc] = pick(flags.session, env.HUDDLE_SESSION || claude, undefined, `human@${os.hostname()}`);
  const [role, roleSrc] = pick(flags.role, env.HUDDLE_ROLE, file.role, sessionId.startsWith('human@') ? 'human' : 'agent');
  const [enforce, enfSrc] = pick<'block' | 'warn' | 'off'>(undefined, env.HUDDLE_ENFORCE as never, file.enforce, 'block');
  if (!['block', 'warn', 'off'].includes(enforce)) throw new ConfigError(`enforce must be block, warn or off (got ${enforce})`);
  let envAutoLock: boolean | undefined;
  try {
    envAutoLock = env.HUDDLE_AUTOLOCK === undefined || env.HUDDLE_AUTOLOCK === '' ? undefined : parseBool(env.HUDDLE_AUTOLOCK, 'HUDDLE_AUTOLOCK');
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const [autoLock, alSrc] = pick<boolean>(undefined, envAutoLock, file.autoLock, false);
  const agent = sessionId.startsWith('human@') ? 'human' : env.HUDDLE_AGENT ?? (claude && sessionId === claude ? 'claude-code' : 'script');
  const name = env.HUDDLE_NAME ?? (sessionId.startsWith('human@') ? sessionId : file.name ? `${file.name}` : sessionId.length > 16 ? `${role}-${sessionId.slice(0, 8)}` : sessionId);
  return {
    url,
    httpUrl: httpOf(url),
    project,
    token,
    session: { id: sessionId, name, role, agent, host: os.hostname(), pid: process.ppid, cwd, branch: gitBranch(repo) },
    enforce,
    autoLock,
    root,
    configFile,
    file,
    projectFrom: identity,
    sources: { url: urlSrc, project: projSrc, token: tokSrc, session: sessSrc, role: roleSrc, enforce: enfSrc, autoLock: alSrc },
  };
}
