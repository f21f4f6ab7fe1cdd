/**
 * The hook shim `huddle init` writes to `.huddle/hook.sh`: agents that only
 * run command hooks (Codex, Gemini CLI, Cursor) start this POSIX sh script,
 * not Node, on every tool call. It forwards the hook input on stdin to
 * `POST /hooks/<agent>` with curl and prints the server's answer as is (the
 * adapter already rendered it in the agent's format; empty = allow).
 *
 * Fails open: no server, a timeout or a non-2xx answer prints nothing and
 * exits 0 (one line on stderr). `HUDDLE_FAIL_CLOSED=1` blocks instead (exit 2,
 * which Codex, Gemini CLI and Cursor read as a denial with stderr as reason).
 */
export const SHIM_FILE = '.huddle/hook.sh';
export const SHIM_MARK = '# huddle hook shim';

export function shimScript(httpBase: string): string {
  return `#!/bin/sh
${SHIM_MARK} (written by huddle init; huddle init --uninstall removes it).
# Usage: sh hook.sh AGENT  (claude-code, codex, cursor, gemini, opencode); hook input JSON on stdin.
# Environment: HUDDLE_HOOK_URL (default below), HUDDLE_TOKEN, HUDDLE_ROLE, HUDDLE_NAME,
# HUDDLE_HOOK_TIMEOUT (seconds, default 5), HUDDLE_FAIL_CLOSED=1 to block when no server answers.
url="\${HUDDLE_HOOK_URL:-${httpBase}}/hooks/\${1:-claude-code}"
if out=$(curl -sf --max-time "\${HUDDLE_HOOK_TIMEOUT:-5}" -H 'Content-Type: application/json' \\
    -H "X-Huddle-Role: \${HUDDLE_ROLE:-}" -H "X-Huddle-Name: \${HUDDLE_NAME:-}" -H "X-Huddle-Pids: $PPID" \\
    \${HUDDLE_TOKEN:+-H "Authorization: Bearer $HUDDLE_TOKEN"} --data-binary @- "$url"); then
  [ -n "$out" ] && printf '%s\\n' "$out"
  exit 0
fi
if [ "\${HUDDLE_FAIL_CLOSED:-0}" = 1 ]; then
  echo "huddle: no answer from $url; blocked (HUDDLE_FAIL_CLOSED=1)" >&2
  exit 2
fi
echo "huddle hook: no answer from $url; continuing without huddle" >&2
exit 0
`;
}

/**
 * The command an agent's hook config runs. It names no absolute path, so the committed file works in
 * every checkout. Gemini CLI gives hooks GEMINI_PROJECT_DIR (measured on 0.61.0: the folder it started
 * in, the one whose .gemini/ it loaded). Codex gives no such variable and runs hooks in the session's
 * cwd, which may be a subfolder (measured on 0.171.0): the command climbs from $PWD to the nearest
 * folder holding the script, with shell builtins only (`git rev-parse --show-toplevel` would cost a
 * process, about 3 ms per tool call here, and need git). Cursor documents project hooks as run from
 * the project root; the same form serves it. `exec`: the script's $PPID (sent as X-Huddle-Pids) is the
 * agent whichever shell runs the command (dash would otherwise keep its own process in between).
 */
export function shimCommand(agent: string): string {
  if (agent === 'gemini') return `exec sh "\${GEMINI_PROJECT_DIR:-.}/${SHIM_FILE}" ${agent}`;
  return `d=$PWD; while [ -n "$d" ] && [ ! -f "$d/${SHIM_FILE}" ]; do d=\${d%/*}; done; exec sh "$d/${SHIM_FILE}" ${agent}`;
}
