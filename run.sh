#!/usr/bin/env bash
# The main job, from a fresh clone:
#   ./run.sh index FOLDER    set up .venv, then index FOLDER into Weaviate and print a summary
#   ./run.sh serve           set up .venv, then run the language server on stdio (what editors start)
#   ./run.sh search "query" [--path FOLDER]
# Weaviate is WEAVIATE_URL, or weaviate.url in FOLDER/.acolyte, or http://localhost:8080.
# When nothing answers there and ACOLYTE_NO_STANDIN is unset, `index` and `search` start the
# bundled in-memory Weaviate protocol server (tests/weaviate_server) for this run only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/scripts/setup-env.sh"
command=${1:-serve}
if [ "$command" = "serve" ]; then
  exec "$ACOLYTE_PY" -m acolyte_lsp serve
fi
url=${WEAVIATE_URL:-http://localhost:8080}
standin_pid=""
if [ "$command" = "index" ] || [ "$command" = "search" ]; then
  if [ -z "${ACOLYTE_NO_STANDIN:-}" ] && ! "$ACOLYTE_PY" - "$url" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/v1/.well-known/ready", timeout=2)
except Exception:
    sys.exit(1)
PY
  then
    port=$(echo "$url" | sed -E 's#^[a-z]+://[^:/]+:?([0-9]*).*#\1#')
    port=${port:-8080}
    echo "No Weaviate answers at $url: starting the in-memory Weaviate protocol stand-in on 127.0.0.1:$port for this run." >&2
    echo "(Its data is gone when the run ends. Point WEAVIATE_URL at a real Weaviate to keep an index.)" >&2
    (cd "$here" && exec "$ACOLYTE_PY" -m tests.weaviate_server --port "$port") >/dev/null &
    standin_pid=$!
    trap 'kill $standin_pid 2>/dev/null || true' EXIT
    for _ in $(seq 1 50); do
      "$ACOLYTE_PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/v1/.well-known/ready', timeout=1)" 2>/dev/null && break
      sleep 0.1
    done
    export WEAVIATE_URL="http://127.0.0.1:$port"
  fi
fi
set +e
"$ACOLYTE_PY" -m acolyte_lsp "$@"
status=$?
exit $status
