#!/usr/bin/env bash
# The main job: set up, then run an experiment end to end (default experiments/ppo-duopoly-alternating.yaml:
# a PPO leader and a PPO follower learning on the alternating schedule, ending with the path of its
# report.html; the best-response oracle experiment, duopoly-linear.yaml, stays as the baseline; a local
# nats-server is started for it unless --nats is given). Extra arguments go to `stackelberg run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node dist/services/cli/main.js run "${1:-experiments/ppo-duopoly-alternating.yaml}" "${@:2}"
