# A server of the run's own, for the checks that drive the real binary from outside
# (contract, SCIM compliance, generated clients): a fresh database and a free port, the
# development keys unless the environment has others, everything removed however the run
# ends. Sourced, not run:
#
#   source tests/support/scratch_server.sh
#   scratch_init sdk          # sets base, db, port, url, work; exports DATABASE_URL, ORGD_BIND…
#   export ORGD_…=…           # the check's own settings
#   trap scratch_cleanup EXIT # or a cleanup of the check's own that calls it
#   scratch_start "$bin"      # serves in the background, sets server
#   scratch_wait_ready 60     # seconds; shows the server's log if it never gets ready

scratch_init() {
  local name=$1
  base=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/orgd}
  base=${base%/*}
  db=orgd_${name}_$$
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  url=http://127.0.0.1:$port
  work=$(mktemp -d)
  server=
  export PGOPTIONS=--client-min-messages=warning
  export DATABASE_URL=$base/$db ORGD_BIND=127.0.0.1:$port ORGD_DEFAULT_PLAN=enterprise ORGD_WORKERS=2
  export ORGD_JWT_SECRET=${ORGD_JWT_SECRET:-dev-only-secret-do-not-deploy-0123456789abcdef}
  export ORGD_HMAC_KEY=${ORGD_HMAC_KEY:-dev-only-hmac-key-do-not-deploy-0123456789abcdef}
  export ORGD_ENCRYPTION_KEY=${ORGD_ENCRYPTION_KEY:-00000000000000000000000000000000000000000000000000000000000000de}
  export RUST_LOG=${RUST_LOG:-warn}
  unset ORGD_JWKS_FILE ORGD_SMTP_URL ORGD_JWT_ISSUER ORGD_JWT_AUDIENCE
}

# Creates and migrates the database as it starts.
scratch_start() {
  "$1" serve >"$work/server.log" 2>&1 &
  server=$!
}

scratch_wait_ready() {
  local seconds=$1 _
  local why="did not get ready within $seconds s"
  for _ in $(seq 1 $((seconds * 2))); do
    curl -fs "$url/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || { why="exited before it was ready"; break; }
    sleep 0.5
  done
  cat "$work/server.log" >&2
  echo "the server $why (its log is above)" >&2
  return 1
}

scratch_cleanup() {
  if [[ -n ${server:-} ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  psql "$base/postgres" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
