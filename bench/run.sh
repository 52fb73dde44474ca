#!/usr/bin/env bash
# The request-path benchmark: `make bench` (bench/run.sh full) and `make bench-quick`
# (bench/run.sh quick). Seeds a fresh database with SQL, serves it with the release build,
# drives each endpoint with wrk beside pgbench on the one query that answers it, counts
# statements per request from the PostgreSQL log, repeats two scenarios through PgBouncer
# in transaction pooling mode, and prints one markdown table.
#
# full writes the table to docs/benchmarks.md; quick prints it only. BENCH_DOC=path writes
# any run's table to that file instead (BENCH_DOC= with nothing prints only).
# Settings (environment): DATABASE_URL (its server and credentials; the database name is
# replaced), BENCH_DURATION and BENCH_PGBENCH_DURATION (seconds per scenario),
# BENCH_CONNECTIONS (64), BENCH_STATEMENT_SAMPLE (requests per endpoint when counting
# statements, 200), PG_LOG (the PostgreSQL server log, found when unset).
set -euo pipefail

mode=${1:-quick}
cd "$(dirname "$0")/.."
root=$PWD

case $mode in
  full)
    big_members=1000000 audit_records=5000000 default_duration=15 default_doc=docs/benchmarks.md ;;
  quick)
    big_members=100000 audit_records=200000 default_duration=2 default_doc= ;;
  *)
    echo "usage: bench/run.sh full|quick" >&2; exit 2 ;;
esac
small_orgs=10000 write_orgs=100 teams=1000
duration=${BENCH_DURATION:-$default_duration}
pgbench_duration=${BENCH_PGBENCH_DURATION:-$duration}
connections=${BENCH_CONNECTIONS:-64}
threads=2
statement_sample=${BENCH_STATEMENT_SAMPLE:-200}
count_seconds=$([ "$mode" = full ] && echo 2 || echo 1)
doc=${BENCH_DOC-$default_doc}

