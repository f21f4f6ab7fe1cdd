/**
 * Minimal leveled logger writing one line per event to stderr or a file.
 * Callers pass facts (project, close code, byte counts), never tokens or document contents.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LogLevel } from './config.js';

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

/** Standard streams whose reader is gone: nothing more is written to them. */
const broken = new Set<NodeJS.WriteStream>();

/**
 * For a long-running process: once the reader of stdout or stderr goes away (EPIPE: a pipe into
 * `head`, a closed terminal), stop writing there instead of throwing. Without a listener the
 * stream's error is an uncaught exception, which the server logs to the same broken stream, which
 * fails again: the server spun at 100 % CPU (seen 2026-12-02). It keeps serving, its log lost.
 */
export function tolerateClosedOutput(): void {
  for (const s of [process.stdout, process.stderr]) {
    if (s.listenerCount('error') === 0) s.on('error', () => broken.add(s));
  }
}

/** Write to stdout or stderr unless its reader is gone. */
export function writeStd(s: NodeJS.WriteStream, text: string): void {
  if (!broken.has(s) && !s.destroyed) s.write(text);
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => writeStd(process.stderr, l + '\n')): Logger {
  const at = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] > at) return;
    let line = `${new Date().toISOString()} ${lvl.padEnd(5)} ${msg}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue;
        line += ` ${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`;
      }
    }
    write(line);
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
  };
}

/**
 * Lines appended to a file (created 0600, its folder too), each written at once so a crash loses
 * none; `reopen` starts a new file at the same path after a log rotation moved the old one
 * (serve does it on SIGHUP). A failing write is dropped: logging never stops the server.
 */
export function fileLogSink(file: string): { write: (line: string) => void; reopen: () => void; close: () => void } {
  const open = () => {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    return fs.openSync(file, 'a', 0o600);
  };
  let fd = open();
  return {
    write: (line) => {
      try {
        fs.writeSync(fd, line + '\n');
      } catch {
        /* a full disk or a removed mount: the line is lost, the server serves on */
      }
    },
    reopen: () => {
      try {
        const next = open();
        fs.closeSync(fd);
        fd = next;
      } catch {
        /* keep writing to the old file */
      }
    },
    close: () => fs.closeSync(fd),
  };
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };
