#!/usr/bin/env bash
# The market process's CPU per round, by firm count and batch size (docs/deploy.md, "Sharding the
# market"). For each size: a secured nats-server (`stackelberg auth`), `stackelberg market` under
# /usr/bin/time, and one `stackelberg firm` process hosting every firm (fixed quantities, so the
# firms cost next to nothing). Each size runs twice, SHORT and LONG rounds; the market's CPU per
# round is (CPU(LONG) - CPU(SHORT)) / (LONG - SHORT), which takes out start-up, connecting and JIT.
# CPU time, not wall time: it does not depend on what else the machine runs.
#
#   npm run build && scripts/market-cost.sh "2 11 51 201" "1 64 1024"   # firm counts, batch sizes
set -euo pipefail
cd "$(dirname "$0")/.."
FIRMS="${1:-2 11 51}"
BATCHES="${2:-1 64 1024}"
SHORT="${SHORT:-200}"
LONG="${LONG:-1200}"
CLI="node dist/services/cli/main.js"
NATS="${NATS_SERVER:-$( [ -x .tools/bin/nats-server ] && echo .tools/bin/nats-server || command -v nats-server )}"
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

# experiment FIRMS BATCH ROUNDS > file: 1 leader and FIRMS-1 followers, fixed quantities.
experiment() {
  echo "name: cost"
  echo "market: { demand: { kind: linear, a: 1000, b: 1 }, batch: $2, episodes: $3, quantityMax: 1000, deadlineMs: 20000 }"
  echo "firms:"
  echo "  - { id: leader, role: leader, cost: { kind: linear, c: 10 }, policy: { kind: fixed, quantity: 50 } }"
  for i in $(seq 1 $(($1 - 1))); do
    echo "  - { id: f$i, role: follower, cost: { kind: linear, c: 10 }, policy: { kind: fixed, quantity: 1 } }"
  done
}

# cpu FIRMS BATCH ROUNDS: the market's user+system CPU seconds for a run of ROUNDS rounds.
cpu() {
  local d="$work/$1-$2-$3" port
  mkdir -p "$d"
  experiment "$1" "$2" "$3" > "$d/exp.yaml"
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  $CLI auth "$d/exp.yaml" --out "$d/auth" --run cost --listen "127.0.0.1:$port" --store "$d/store" > /dev/null
  : > "$d/nats.log"
  "$NATS" -c "$d/auth/server.conf" 2> "$d/nats.log" &
  server=$!
  until grep -q "Server is ready" "$d/nats.log"; do sleep 0.1; done
  local common="--config $d/exp.yaml --nats nats://127.0.0.1:$port --run cost --creds $d/auth"
  local ids
  ids=$(grep -o 'id: [a-z0-9]*' "$d/exp.yaml" | cut -d' ' -f2 | paste -sd,)
  LOG_LEVEL=warn /usr/bin/time -f "%U %S" -o "$d/time" $CLI market $common > "$d/market.log" 2>&1 &
  local market=$!
  LOG_LEVEL=warn $CLI firm $common --firm "$ids" > "$d/firm.log" 2>&1
  wait "$market"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  awk '{ print $1 + $2 }' "$d/time"
}

echo "| firms | B | market CPU per round (ms) | CPU, $SHORT rounds (s) | CPU, $LONG rounds (s) |"
echo "|---:|---:|---:|---:|---:|"
for n in $FIRMS; do
  for b in $BATCHES; do
    a=$(cpu "$n" "$b" "$SHORT")
    z=$(cpu "$n" "$b" "$LONG")
    awk -v n="$n" -v b="$b" -v a="$a" -v z="$z" -v s="$SHORT" -v l="$LONG" \
      'BEGIN { printf "| %d | %d | %.3f | %.2f | %.2f |\n", n, b, (z - a) * 1000 / (l - s), a, z }'
  done
done