export PGOPTIONS=--client-min-messages=warning
database_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/orgd}
server_base=${database_url%/*}
bench_db=orgd_bench_$(date +%s)_$$
db_url=$server_base/$bench_db
work=$(mktemp -d /tmp/orgd-bench.XXXXXX)
orgd=${CARGO_TARGET_DIR:-$root/target}/release/orgd

log() { printf '== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- what it needs
install_missing() {
  local packages=()
  command -v wrk >/dev/null || packages+=(wrk)
  command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || packages+=(pgbouncer)
  command -v pgbench >/dev/null || packages+=(postgresql-client)
  command -v jq >/dev/null || packages+=(jq)
  command -v curl >/dev/null || packages+=(curl)
  if [ ${#packages[@]} -gt 0 ]; then
    log "installing ${packages[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- processes, cleanup
server_pid= server_url= pgbouncer_pid=

stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}

cleanup() {
  local status=$?
  stop_server
  if [ -n "$pgbouncer_pid" ]; then
    kill "$pgbouncer_pid" 2>/dev/null || true
    wait "$pgbouncer_pid" 2>/dev/null || true
  fi
  psql "$server_base/postgres" -qc "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts `orgd serve` on a free port against $1, with rate limits off so they do not cap
# the load; extra environment assignments follow. Sets server_pid and server_url.
start_server() {
  local url=$1 name=$2; shift 2
  local port; port=$(free_port)
  env DATABASE_URL="$url" ORGD_BIND="127.0.0.1:$port" \
    ORGD_RATE_LIMIT_PER_IP=0 ORGD_RATE_LIMIT_PER_CREDENTIAL=0 ORGD_RATE_LIMIT_INVITES=0 ORGD_RATE_LIMIT_SCIM=0 \
    "$@" "$orgd" serve >"$work/$name.log" 2>&1 &
  server_pid=$!
  server_url=http://127.0.0.1:$port
  for _ in $(seq 1 300); do
    if curl -sf "$server_url/healthz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      server_pid=
      echo "orgd ($name) exited at start:" >&2; tail -5 "$work/$name.log" >&2; return 1
    fi
    sleep 0.2
  done
  echo "orgd ($name) did not answer /healthz within 60 s" >&2; return 1
}

# curl that prints the body of a 2xx answer, and otherwise says what was answered.
call() {
  local out code
  out=$(curl -s -w '\n%{http_code}' "$@")
  code=${out##*$'\n'}
  if [[ $code != 2* ]]; then
    echo "curl ${*: -2:1} ${*: -1} answered $code: ${out%$'\n'*}" >&2
    return 1
  fi
  printf '%s' "${out%$'\n'*}"
}

# ---------------------------------------------------------------- measurements
declare -A rps p50 p99 non2xx tps statements hwm

# Runs one wrk scenario: name, script (bench/wrk/NAME.lua), then VAR=value settings.
# Records req/s, p50 and p99 (ms) and the count of non-2xx answers and socket errors.
run_wrk() {
  local name=$1 script=$2; shift 2
  local out
  out=$(env "$@" wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "bench/wrk/$script.lua" "$server_url" 2>&1) \
    || { echo "wrk $name failed: $out" >&2; return 1; }
  local line; line=$(grep '^BENCH-RESULT' <<<"$out") || { echo "wrk $name printed no result: $out" >&2; return 1; }
  local requests duration_us p50_us p99_us status errors
  read -r requests duration_us p50_us p99_us status errors < <(sed -E 's/[a-z_0-9]+=//g; s/BENCH-RESULT //' <<<"$line")
  rps[$name]=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
  p50[$name]=$(awk -v v="$p50_us" 'BEGIN { printf "%.2f", v / 1000 }')
  p99[$name]=$(awk -v v="$p99_us" 'BEGIN { printf "%.2f", v / 1000 }')
  non2xx[$name]=$((status + errors))
  record_hwm "$name"
  log "$(printf '%-22s %8s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s  server VmHWM %s MB' "$name" "${rps[$name]}" "${p50[$name]}" "${p99[$name]}" "${non2xx[$name]}" "${hwm[$name]}")"
}

# The server's peak resident memory so far (MB), after scenario $1: where it grows.
record_hwm() {
  hwm[$1]=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status" 2>/dev/null || true)
}

run_pgbench() {
  local name=$1 script=$2 out
  out=$(pgbench -n -M prepared -c"$connections" -j"$threads" -T"$pgbench_duration" \
    -D big_org="$big_org_uuid" -D big_members="$big_members" -D write_orgs="$write_orgs" -D last_after="$last_after" \
    -f "bench/pgbench/$script.sql" "$db_url" 2>&1) || true
  tps[$name]=$(awk '/^tps/ { printf "%.0f", $3 }' <<<"$out")
  if [ -z "${tps[$name]}" ]; then
    echo "pgbench $name failed: $(tail -3 <<<"$out")" >&2
    tps[$name]=
  fi
  log "$(printf 'pgbench %-14s %8s tps' "$name" "${tps[$name]:-n/a}")"
}

# ---------------------------------------------------------------- 1. tools, build, data
install_missing
log "building the release server"
cargo build --release -q -p orgd

log "database $bench_db: migrating and seeding ($big_members members, $audit_records audit records)"
DATABASE_URL=$db_url "$orgd" migrate >/dev/null
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
seed_started=$(date +%s)
psql "$db_url" -q -v ON_ERROR_STOP=1 -v big_members="$big_members" -v small_orgs="$small_orgs" \
  -v write_orgs="$write_orgs" -v teams="$teams" -v audit_records="$audit_records" -f bench/seed.sql
seed_seconds=$(( $(date +%s) - seed_started ))
log "seeded in ${seed_seconds} s"

big_org=org_01900000000370008000000000000001
big_org_uuid=01900000-0003-7000-8000-000000000001
# The last page of the big organization: the page after its 26th member from the end.
read -r last_after last_cursor < <(psql "$db_url" -Atq -F' ' -c "
  SELECT id, translate(rtrim(encode('\\x01'::bytea || uuid_send(id), 'base64'), '='), '+/', '-_')
  FROM memberships WHERE org_id = '$big_org_uuid'
  ORDER BY id OFFSET (SELECT count(*) - 26 FROM memberships WHERE org_id = '$big_org_uuid') LIMIT 1")

# ---------------------------------------------------------------- 2. the server under load
token=$("$orgd" token --sub bench-owner --email owner@bench.example --name "Bench Owner" --ttl 6h)
auth=(-H "Authorization: Bearer $token")
start_server "$db_url" serve
log "orgd serving on $server_url (pid $server_pid)"

# The first request provisions the owner's profile from the token; later ones only read it.
call "${auth[@]}" "$server_url/v1/orgs/$big_org" >/dev/null
call "${auth[@]}" -X PUT -H "If-Match: *" -H "Content-Type: application/json" "$server_url/v1/orgs/$big_org/llm-policy" \
  -d '{"providers":["openai","anthropic"],"regions":["eu","us"],"self_hosted_only":false}' >/dev/null
api_key=$(call "${auth[@]}" -X POST -H 'Content-Type: application/json' "$server_url/v1/orgs/$big_org/api-keys" \
  -d '{"name":"Bench gateway","permissions":["llm:read"]}' | jq -er .secret)
last_page_status=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$server_url/v1/orgs/$big_org/members?cursor=$last_cursor")
[ "$last_page_status" = 200 ] || { echo "the last page's cursor $last_cursor is answered $last_page_status" >&2; exit 1; }

export BENCH_WRK_DIR=$root/bench/wrk BENCH_BIG_MEMBERS=$big_members BENCH_WRITE_ORGS=$write_orgs BENCH_THREADS=$threads
user=BENCH_CREDENTIAL=$token
key=BENCH_CREDENTIAL=$api_key
run_wrk healthz healthz "$user"
run_wrk get_member get_member "$user"
run_wrk get_org get_org "$user"
run_wrk permissions permissions "$user"
run_wrk llm_check llm_check "$key"
run_wrk list_first list_members "$user"
run_wrk list_last list_members "$user" BENCH_CURSOR="$last_cursor"
run_wrk search search_members "$user"

# Audit verify walks the whole chain, 100,000 records a call, resuming where each stopped.
verified=0 from= verify_ok=true
verify_started=$(date +%s.%N)
while :; do
  answer=$(call "${auth[@]}" "$server_url/v1/orgs/$big_org/audit-log/verify${from:+?from_seq=$from}")
  verified=$((verified + $(jq -r .verified <<<"$answer")))
  [ "$(jq -r .ok <<<"$answer")" = true ] || { verify_ok=false; echo "audit chain broken: $answer" >&2; break; }
  [ "$(jq -r .complete <<<"$answer")" = true ] && break
  from=$(jq -r .resume_from_seq <<<"$answer")
done
verify_seconds=$(awk -v s="$verify_started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
verify_rate=$(awk -v n="$verified" -v s="$verify_seconds" 'BEGIN { printf "%.0f", n / s }')
record_hwm verify
log "audit verify: $verified records in $verify_seconds s = $verify_rate records/s (ok: $verify_ok), server VmHWM ${hwm[verify]} MB"
# The physical limit beside it: PostgreSQL alone streaming the same records, every column
# verification reads, in order, in its binary form to a client that discards them.
copy_started=$(date +%s.%N)
psql "$db_url" -qc "COPY (SELECT id, org_id, seq, actor_type, actor_id, action, target_type, target_id, changes,
  request_id, client_ip, user_agent, occurred_at, prev_hash, hash FROM audit_events WHERE org_id = '$big_org_uuid'
  ORDER BY seq) TO STDOUT (FORMAT binary)" >/dev/null
copy_rate=$(awk -v n="$verified" -v s="$copy_started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", n / (e - s) }')
log "COPY of the same records: $copy_rate records/s"

run_wrk invite_spread create_invite "$user"
run_wrk role_spread change_role "$user"
run_wrk invite_one create_invite "$user" BENCH_ONE_ORG=1
run_wrk role_one change_role "$user" BENCH_ONE_ORG=1

vm_hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$server_pid/status")
vm_rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")
log "RSS after load: VmHWM $((vm_hwm / 1024)) MB, VmRSS $((vm_rss / 1024)) MB"
server_errors=$(grep -c -E '"level":"ERROR"| ERROR ' "$work/serve.log" || true)
first_server_error=$(grep -m1 -E '"level":"ERROR"| ERROR ' "$work/serve.log" | cut -c1-240 || true)
stop_server

# ---------------------------------------------------------------- 3. pgbench, same database
for name in get_member get_org permissions llm_check list_first list_last search; do
  case $name in search) script=search_members ;; *) script=$name ;; esac
  run_pgbench "$name" "$script"
done

# ---------------------------------------------------------------- 4. statements per request
# pg_stat_statements is not preloaded and the server is not restarted for it: instead this
# database logs every statement (a fresh server's connections pick the setting up), and
# the statement and execute lines of the server's connections are counted between markers
# raised around a fixed number of sequential requests. What the background workers run in
# the same time is measured in an idle window and subtracted. wrk runs its whole duration
# even when a script stops early, so each endpoint gets count_seconds for up to the sample.
pg_log=${PG_LOG:-}
if [ -z "$pg_log" ]; then
  pg_log=$(psql "$server_base/postgres" -Atqc "SELECT coalesce(current_setting('data_directory') || '/' || pg_current_logfile(), '')")
  [ -n "$pg_log" ] || pg_log=$(ls -t /var/log/postgresql/postgresql-*.log 2>/dev/null | head -1)
fi
if [ -r "${pg_log:-/nonexistent}" ]; then
  psql "$server_base/postgres" -qc "ALTER DATABASE $bench_db SET log_statement = 'all'"
  start_server "$db_url" count
  log_offset=$(stat -c %s "$pg_log")
  mark() { psql "$db_url" -qc "DO \$\$BEGIN RAISE LOG 'orgd-bench-mark-$1'; END\$\$"; }
  declare -A sampled sample_seconds
  count_run() {
    local name=$1 script=$2; shift 2
    mark "$name-start"
    local out; out=$(env "$@" BENCH_MAX_REQUESTS="$statement_sample" wrk -t1 -c1 -d"${count_seconds}s" -s "bench/wrk/$script.lua" "$server_url" 2>&1)
    mark "$name-end"
    local line; line=$(grep '^BENCH-RESULT' <<<"$out")
    sampled[$name]=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
    sample_seconds[$name]=$(sed -E 's/.*duration_us=([0-9]+).*/\1/' <<<"$line" | awk '{ printf "%.3f", $1 / 1e6 }')
  }
  mark idle-start; sleep "$count_seconds"; mark idle-end
  count_run healthz healthz "$user"
  count_run get_member get_member "$user"
  count_run get_org get_org "$user"
  count_run permissions permissions "$user"
  count_run llm_check llm_check "$key"
  count_run list_first list_members "$user"
  count_run list_last list_members "$user" BENCH_CURSOR="$last_cursor"
  count_run search search_members "$user"
  count_run invite_spread create_invite "$user"
  count_run role_spread change_role "$user" BENCH_ONE_ORG=1 BENCH_FIRST_MEMBER=$((big_members / 2))
  sleep 1
  server_pids=$(psql "$db_url" -Atqc "SELECT string_agg(pid::text, '|') FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
  tail -c +"$((log_offset + 1))" "$pg_log" >"$work/statements.log"
  psql "$server_base/postgres" -qc "ALTER DATABASE $bench_db RESET log_statement"
  stop_server
  # Statement lines of the server's connections between two markers.
  between() {
    awk -v start="LOG:  orgd-bench-mark-$1-start" -v end="LOG:  orgd-bench-mark-$1-end" -v pids="^($server_pids)$" '
      index($0, start) { on = 1; next }
      index($0, end) { on = 0 }
      on && /LOG:  (statement|execute [^:]*):/ && !/orgd-bench-mark/ {
        if (match($0, /\[[0-9]+\]/)) { pid = substr($0, RSTART + 1, RLENGTH - 2); if (pid ~ pids) n++ }
      }
      END { print n + 0 }' "$work/statements.log"
  }
  idle_rate=$(awk -v n="$(between idle)" -v s="$count_seconds" 'BEGIN { printf "%.3f", n / s }')
  for name in "${!sampled[@]}"; do
    statements[$name]=$(awk -v n="$(between "$name")" -v r="$idle_rate" -v s="${sample_seconds[$name]}" -v q="${sampled[$name]}" \
      'BEGIN { v = (n - r * s) / q; if (v < 0) v = 0; printf "%.1f", v }')
  done
  statements[role_one]=${statements[role_spread]}
  statements[invite_one]=${statements[invite_spread]}
  statement_method="log_statement = 'all' on the bench database, $statement_sample sequential requests per endpoint, statement/execute lines of the server's connections between markers in $pg_log, minus the background workers' idle rate ($idle_rate statements/s)"
else
  statement_method="not counted: the PostgreSQL log was not found or not readable (set PG_LOG)"
  echo "$statement_method" >&2
fi

# ---------------------------------------------------------------- 5. through PgBouncer
pgbouncer_note=
pgbouncer_dir=$work/pgbouncer
mkdir -p "$pgbouncer_dir"
pgbouncer_port=$(free_port)
pg_host_port=${server_base##*@}
cat >"$pgbouncer_dir/pgbouncer.ini" <<EOF
[databases]
* = host=${pg_host_port%%:*} port=${pg_host_port##*:}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgbouncer_port
unix_socket_dir =
auth_type = trust
auth_file = $pgbouncer_dir/users.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,options
logfile = $pgbouncer_dir/pgbouncer.log
EOF
echo '"postgres" ""' >"$pgbouncer_dir/users.txt"
pgbouncer_user=()
if [ "$(id -u)" = 0 ]; then
  # PgBouncer refuses to run as root.
  chown -R postgres "$pgbouncer_dir"; chmod 755 "$work"
  pgbouncer_user=(-u postgres)
fi
pgbouncer_bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
"$pgbouncer_bin" "${pgbouncer_user[@]}" "$pgbouncer_dir/pgbouncer.ini" >/dev/null 2>&1 &
pgbouncer_pid=$!
sleep 1
pooled_url=postgres://postgres@127.0.0.1:$pgbouncer_port/$bench_db
if start_server "$pooled_url" pgbouncer ORGD_DB_STATEMENT_CACHE=false ORGD_DB_LISTEN_URL="$db_url"; then
  run_wrk get_member_pgbouncer get_member "$user" || true
  run_wrk invite_pgbouncer create_invite "$user" || true
  pooled_errors=$(grep -c -iE 'prepared statement|"level":"ERROR"| ERROR ' "$work/pgbouncer.log" || true)
  first_error=$(grep -m1 -iE 'prepared statement|"level":"ERROR"| ERROR ' "$work/pgbouncer.log" | cut -c1-240 || true)
  pgbouncer_note="server log through PgBouncer: $pooled_errors error lines${first_error:+; first: \`$first_error\`}"
  stop_server
else
  pgbouncer_note="orgd did not start through PgBouncer: $(tail -1 "$work/pgbouncer.log" | cut -c1-240)"
fi
log "$pgbouncer_note"

# ---------------------------------------------------------------- 6. the table
cell() { local v=${1:-}; printf '%s' "${v:-—}"; }
ratio_value() {
  local r=${rps[$1]:-} t=${tps[$1]:-}
  if [ -n "$r" ] && [ -n "$t" ] && [ "$t" != 0 ]; then awk -v r="$r" -v t="$t" 'BEGIN { printf "%.2f", r / t }'; fi
}
ratio() { cell "$(ratio_value "$1")"; }
row() {
  local name=$1 label=$2
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$(cell "${rps[$name]:-}")" "$(cell "${p50[$name]:-}")" \
    "$(cell "${p99[$name]:-}")" "$(cell "${tps[$name]:-}")" "$(ratio "$name")" "$(cell "${statements[$name]:-}")" \
    "$(cell "${non2xx[$name]:-}")" "$(cell "${hwm[$name]:-}")"
}
met() { if awk "BEGIN { exit !($1) }"; then printf 'met'; else printf '**not met**'; fi; }
num() { printf '%s' "${1:-0}"; }

table=$(
  echo "| scenario | req/s | p50 ms | p99 ms | pgbench tps (answering query) | ratio | statements/request | errors (non-2xx, socket) | server VmHWM after, MB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  row healthz '`/healthz` (HTTP layer alone)'
  row get_member 'GET member, user JWT'
  row get_org 'GET org, user JWT'
  row permissions 'GET permissions map, user JWT'
  row llm_check 'POST LLM check, API key'
  row list_first "GET members, first page ($big_members-member org)"
  row list_last "GET members, last page ($big_members-member org)"
  row search "GET members, search ($big_members-member org)"
  row invite_spread "POST invite, over $write_orgs orgs"
  row role_spread "PATCH member role, over $write_orgs orgs"
  row invite_one 'POST invite, one org'
  row role_one 'PATCH member role, one org'
  row get_member_pgbouncer 'GET member through PgBouncer (transaction mode, statement cache off)'
  row invite_pgbouncer "POST invite through PgBouncer, over $write_orgs orgs"
  printf '| audit verify, %s records over HTTP | %s records/s | | | %s records/s (COPY of the same rows) | %s | | %s | %s |\n' \
    "$verified" "$verify_rate" "$copy_rate" "$(awk -v v="$verify_rate" -v c="$copy_rate" 'BEGIN { printf "%.2f", v / c }')" \
    "$([ "$verify_ok" = true ] && echo "chain ok" || echo "**chain broken**")" "$(cell "${hwm[verify]:-}")"
  echo
  echo "RSS of the server after the load: VmHWM $((vm_hwm / 1024)) MB, VmRSS $((vm_rss / 1024)) MB; ERROR lines in its log: $server_errors${first_server_error:+ (first: \`$first_server_error\`)}."
  echo
  echo "Targets (issue 16):"
  echo
  for name in get_member get_org permissions llm_check; do
    echo "- $name ≥ 0.5 × pgbench and p99 < 10 ms: $(met "$(num "$(ratio_value "$name")") >= 0.5 && $(num "${p99[$name]:-}") < 10")"
  done
  echo "- creating writes over $write_orgs orgs ≥ 2,000 req/s: invite $(met "$(num "${rps[invite_spread]:-}") >= 2000"), role change $(met "$(num "${rps[role_spread]:-}") >= 2000"); inside one org: invite ${rps[invite_one]:-—} req/s, role change ${rps[role_one]:-—} req/s"
  echo "- audit verify ≥ 500,000 records/s: $(met "$verify_rate >= 500000")"
  echo "- last page within 1.5 × the first (p50): $(met "$(num "${p50[list_last]:-}") <= 1.5 * $(num "${p50[list_first]:-}")")"
  echo "- member search p99 < 20 ms: $(met "$(num "${p99[search]:-}") < 20")"
  echo "- RSS < 100 MB under load: $(met "$vm_hwm < 102400")"
)

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
memory=$(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)
pg_version=$(psql "$server_base/postgres" -Atqc "SHOW server_version")
pool_note="orgd defaults (ORGD_WORKERS = cores, ORGD_DB_POOL_SIZE 16), rate limits off"
report=$(cat <<EOF
# Benchmarks: the request path

Command: \`make bench\` (\`bench/run.sh full\`); \`make bench-quick\` is the same on smaller data
with shorter runs and prints without writing here. Run at commit \`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\` on $(date -u +%Y-%m-%d).

Machine: $(nproc) cores ($cpu), $memory memory, PostgreSQL $pg_version on the same machine,
kernel $(uname -r); load average before seeding $load_at_start, after the run $(cut -d' ' -f1-3 /proc/loadavg)
(other work shares these cores: compare figures of one run with each other). Load over loopback: \`wrk -t$threads -c$connections -d${duration}s --latency\`
(scripts in \`bench/wrk/\`) against the release build, $pool_note;
\`pgbench -n -M prepared -c$connections -j$threads -T$pgbench_duration\` on the one query that answers each
GET (\`bench/pgbench/\`), same database, same run; ratio = req/s ÷ pgbench tps. Audit verify's limit is
PostgreSQL alone streaming the same records (\`COPY … TO STDOUT (FORMAT binary)\` through psql); ratio = its rate ÷ that.

Data (\`bench/seed.sql\`, seeded in $seed_seconds s): one organization of $big_members members,
$small_orgs organizations of 10 members, $teams teams, a chain of $audit_records audit records;
writes go to $write_orgs organizations the bench user owns, or all to the big one.

$table

Statements per request: $statement_method.
PgBouncer 1.18, \`pool_mode = transaction\`, orgd started with \`ORGD_DB_STATEMENT_CACHE=false\` and \`ORGD_DB_LISTEN_URL\` pointing at PostgreSQL directly; $pgbouncer_note.
EOF
)

echo
echo "$report"
if [ -n "$doc" ]; then
  echo "$report" >"$doc"
  log "written to $doc"
fi
