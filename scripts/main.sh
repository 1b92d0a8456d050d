#!/usr/bin/env bash
# The main job: set up, then run the default experiment end to end (a local nats-server is started for it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node dist/services/cli/main.js solve "${1:-experiments/duopoly-linear.yaml}"
