#!/usr/bin/env bash
# The whole test suite: set up, typecheck, lint, the TypeScript unit and integration tests (real
# nats-server), then the outside-agent clients' own suites (Go, Python).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npm run --silent typecheck
npm run --silent lint

# The Python client in a project-local virtual environment (.venv, ignored by git), installed
# editable so the tests see the working tree; reinstalled when its pyproject.toml changes or when
# the venv's `stackelberg` is not this tree's (e.g. a non-editable `pip install ./clients/python`).
if ! python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "test: Python >= 3.10 is required for the Python client (clients/python)" >&2
  exit 1
fi
editable() {
  .venv/bin/python -c 'import os, sys, stackelberg; sys.exit(0 if os.path.realpath(stackelberg.__file__).startswith(os.path.realpath("clients/python/src")) else 1)' 2>/dev/null
}
if [ ! -x .venv/bin/python ] || [ clients/python/pyproject.toml -nt .venv/.stk-installed ] || ! editable; then
  echo "test: setting up .venv for the Python client (clients/python)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -e './clients/python[dev]'
  touch .venv/.stk-installed
fi

# Installs Debian package $1 (needed by $2) when this runs as root with apt-get; else says what is missing.
apt_install() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "test: installing $1 from Debian's packages ($2)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null \
      || echo "test: installing $1 failed; the $2 will fail" >&2
  else
    echo "test: $1 is missing; the $2 needs it (Debian/Ubuntu: sudo apt-get install $1)" >&2
  fi
}

# Headless Chromium for the report tests (test/integration/report.test.ts opens report.html in it):
# Debian's package, driven by playwright-core; no browser is ever downloaded. Installed outside the
# repo, so the work tree stays clean. CHROMIUM_PATH names another binary.
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then apt_install chromium "report tests"; fi

# iproute2's `ip` for the multi-host test (test/integration/multi-host.test.ts: network namespaces
# as hosts, root only). Debian's package; most images have it already.
if ! command -v ip >/dev/null 2>&1 && [ ! -x /usr/sbin/ip ] && [ ! -x /sbin/ip ]; then apt_install iproute2 "multi-host test"; fi

# A test that cannot run here fails instead of skipping (as the Python suite's skips do below).
STK_REQUIRE_ALL=1 npx vitest run "$@"
if [ "$#" -eq 0 ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "test: Go >= 1.26 is required for the Go client's suite (clients/go)" >&2
    exit 1
  fi
  echo "test: Go client (clients/go): go vet, go test"
  (cd clients/go && GOFLAGS=-mod=readonly go vet ./... && GOFLAGS=-mod=readonly go test ./...)
  echo "test: Python client (clients/python): mypy, pytest"
  (cd clients/python && ../../.venv/bin/mypy && STK_REQUIRE_ALL=1 ../../.venv/bin/pytest -q -rs)
fi
