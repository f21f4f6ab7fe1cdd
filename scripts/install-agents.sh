#!/bin/sh
# Install the pinned agent CLIs used by the end-to-end tests (test/agents-e2e) into a cache folder,
# outside node_modules: they are large (Codex ~315 MB) and only the e2e tests need them.
#   scripts/install-agents.sh [DIR]     default DIR: .cache/agents (or $HUDDLE_AGENTS_DIR)
# Idempotent: a version already installed is kept.
set -eu
cd "$(dirname "$0")/.."
DIR="${1:-${HUDDLE_AGENTS_DIR:-.cache/agents}}"
mkdir -p "$DIR"
install_one() { # name package version
  dest="$DIR/$1"
  if [ -f "$dest/node_modules/$2/package.json" ] && grep -q "\"version\": \"$3\"" "$dest/node_modules/$2/package.json"; then
    echo "agents: $2@$3 already in $dest"; return 0
  fi
  mkdir -p "$dest"
  [ -f "$dest/package.json" ] || echo '{"private":true}' > "$dest/package.json"
  echo "agents: installing $2@$3 into $dest"
  (cd "$dest" && npm install --no-audit --no-fund --save-exact --loglevel=error "$2@$3")
}
install_one claude-code @anthropic-ai/claude-code 2.1.328
install_one codex @openai/codex 0.171.0
install_one gemini @google/gemini-cli 0.61.0
# opencode-ai pulls its platform binary (opencode-linux-x64, ~1xx MB) as an optional dependency.
install_one opencode opencode-ai 1.18.33
