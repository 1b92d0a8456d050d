#!/usr/bin/env bash
# Sets up a fresh clone: npm packages, nats-server (from Debian's packages when missing), build.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js >= 20.12 is required (https://nodejs.org)" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  # npm install, not npm ci: the lock file cannot list every platform build of optional packages
  # (biome, tfjs-node) that this registry lacks, and npm ci refuses such a lock.
  npm install --no-audit --no-fund
fi

find_nats() {
  if [ -n "${NATS_SERVER:-}" ] && [ -x "${NATS_SERVER}" ]; then echo "${NATS_SERVER}"; return 0; fi
  command -v nats-server 2>/dev/null && return 0
  for p in /usr/sbin/nats-server /usr/bin/nats-server /usr/local/bin/nats-server; do
    if [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

if [ -z "${NATS_URL:-}" ] && ! find_nats >/dev/null; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "setup: installing nats-server from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  else
    echo "setup: nats-server not found. Install it (Debian/Ubuntu: sudo apt-get install nats-server;" >&2
    echo "       others: https://github.com/nats-io/nats-server/releases), set NATS_SERVER=/path/to/nats-server," >&2
    echo "       or point NATS_URL at a running server with JetStream enabled." >&2
    exit 1
  fi
fi

npm run --silent build
