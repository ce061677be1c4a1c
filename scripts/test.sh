#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs first: the Python dependencies in .venv,
# the Telegram Bot API emulator (npm), a PostgreSQL server when none answers on
# 127.0.0.1:5432, and Debian's chromium + chromium-driver for the browser tests. Lints (ruff,
# mypy --strict, hadolint) run before the tests. Then the suite runs a second time in
# .venv-lowest, on the lowest versions pyproject.toml allows (uv's lowest-direct resolution), so a
# floor that no longer works fails CI instead of a user's install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
log() { printf '\n== %s\n' "$*"; }

log "python dependencies"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_updated=0
apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq || return 1; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

log "telegram-test-api emulator (npm)"
if [ -f tests/peers/package.json ]; then
  command -v npm >/dev/null || apt_install nodejs npm || echo "npm unavailable: emulator tests will fail in CI"
  if command -v npm >/dev/null; then
    (cd tests/peers && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

log "postgresql"
export WARTA_TEST_PG_URL=${WARTA_TEST_PG_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}
pg_up() { .venv/bin/python - <<'PY'
import asyncio, os, sys
import asyncpg
url = os.environ["WARTA_TEST_PG_URL"].replace("+asyncpg", "")
async def main():
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except Exception as e:  # noqa: BLE001 - any failure means "not up yet"
        print(f"postgres not reachable: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    await conn.close()
    return 0
sys.exit(asyncio.run(main()))
PY
}
if ! pg_up 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql || echo "could not install postgresql"
  fi
  if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    ver=$(ls /etc/postgresql | sort -V | tail -n1)
    conf=/etc/postgresql/$ver/main/pg_hba.conf
    # Local test server only: trust on loopback, as the test URL carries no password.
    if ! grep -q "warta-test" "$conf" 2>/dev/null; then
      as_root sh -c "printf '%s\n%s\n' 'host all all 127.0.0.1/32 trust # warta-test' 'host all all ::1/128 trust # warta-test' | cat - '$conf' > '$conf.new' && mv '$conf.new' '$conf'" || true
    fi
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null \
      || as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload 2>/dev/null || true
    for _ in $(seq 1 30); do pg_up 2>/dev/null && break; sleep 1; done
    as_root su postgres -c "psql -qc 'CREATE DATABASE test'" 2>/dev/null || true
  fi
  pg_up || echo "PostgreSQL is not available: the postgres tests will fail in CI"
fi

log "chromium + chromedriver (browser tests of the web pages)"
# Debian's packages, never a browser build downloaded by Selenium Manager.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt_install chromium chromium-driver || echo "chromium unavailable: the browser tests will fail in CI"
fi

log "lint: ruff, mypy --strict, hadolint"
.venv/bin/ruff check bot tests bench
.venv/bin/ruff format --check bot tests bench
.venv/bin/mypy
.venv/bin/hadolint Dockerfile

run_pytest() {  # run_pytest PYTHON ARGS...: pytest's status, with "no tests" made a failure
  local python=$1 rc
  shift
  set +e
  "$python" -m pytest "$@"
  rc=$?
  set -e
  if [ "$rc" = 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    return 1
  fi
  return "$rc"
}

log "tests"
run_pytest .venv/bin/python "$@"

log "tests on the lowest allowed versions (uv --resolution lowest-direct, no lint)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1"
rm -rf .venv-lowest
.venv/bin/uv venv --quiet --python "$(command -v "$PY")" .venv-lowest
.venv/bin/uv pip install --quiet --python .venv-lowest/bin/python --resolution lowest-direct -e '.[dev]'
run_pytest .venv-lowest/bin/python -p no:cacheprovider "$@"
