/**
 * Whether Gemini CLI trusts this folder, as 0.61.0 decides it: project hooks (and `.gemini/`
 * settings) load only in a trusted folder; `gemini -p` refuses an untrusted one outright, and
 * `--skip-trust` runs it without the project's hooks. Trust is `GEMINI_CLI_TRUST_WORKSPACE=true`,
 * or the longest matching rule of `~/.gemini/trustedFolders.json` (`GEMINI_CLI_TRUSTED_FOLDERS_PATH`
 * overrides where): `{"<dir>": "TRUST_FOLDER" | "TRUST_PARENT" | "DO_NOT_TRUST"}`, TRUST_PARENT
 * trusting the rule's parent folder. Folder trust switched off in the user settings trusts all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const readJson = (f: string): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(fs.readFileSync(f, 'utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};

const inside = (dir: string, p: string): boolean => {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

export function geminiTrusted(root: string, env: NodeJS.ProcessEnv = process.env): { ok: boolean; what: string; fix?: string } {
  if (env.GEMINI_CLI_TRUST_WORKSPACE === 'true') return { ok: true, what: 'folder trusted (GEMINI_CLI_TRUST_WORKSPACE=true)' };
  const home = path.join(env.HOME || os.homedir(), '.gemini');
  const settings = readJson(path.join(home, 'settings.json'));
  const ft = ((settings?.security as Record<string, unknown> | undefined)?.folderTrust ?? {}) as Record<string, unknown>;
  if (ft.enabled === false) return { ok: true, what: 'folder trust is off in ~/.gemini/settings.json (every folder is trusted)' };
  const file = env.GEMINI_CLI_TRUSTED_FOLDERS_PATH || path.join(home, 'trustedFolders.json');
  let best = -1;
  let level: unknown;
  for (const [rule, lv] of Object.entries(readJson(file) ?? {})) {
    const dir = lv === 'TRUST_PARENT' ? path.dirname(rule) : rule;
    if (path.isAbsolute(dir) && inside(dir, root) && rule.length > best) {
      best = rule.length;
      level = lv;
    }
  }
  if (level === 'TRUST_FOLDER' || level === 'TRUST_PARENT') return { ok: true, what: `folder trusted (${file})` };
  return {
    ok: false,
    what: level === 'DO_NOT_TRUST' ? `folder marked DO_NOT_TRUST in ${file}: Gemini CLI ignores .gemini/settings.json here` : 'folder not trusted: Gemini CLI ignores .gemini/settings.json here (gemini -p refuses to run; --skip-trust runs without huddle\'s hooks)',
    fix: `run \`gemini\` in ${root} and choose "Trust folder" (or add ${JSON.stringify(root)}: "TRUST_FOLDER" to ${file})`,
  };
}
