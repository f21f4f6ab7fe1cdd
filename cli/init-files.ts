/**
 * The files `huddle init` edits: a plan per file (its bytes before and after),
 * reading them, writing a plan out, and the manifest (.huddle/init.json) that
 * remembers each file's original bytes so that `--uninstall` can restore them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AgentKind } from '../src/agents/event.js';
import { parseJsonText, pretty } from './agents-install.js';

export const MANIFEST = '.huddle/init.json';
export const SETTINGS = '.claude/settings.json';
export const MCP = '.mcp.json';
export const CONFIG = '.huddle/config.json';

interface Manifest {
  version: 1;
  files: Record<string, { original: string | null; written: string }>;
  dirs: string[];
}

export interface Plan {
  /** Repository-relative path. */
  file: string;
  before: string | null;
  after: string | null;
  mode?: number;
  note?: string;
}

export interface InitResult {
  root: string;
  plans: Plan[];
  notes: string[];
  /** What the user must do next, per agent. */
  next?: string[];
  agents?: AgentKind[];
}

export function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

// The same parse and layout as the agents' own files (cli/agents-install.ts).
export { parseJsonText as parseJson, pretty };

export function readManifest(root: string): Manifest | null {
  const t = readText(path.join(root, MANIFEST));
  if (t === null) return null;
  try {
    const m = JSON.parse(t) as Manifest;
    return m && m.files ? { version: 1, files: m.files, dirs: m.dirs ?? [] } : null;
  } catch {
    return null;
  }
}

export function apply(result: InitResult, uninstall: boolean): void {
  const { root } = result;
  const manifest: Manifest = readManifest(root) ?? { version: 1, files: {}, dirs: [] };
  for (const p of result.plans) {
    if (p.after === p.before) continue;
    const abs = path.join(root, p.file);
    if (p.after === null) {
      fs.rmSync(abs, { force: true });
    } else {
      const dir = path.dirname(abs);
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        const relDir = path.relative(root, dir).split(path.sep).join('/');
        if (!uninstall && !relDir.startsWith('..') && !manifest.dirs.includes(relDir)) manifest.dirs.push(relDir);
      }
      fs.writeFileSync(abs, p.after);
      if (p.mode) fs.chmodSync(abs, p.mode);
    }
    if (!uninstall) {
      const prev = manifest.files[p.file];
      manifest.files[p.file] = { original: prev ? prev.original : p.before, written: p.after ?? '' };
    }
  }
  const mPath = path.join(root, MANIFEST);
  if (uninstall) {
    fs.rmSync(mPath, { force: true });
    // Folders init created, when nothing else lives in them now.
    for (const d of manifest.dirs.slice().sort((a, b) => b.length - a.length)) {
      try {
        fs.rmdirSync(path.join(root, d));
      } catch {
        /* not empty: keep */
      }
    }
  } else if (Object.keys(manifest.files).length > 0) {
    fs.mkdirSync(path.dirname(mPath), { recursive: true });
    fs.writeFileSync(mPath, pretty(manifest));
  }
}

export function show(result: InitResult, dryRun: boolean, uninstall: boolean): string {
  const lines: string[] = [];
  const verb = (p: Plan) => (p.after === p.before ? 'unchanged' : p.before === null ? 'create' : p.after === null ? (uninstall ? 'remove' : 'delete') : uninstall ? 'restore' : 'update');
  for (const p of result.plans) {
    const v = verb(p);
    const past: Record<string, string> = { create: 'created', update: 'updated', restore: 'restored', remove: 'removed', delete: 'deleted', unchanged: 'unchanged' };
    lines.push(`${dryRun && v !== 'unchanged' ? `would ${v}` : past[v]} ${p.file}`);
    if (dryRun && p.after !== p.before && p.after !== null) lines.push(p.after.replace(/^/gm, '    ').replace(/\s+$/, ''));
  }
  for (const n of result.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}
