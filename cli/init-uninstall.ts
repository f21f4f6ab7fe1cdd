/** `huddle init --uninstall`: per file, the original bytes back when untouched since, else only huddle's entries out. */
import path from 'node:path';
import { INSTALLERS, type FileEdit } from './agents-install.js';
import { SHIM_FILE, SHIM_MARK } from '../src/agents/shim.js';
import { isOurMcp, stripHooks, type Json } from './init-claude-hooks.js';
import { gitDir, withoutGuard } from './init-guard.js';
import { CONFIG, MCP, SETTINGS, parseJson, pretty, readManifest, readText, type InitResult, type Plan } from './init-files.js';

export function planUninstall(root: string): InitResult {
  const manifest = readManifest(root);
  const plans: Plan[] = [];
  const notes: string[] = [];
  const files = new Set<string>([SETTINGS, MCP, CONFIG, ...Object.keys(manifest?.files ?? {})]);
  const edits = new Map<string, FileEdit>();
  for (const inst of INSTALLERS) for (const e of inst.files({ root, argv: ['huddle'], httpBase: '' })) edits.set(e.file, e);
  const gd = gitDir(root);
  if (gd) files.add(path.relative(root, path.join(gd, 'hooks', 'pre-commit')).split(path.sep).join('/'));
  for (const file of files) {
    const abs = path.join(root, file);
    const cur = readText(abs);
    const entry = manifest?.files[file];
    if (entry && cur === entry.written) {
      plans.push({ file, before: cur, after: entry.original });
      continue;
    }
    if (cur === null) continue;
    // Edited since (or no record): take out only what is ours.
    if (file === SETTINGS) {
      const o = parseJson(file, cur);
      let changed = stripHooks(o);
      if (Array.isArray(o.enabledMcpjsonServers) && o.enabledMcpjsonServers.includes('huddle')) {
        o.enabledMcpjsonServers = o.enabledMcpjsonServers.filter((x: unknown) => x !== 'huddle');
        if ((o.enabledMcpjsonServers as unknown[]).length === 0) delete o.enabledMcpjsonServers;
        changed = true;
      }
      plans.push({ file, before: cur, after: changed ? pretty(o) : cur });
    } else if (file === MCP) {
      const o = parseJson(file, cur);
      const servers = o.mcpServers as Json | undefined;
      if (servers && isOurMcp(servers.huddle)) {
        delete servers.huddle;
        if (Object.keys(servers).length === 0) delete o.mcpServers;
        plans.push({ file, before: cur, after: pretty(o) });
      } else plans.push({ file, before: cur, after: cur });
    } else if (file.endsWith('pre-commit')) {
      let after: string | null = withoutGuard(cur);
      if (after.trim() === '#!/bin/sh' && entry?.original === null) after = null;
      plans.push({ file, before: cur, after });
    } else if (edits.has(file)) {
      plans.push({ file, before: cur, after: edits.get(file)!.strip(cur) });
    } else if (file === SHIM_FILE) {
      plans.push({ file, before: cur, after: cur.includes(SHIM_MARK) ? null : cur });
    } else if (file === CONFIG && entry) {
      notes.push(`${CONFIG} was changed after huddle init; left in place`);
    }
  }
  return { root, plans, notes };
}
