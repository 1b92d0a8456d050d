#!/usr/bin/env bash
# Sets up a fresh clone: npm packages, nats-server (a pinned release built into .tools/ with Go, else
# Debian's package), build. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# The nats-server release the suite is run against. Users deploy current releases; Debian's package
# lags far behind (2.9.10 in bookworm), so it is only the fallback when Go is missing or the build fails.
NATS_SERVER_VERSION="$(tr -d '[:space:]' < scripts/nats-server.version)"
TOOLS_BIN="$PWD/.tools/bin"

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js >= 20.12 is required (https://nodejs.org)" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  # npm ci: exactly the locked tree, and it never rewrites package-lock.json. The lock lists every
  # platform's optional builds (biome, rolldown, ...), so it installs on any OS; the optional
  # tfjs-node may fail to fetch its native library, which npm tolerates.
  npm ci --no-audit --no-fund
fi

find_nats() {
  if [ -n "${NATS_SERVER:-}" ] && [ -x "${NATS_SERVER}" ]; then echo "${NATS_SERVER}"; return 0; fi
  if [ -x "$TOOLS_BIN/nats-server" ]; then echo "$TOOLS_BIN/nats-server"; return 0; fi
  command -v nats-server 2>/dev/null && return 0
  for p in /usr/sbin/nats-server /usr/bin/nats-server /usr/local/bin/nats-server; do
    if [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

# Nothing to install when the user names a binary (NATS_SERVER). NATS_URL does not make the binary
# unnecessary: `run` secures a server of its own, and the security and deploy tests start servers
# with the configuration they generate for their runs.
if ! { [ -n "${NATS_SERVER:-}" ] && [ -x "${NATS_SERVER}" ]; }; then
  if ! "$TOOLS_BIN/nats-server" --version 2>/dev/null | grep -qx "nats-server: v$NATS_SERVER_VERSION"; then
    if command -v go >/dev/null 2>&1; then
      echo "setup: building nats-server v$NATS_SERVER_VERSION into .tools/bin (about a minute, once)"
      # Go's module and build caches stay in their defaults (outside the repo); GOWORK=off so a
      # go.work above the repo cannot change what is built.
      if ! GOBIN="$TOOLS_BIN" GOWORK=off go install "github.com/nats-io/nats-server/v2@v$NATS_SERVER_VERSION"; then
        echo "setup: building nats-server failed; falling back to another nats-server" >&2
      fi
    fi
  fi
  if ! find_nats >/dev/null; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
      echo "setup: installing nats-server from Debian's packages"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
    else
      echo "setup: nats-server not found. Install Go (setup then builds nats-server v$NATS_SERVER_VERSION)," >&2
      echo "       or install nats-server (Debian/Ubuntu: sudo apt-get install nats-server;" >&2
      echo "       others: https://github.com/nats-io/nats-server/releases), set NATS_SERVER=/path/to/nats-server," >&2
      echo "       or point NATS_URL at a running server with JetStream enabled." >&2
      exit 1
    fi
  fi
fi

npm run --silent build
