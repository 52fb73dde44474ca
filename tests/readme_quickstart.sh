#!/usr/bin/env bash
# Follows README.md as a newcomer would, so the README and the service cannot drift apart.
#
# Every ```sh block of the README runs, in order, in one shell, against the real server:
# - `make run` starts the server in the background, on its own fresh database and a free
#   port (DATABASE_URL and ORGD_BIND are overridden, so a developer's server on 8080 and its
#   database are left alone), and waits for /readyz;
# - `make test` is skipped (CI runs it just before);
# - http://127.0.0.1:8080 is replaced by the free port;
# - every `curl` must answer 2xx.
# Blocks meant to be read, not run, must not be tagged `sh`. Then the server's log must hold
# no secret and no warning; finally the server is stopped and the database dropped.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in curl python3 psql pgrep; do
  command -v "$tool" >/dev/null || { echo "readme-check: needs $tool" >&2; exit 1; }
done

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/orgd}
server_url=${server_url%/*}
database=orgd_readme_$$
export DATABASE_URL="$server_url/$database" ORGD_BIND="127.0.0.1:$port"
export README_CHECK_WORK="$work" README_CHECK_PORT="$port"
export PGOPTIONS=--client-min-messages=warning

# Stops a process and everything it started (make → cargo → orgd), children first so the
# server shuts down gracefully rather than being orphaned.
stop_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do stop_tree "$child"; done
  kill "$1" 2>/dev/null || true
}

cleanup() {
  local status=$?
  if [[ -s $work/server.pid ]]; then
    local pid
    pid=$(cat "$work/server.pid")
    stop_tree "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  if [[ $status -ne 0 && -f $work/server.log ]]; then
    echo "readme-check: the server's log ends with:" >&2
    tail -n 40 "$work/server.log" >&2
  fi
  psql "$server_url/postgres" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# What the README's commands run on top of: the server start, and a `curl` that checks the
# status and names each call (method and path only; headers hold tokens).
cat >"$work/prelude.sh" <<'PRELUDE'
start_server() {
  make run >"$README_CHECK_WORK/server.log" 2>&1 &
  echo $! >"$README_CHECK_WORK/server.pid"
  local pid=$! deadline=$((SECONDS + 900))
  until command curl -sf "http://127.0.0.1:$README_CHECK_PORT/readyz" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "readme-check: make run exited before it was ready" >&2; return 1; }
    ((SECONDS < deadline)) || { echo "readme-check: not ready after 15 minutes" >&2; return 1; }
    sleep 0.2
  done
  echo "readme-check: server ready on port $README_CHECK_PORT" >&2
}

describe_call() {
  local method="" url="" previous="" arg
  for arg in "$@"; do
    [[ $previous == -X ]] && method=$arg
    [[ $arg == http://* ]] && url=$arg
    [[ $arg == -d && -z $method ]] && method=POST
    previous=$arg
  done
  url=${url#http://127.0.0.1:"$README_CHECK_PORT"}
  echo "${method:-GET} ${url//orgi_+([A-Za-z0-9])/orgi_…}"
}

curl() {
  local body status
  body=$(mktemp)
  if ! status=$(command curl -sS -o "$body" -w '%{http_code}' "$@"); then
    rm -f "$body"
    echo "readme-check: FAILED, no answer to $(describe_call "$@")" >&2
    return 1
  fi
  if [[ $status == 2?? ]]; then
    echo "readme-check: HTTP $status from $(describe_call "$@")" >&2
  else
    echo "readme-check: FAILED, HTTP $status from $(describe_call "$@")" >&2
  fi
  # The body as the README's reader sees it, ending its line; a `$(…)` capture drops the
  # newline again.
  cat "$body"
  [[ ! -s $body || $(tail -c 1 "$body") == "" ]] || echo
  rm -f "$body"
  [[ $status == 2?? ]]
}
PRELUDE

# The README's sh blocks, in order, with the substitutions described above.
awk '/^```sh$/ { inside = 1; next } /^```/ { if (inside) print ""; inside = 0; next } inside' README.md |
  sed -E -e 's/^make run( .*)?$/start_server/' \
    -e 's/^make test( .*)?$/: make test is not run here/' \
    -e "s#http://127\\.0\\.0\\.1:8080#http://127.0.0.1:$port#g" >"$work/readme.sh"
grep -q '^start_server$' "$work/readme.sh" || { echo "readme-check: the README has no \`make run\` block" >&2; exit 1; }

started=$SECONDS
bash -O extglob -euo pipefail -c 'source "$1"; source "$2"' readme-check "$work/prelude.sh" "$work/readme.sh"
echo "readme-check: the README's commands ran in $((SECONDS - started)) s"

# The log is the server's own view of those calls: every request on one line, and no
# bearer token, API key, invite or SCIM token, or the README's OIDC client secret in it.
if grep -nE 'eyJ[A-Za-z0-9_-]{10,}|org[kis]_[A-Za-z0-9]{10,}|paste-the-client-secret' "$work/server.log" >&2; then
  echo "readme-check: FAILED, a secret reached the server's log (above)" >&2
  exit 1
fi
if grep -nE ' (WARN|ERROR) ' "$work/server.log" >&2; then
  echo "readme-check: FAILED, the README's calls logged warnings or errors (above)" >&2
  exit 1
fi
echo "readme-check: OK"
