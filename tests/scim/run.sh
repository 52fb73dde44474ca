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

source tests/support/scratch_server.sh
scratch_init scim
# The compliance suite provisions in a tight loop with one token.
export ORGD_RATE_LIMIT_SCIM=0
trap scratch_cleanup EXIT
scratch_start "$bin"
scratch_wait_ready 30

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
