#!/usr/bin/env bash
# The whole test suite: set up, typecheck, lint, the TypeScript unit and integration tests (real
# nats-server), then the outside-agent clients' own suites (Go, Python).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npm run --silent typecheck
npm run --silent lint

# The Python client in a project-local virtual environment (.venv, ignored by git), installed
# editable so the tests see the working tree; reinstalled when its pyproject.toml changes.
if [ ! -x .venv/bin/python ] || [ clients/python/pyproject.toml -nt .venv/.stk-installed ]; then
  echo "test: setting up .venv for the Python client (clients/python)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -e './clients/python[dev]'
  touch .venv/.stk-installed
fi

npx vitest run "$@"
if [ "$#" -eq 0 ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "test: Go >= 1.26 is required for the Go client's suite (clients/go)" >&2
    exit 1
  fi
  echo "test: Go client (clients/go): go vet, go test"
  (cd clients/go && GOFLAGS=-mod=readonly go vet ./... && GOFLAGS=-mod=readonly go test ./...)
  echo "test: Python client (clients/python): mypy, pytest"
  (cd clients/python && ../../.venv/bin/mypy && ../../.venv/bin/pytest -q)
fi
