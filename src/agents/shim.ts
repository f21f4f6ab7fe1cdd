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
 * every checkout: Gemini CLI gives hooks GEMINI_PROJECT_DIR (measured on 0.61.0: the folder it started
 * in, the one whose .gemini/ it loaded); Codex gives no such variable and runs hooks in the session's
 * cwd, which may be a subfolder (measured on 0.171.0), so the script is found from the repository's top
 * (huddle init's root is the git top level) or, outside git, the cwd. Cursor documents project hooks as
 * run from the project root; the git form serves it too. `exec`: the script's $PPID (sent as
 * X-Huddle-Pids) is then the agent whichever shell runs the command (dash would otherwise keep its own
 * process in between).
 */
export function shimCommand(agent: string): string {
  if (agent === 'gemini') return `exec sh "\${GEMINI_PROJECT_DIR:-.}/${SHIM_FILE}" ${agent}`;
  return `exec sh "$(git rev-parse --show-toplevel 2>/dev/null || pwd)/${SHIM_FILE}" ${agent}`;
}
