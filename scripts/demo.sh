#!/usr/bin/env bash
# Warta's main job on the embedded default: serve the bundled sample feeds on 127.0.0.1, poll
# them into a throwaway SQLite database and print an Indonesian and an English digest.
# Needs only Python 3.11+; no tokens, no internet beyond the package index for the first install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import bot.cli, feedparser_rs, aiohttp, sqlalchemy" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
fi
exec .venv/bin/warta demo "$@"
