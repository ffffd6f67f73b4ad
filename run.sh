#!/usr/bin/env bash
# The main job, from a fresh clone:
#   ./run.sh index FOLDER    set up .venv, then index FOLDER into Weaviate and print a summary
#   ./run.sh serve           set up .venv, then run the language server on stdio (what editors start)
#   ./run.sh search "query" [--path FOLDER]
# Add --trust to use what FOLDER/.acolyte says about where code goes and what runs (weaviate.url,
# embedded*, class_name, ...); without it those settings are ignored unless you said yes before.
# Weaviate is WEAVIATE_URL, or weaviate.url in FOLDER/.acolyte, or http://localhost:8080. When no URL
# is set and nothing answers at the default, acolyte-lsp runs Weaviate Embedded (downloaded once, kept
# between runs); only when Embedded cannot be had (no download possible) and ACOLYTE_NO_STANDIN is
# unset do `index` and `search` start the in-memory stand-in (tests/weaviate_server) for this run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/scripts/setup-env.sh"
command=${1:-serve}
if [ "$command" = "serve" ]; then
  exec "$ACOLYTE_PY" -m acolyte_lsp serve
fi
answers() {
  "$ACOLYTE_PY" - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/v1/.well-known/ready", timeout=2)
except Exception:
    sys.exit(1)
PY
}
standin_pid=""
trust=""
for arg in "$@"; do
  if [ "$arg" = "--trust" ]; then trust=--trust; fi
done
if { [ "$command" = "index" ] || [ "$command" = "search" ]; } && [ -z "${ACOLYTE_NO_STANDIN:-}" ]; then
  folder=.
  if [ "$command" = "index" ]; then folder=${2:-.}; fi
  # "auto": no URL set anywhere and Embedded allowed (what `acolyte-lsp settings` says).
  mode=$("$ACOLYTE_PY" -m acolyte_lsp settings "$folder" $trust 2>/dev/null | "$ACOLYTE_PY" -c '
import json, sys
w = json.load(sys.stdin)["weaviate"]
print("auto" if w["url"] is None and w["embedded"] == "auto" else "fixed")' || echo fixed)
  url=http://localhost:8080
  if [ "$mode" = "auto" ] && ! answers "$url"; then
    if "$ACOLYTE_PY" -m acolyte_lsp embedded fetch --path "$folder" $trust >/dev/null; then
      :  # acolyte-lsp starts Weaviate Embedded itself and says so
    else
      echo "Weaviate Embedded cannot be had (above), so: starting the in-memory Weaviate protocol stand-in on 127.0.0.1:8080 for this run." >&2
      echo "(Its data is gone when the run ends. Point WEAVIATE_URL at a Weaviate, or let Weaviate Embedded download once, to keep an index.)" >&2
      (cd "$here" && exec "$ACOLYTE_PY" -m tests.weaviate_server --port 8080) >/dev/null &
      standin_pid=$!
      trap 'kill $standin_pid 2>/dev/null || true' EXIT
      for _ in $(seq 1 50); do
        answers "$url" && break
        sleep 0.1
      done
      export WEAVIATE_URL=$url
    fi
  fi
fi
set +e
"$ACOLYTE_PY" -m acolyte_lsp "$@"
status=$?
exit $status
