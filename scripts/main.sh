#!/usr/bin/env bash
# The main job: set up, then run an experiment end to end (default experiments/duopoly-linear.yaml; a local
# nats-server is started for it unless --nats is given). Extra arguments go to `stackelberg run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node dist/services/cli/main.js run "${1:-experiments/duopoly-linear.yaml}" "${@:2}"
