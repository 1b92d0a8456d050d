#!/usr/bin/env bash
# The whole test suite: set up, typecheck, lint, then unit and integration tests (real nats-server).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npm run --silent typecheck
npm run --silent lint
exec npx vitest run "$@"
