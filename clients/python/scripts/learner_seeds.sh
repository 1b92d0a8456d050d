#!/usr/bin/env bash
# The Python learning follower (stackelberg.examples.learning_follower) against the TypeScript PPO
# leader, one secured run per seed, each with its own nats-server, market and leader processes, as
# on separate machines: `stackelberg auth`, `nats-server -c`, `stackelberg market`, `stackelberg firm
# --firm leader`, and the Python follower with only its own credentials file.
#
#   clients/python/scripts/learner_seeds.sh [SEED...]          (default seeds: 1 2 3)
#
# Per seed: the experiment's seed (market, leader) and the follower's --seed are both SEED. Prints
# one row per seed: the follower's and the leader's mean quantity over the last 20 rounds (the
# evaluation phase), their distance to the Stackelberg equilibrium from `stackelberg solve`, and the
# wall time from starting the market to the last process's exit. Exits 1 if a follower ends more
# than 2% off its equilibrium quantity.
#
# Environment: EXPERIMENT (default experiments/ppo-leader-python-follower.yaml), STK_CLI (default
# dist/services/cli/main.js: `npm run build` first), PYTHON (default .venv/bin/python, with
# clients/python[envs] installed), NATS_SERVER (default .tools/bin/nats-server, then PATH),
# KEEP=1 keeps each run's folder (logs) and prints it. FOLLOWER (default
# stackelberg.examples.learning_follower) and FOLLOWER_ARGS run another Python follower the same way,
# e.g. FOLLOWER=stackelberg.examples.sb3_follower FOLLOWER_ARGS="--train-rounds 100" PYTHON=<venv with SB3>/bin/python.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$ROOT"
EXPERIMENT="${EXPERIMENT:-experiments/ppo-leader-python-follower.yaml}"
STK_CLI="${STK_CLI:-dist/services/cli/main.js}"
PYTHON="${PYTHON:-.venv/bin/python}"
FOLLOWER="${FOLLOWER:-stackelberg.examples.learning_follower}"
read -r -a FOLLOWER_ARGS <<<"${FOLLOWER_ARGS:-}"
if [ -z "${NATS_SERVER:-}" ]; then
  if [ -x .tools/bin/nats-server ]; then NATS_SERVER=.tools/bin/nats-server; else NATS_SERVER="$(command -v nats-server || true)"; fi
fi
for f in "$STK_CLI" "$PYTHON" "$NATS_SERVER"; do
  [ -n "$f" ] && [ -e "$f" ] || { echo "learner_seeds: missing $f (npm run build; scripts/test.sh sets up .venv and nats-server)" >&2; exit 2; }
done
SEEDS=("$@")
[ "${#SEEDS[@]}" -gt 0 ] || SEEDS=(1 2 3)

eq_json="$(node "$STK_CLI" solve "$EXPERIMENT" --json)"
read -r EQ_F EQ_L < <("$PYTHON" -c '
import json, sys
s = {f["id"]: f["quantity"] for f in json.load(sys.stdin)["stackelberg"]["firms"]}
print(s["follower"], s["leader"])' <<<"$eq_json")
echo "equilibrium (stackelberg solve $EXPERIMENT): follower $EQ_F, leader $EQ_L"
printf '%-5s %-10s %-8s %-10s %-8s %-9s %s\n' seed follower "off %" leader "off %" "wall s" "follower's learned reaction"

pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

status=0
for seed in "${SEEDS[@]}"; do
  dir="$(mktemp -d "${TMPDIR:-/tmp}/stk-learner-$seed-XXXX")"
  run="learner-s$seed"
  sed -E "s/^seed: .*/seed: $seed/" "$EXPERIMENT" > "$dir/exp.yaml"
  port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  node "$STK_CLI" auth "$dir/exp.yaml" --out "$dir/auth" --run "$run" --listen "127.0.0.1:$port" > /dev/null
  "$NATS_SERVER" -c "$dir/auth/server.conf" > "$dir/nats.log" 2>&1 &
  pids=($!)
  "$PYTHON" - "$port" <<'EOF'
import socket, sys, time
end = time.monotonic() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close(); break
    except OSError:
        if time.monotonic() > end: sys.exit("nats-server did not start")
        time.sleep(0.05)
EOF
  url="nats://127.0.0.1:$port"
  t0=$(date +%s.%N)
  node "$STK_CLI" market --config "$dir/exp.yaml" --nats "$url" --run "$run" --creds "$dir/auth/market.nk" > "$dir/market.log" 2>&1 &
  market=$!
  node "$STK_CLI" firm --config "$dir/exp.yaml" --nats "$url" --run "$run" --firm leader --creds "$dir/auth/firm-leader.nk" > "$dir/leader.log" 2>&1 &
  leader=$!
  pids+=("$market" "$leader")
  rc=0
  "$PYTHON" -m "$FOLLOWER" --nats "$url" --run "$run" --firm follower --creds "$dir/auth/firm-follower.nk" \
    --seed "$seed" --json-out "$dir/result.json" ${FOLLOWER_ARGS[@]+"${FOLLOWER_ARGS[@]}"} > "$dir/follower.log" 2>&1 || rc=$?
  wait "$market" || rc=$?
  wait "$leader" || rc=$?
  t1=$(date +%s.%N)
  kill "${pids[0]}" 2>/dev/null || true
  wait "${pids[0]}" 2>/dev/null || true
  pids=()
  if [ "$rc" -ne 0 ] || [ ! -s "$dir/result.json" ]; then
    echo "seed $seed: a process failed (exit $rc); logs in $dir:" >&2
    tail -n 5 "$dir"/*.log >&2
    status=1
    continue
  fi
  if ! "$PYTHON" - "$dir/result.json" "$EQ_F" "$EQ_L" "$seed" "$t0" "$t1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
eq_f, eq_l, seed, t0, t1 = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5]), float(sys.argv[6])
off_f = 100 * abs(r["quantity"] - eq_f) / eq_f
off_l = 100 * abs(r["leaders_quantity"] - eq_l) / eq_l
rx = r.get("reaction")
react = f"q = {rx['intercept']:.3f} {rx['slope']:+.4f} S " if rx else ""
print(f"{seed:<5} {r['quantity']:<10.4f} {off_f:<8.4f} {r['leaders_quantity']:<10.4f} {off_l:<8.4f} {t1 - t0:<9.1f} "
      f"{react}({r['trained_rounds']} rounds trained, {r.get('absent', 0)} absent)")
sys.exit(0 if off_f <= 2.0 else 1)
EOF
  then status=1; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "  (run folder: $dir)"; else rm -rf "$dir"; fi
done
exit $status
