#!/usr/bin/env bash
# The whole test suite: set up, typecheck, lint, the TypeScript unit and integration tests (real
# nats-server), then the outside-agent clients' own suites (Go; Python when clients/python exists).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npm run --silent typecheck
npm run --silent lint
npx vitest run "$@"
if [ "$#" -eq 0 ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "test: Go >= 1.26 is required for the Go client's suite (clients/go)" >&2
    exit 1
  fi
  echo "test: Go client (clients/go): go vet, go test"
  (cd clients/go && GOFLAGS=-mod=readonly go vet ./... && GOFLAGS=-mod=readonly go test ./...)
fi
