#!/usr/bin/env bash
# SCIM compliance: the independent suite scim2-tester (through scim2-cli, both from PyPI)
# drives /scim/v2 of the real server, on a fresh database, with a real organization's
# SCIM token. Passes when every check it runs succeeds: it prints one line per check,
# and any ERROR or SKIPPED line fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v scim2 >/dev/null || { echo "needs scim2-cli and scim2-tester: make test-deps"; exit 1; }
cargo build -q -p orgd
bin=${CARGO_TARGET_DIR:-target}/debug/orgd

base=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/orgd}
base=${base%/*}
db=orgd_scim_$$
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
work=$(mktemp -d)

export DATABASE_URL=$base/$db ORGD_BIND=127.0.0.1:$port ORGD_DEFAULT_PLAN=enterprise
# The compliance suite provisions in a tight loop with one token.
export ORGD_RATE_LIMIT_SCIM=0
export ORGD_JWT_SECRET=${ORGD_JWT_SECRET:-dev-only-secret-do-not-deploy-0123456789abcdef}
export ORGD_HMAC_KEY=${ORGD_HMAC_KEY:-dev-only-hmac-key-do-not-deploy-0123456789abcdef}
export ORGD_ENCRYPTION_KEY=${ORGD_ENCRYPTION_KEY:-00000000000000000000000000000000000000000000000000000000000000de}
export ORGD_WORKERS=2 RUST_LOG=${RUST_LOG:-warn}
unset ORGD_JWT_ISSUER ORGD_JWT_AUDIENCE ORGD_JWKS_FILE ORGD_SMTP_URL

server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  PGOPTIONS=--client-min-messages=warning psql "$base/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
  curl -fs "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; echo "the server did not start"; exit 1; }
  sleep 0.5
done

owner=$("$bin" token --sub scim-owner --email owner@scim.test --name 'SCIM Owner' --ttl 1h)
org=$(curl -fsS -X POST "$url/v1/orgs" -H "Authorization: Bearer $owner" -H 'Content-Type: application/json' \
  -d '{"name": "SCIM Compliance"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
scim_token=$(curl -fsS -X PUT "$url/v1/orgs/$org/scim" -H "Authorization: Bearer $owner" -H "If-Match: *" \
  -H 'Content-Type: application/json' -d '{"enabled": true}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

# The token travels in the environment, not on a command line other users can read.
export SCIM_CLI_HEADERS="Authorization: Bearer $scim_token"
status=0
scim2 --url "$url/scim/v2" test >"$work/report.txt" 2>&1 || status=$?
cat "$work/report.txt"
passed=$(grep -c '^SUCCESS ' "$work/report.txt" || true)
failed=$(grep -cE '^(ERROR|SKIPPED) ' "$work/report.txt" || true)
echo "scim: scim2-tester ran $((passed + failed)) checks: $passed passed, $failed failed or skipped (exit $status)"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  mkdir -p target && cp "$work/server.log" target/scim-server.log
  echo "scim: the server's log is in target/scim-server.log"
  exit 1
fi
