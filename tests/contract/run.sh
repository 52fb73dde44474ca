#!/usr/bin/env bash
# The contract check: an independent fuzzer (schemathesis) reads the served OpenAPI document
# and sends schema-valid and schema-invalid requests to every operation, with every check.
# Any response the document does not promise is a failure, and so a non-zero exit.
#
# Runs the server binary against a fresh database of its own, as the owner of a real
# organization. Tunables: CONTRACT_SEED, CONTRACT_MAX_EXAMPLES, CONTRACT_TIMEOUT (seconds),
# CONTRACT_ST_ARGS (more `st run` options, e.g. `--include-path-regex audit`).
set -euo pipefail
cd "$(dirname "$0")/../.."

seed=${CONTRACT_SEED:-42}
max_examples=${CONTRACT_MAX_EXAMPLES:-30}
time_limit=${CONTRACT_TIMEOUT:-300}

command -v st >/dev/null || { echo "needs schemathesis: make test-deps"; exit 1; }
command -v openssl >/dev/null || { echo "needs openssl, to make a SAML signing certificate"; exit 1; }
cargo build -q -p orgd
bin=${CARGO_TARGET_DIR:-target}/debug/orgd

source tests/support/scratch_server.sh
scratch_init contract

# Every feature, SCIM's included, is open to the run's organizations (ORGD_DEFAULT_PLAN).
# Webhooks the fuzzer registers point at loopback.
export ORGD_WEBHOOK_ALLOW_PRIVATE=true
# The fuzzer sends thousands of requests from one address and one token, invite links
# included: rate limits (documented on every operation, tested in tests/api/rate_limits.rs)
# would answer most of them 429.
export ORGD_RATE_LIMIT_PER_IP=0 ORGD_RATE_LIMIT_PER_CREDENTIAL=0 ORGD_RATE_LIMIT_INVITES=0 ORGD_RATE_LIMIT_SCIM=0
# Tokens bound to this server by issuer and audience, so that it trusts the staff claim of
# the platform staff token /v1/admin is fuzzed with (server and `orgd token` read these).
export ORGD_JWT_ISSUER=https://idp.contract.test ORGD_JWT_AUDIENCE=orgd-contract

dns=
cleanup() {
  if [ -n "$dns" ]; then kill "$dns" 2>/dev/null || true; wait "$dns" 2>/dev/null || true; fi
  scratch_cleanup
}
trap cleanup EXIT

# A real, current signing certificate, which the hooks put in place of the PEM-shaped ones
# schemathesis generates: the SSO settings take only a certificate that parses and is valid now.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj '/CN=Contract IdP signing' \
  -keyout "$work/idp-key.pem" -out "$work/idp-cert.pem" 2>/dev/null
CONTRACT_SAML_CERT=$(cat "$work/idp-cert.pem")
export CONTRACT_SAML_CERT

# Domain verification asks a DNS server of the run's own, which knows no name.
dns_port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo '{}' >"$work/dns.json"
python3 tests/contract/dns_server.py "$dns_port" "$work/dns.json" >"$work/dns.log" 2>&1 &
dns=$!
export ORGD_DNS_RESOLVER=127.0.0.1:$dns_port

scratch_start "$bin"
scratch_wait_ready 30

token=$("$bin" token --sub contract-owner --email owner@contract.test --name 'Contract Owner' --ttl 1h)
# POSTs a JSON body as the owner and prints one field of the answer.
create() {
  curl -fsS -X POST "$url$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$2" |
    python3 -c "import json, sys; print(json.load(sys.stdin)['$3'])"
}
# Real ids for every path parameter, so that operations on them get past 404. What an
# operation deletes would turn every later case on it into a 404 (or a 410): each deleting
# operation gets a resource of its own (schemathesis.toml).
org=$(create /v1/orgs '{"name": "Contract Org"}' id)
CONTRACT_ORG=$org
CONTRACT_DOOMED_ORG=$(create /v1/orgs '{"name": "Contract Org To Delete"}' id)
CONTRACT_TEAM=$(create "/v1/orgs/$org/teams" '{"name": "Contract Team"}' id)
CONTRACT_DOOMED_TEAM=$(create "/v1/orgs/$org/teams" '{"name": "Contract Team To Delete"}' id)
CONTRACT_ROLE=$(create "/v1/orgs/$org/roles" '{"key": "contract", "name": "Contract", "permissions": ["org:read"]}' id)
CONTRACT_DOOMED_ROLE=$(create "/v1/orgs/$org/roles" '{"key": "doomed", "name": "Doomed", "permissions": ["org:read"]}' id)
CONTRACT_KEY=$(create "/v1/orgs/$org/api-keys" '{"name": "Contract", "permissions": ["org:read"]}' id)
CONTRACT_INVITE=$(create "/v1/orgs/$org/invites" '{"role": "member", "email": "invited@contract.test"}' id)
CONTRACT_DOOMED_INVITE=$(create "/v1/orgs/$org/invites" '{"role": "member"}' id)
CONTRACT_INVITE_TOKEN=$(create "/v1/orgs/$org/invites" '{"role": "member", "max_uses": 5}' token)
CONTRACT_DOMAIN=$(create "/v1/orgs/$org/domains" '{"domain": "contract.example.com"}' id)
CONTRACT_DOOMED_DOMAIN=$(create "/v1/orgs/$org/domains" '{"domain": "doomed.example.com"}' id)
# A verified domain open to its people, and a person of it asking to join.
joined=$(curl -fsS -X POST "$url/v1/orgs/$org/domains" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"domain": "joiners.example.com"}')
python3 -c 'import json, sys; r = json.loads(sys.argv[1])["verification"]; print(json.dumps({r["name"]: [r["value"]]}))' \
  "$joined" >"$work/dns.json"
joined=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$joined")
curl -fsS -o /dev/null -X POST "$url/v1/orgs/$org/domains/$joined/verify" -H "Authorization: Bearer $token"
curl -fsS -o /dev/null -X PATCH "$url/v1/orgs/$org/domains/$joined" -H "Authorization: Bearer $token" -H "If-Match: *" \
  -H 'Content-Type: application/json' -d '{"join_policy": "suggest"}'
joiner=$("$bin" token --sub contract-joiner --email joiner@joiners.example.com --name 'Contract Joiner' --ttl 1h)
CONTRACT_JOIN_REQUEST=$(curl -fsS -X POST "$url/v1/orgs/$org/join-requests" -H "Authorization: Bearer $joiner" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
CONTRACT_MEMBER=$(curl -fsS "$url/v1/orgs/$org/members" -H "Authorization: Bearer $token" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0]["id"])')
# /scim/v2 answers an organization's SCIM token. The contract org's SCIM settings are
# fuzzed too (PUT /v1/orgs/{org}/scim rotates and disables its token), so SCIM is enabled on
# an organization of its own, whose settings no operation names: its token stays valid.
scim_org=$(create /v1/orgs '{"name": "Contract SCIM Org"}' id)
CONTRACT_SCIM_TOKEN=$(curl -fsS -X PUT "$url/v1/orgs/$scim_org/scim" -H "Authorization: Bearer $token" -H "If-Match: *" \
  -H 'Content-Type: application/json' -d '{"enabled": true}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
# POSTs a SCIM resource with the SCIM token and prints its id.
scim_create() {
  curl -fsS -X POST "$url/scim/v2/$1" -H "Authorization: Bearer $CONTRACT_SCIM_TOKEN" \
    -H 'Content-Type: application/scim+json' -d "$2" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
CONTRACT_SCIM_USER=$(scim_create Users '{"userName": "contract.user@contract.test"}')
CONTRACT_SCIM_DOOMED_USER=$(scim_create Users '{"userName": "doomed.user@contract.test"}')
CONTRACT_SCIM_GROUP=$(scim_create Groups '{"displayName": "Contract SCIM Group"}')
CONTRACT_SCIM_DOOMED_GROUP=$(scim_create Groups '{"displayName": "Contract SCIM Group To Delete"}')
# /v1/admin, as platform staff with the staff_admin role: a live organization whose plan it
# changes (the contract org keeps every feature), one it deletes, one deleted to restore.
CONTRACT_STAFF_TOKEN=$("$bin" token --sub contract-staff --email staff@contract.test --name 'Contract Staff' \
  --staff=staff_admin --ttl 1h)
CONTRACT_PLAN_ORG=$(create /v1/orgs '{"name": "Contract Plan Org"}' id)
CONTRACT_ADMIN_DOOMED_ORG=$(create /v1/orgs '{"name": "Contract Org Staff Delete"}' id)
CONTRACT_DELETED_ORG=$(create /v1/orgs '{"name": "Contract Org To Restore"}' id)
curl -fsS -o /dev/null -X DELETE "$url/v1/orgs/$CONTRACT_DELETED_ORG" -H "Authorization: Bearer $token"
export CONTRACT_STAFF_TOKEN CONTRACT_PLAN_ORG CONTRACT_ADMIN_DOOMED_ORG CONTRACT_DELETED_ORG
export CONTRACT_ORG CONTRACT_DOOMED_ORG CONTRACT_TEAM CONTRACT_DOOMED_TEAM CONTRACT_ROLE CONTRACT_DOOMED_ROLE \
  CONTRACT_KEY CONTRACT_INVITE CONTRACT_DOOMED_INVITE CONTRACT_INVITE_TOKEN CONTRACT_MEMBER \
  CONTRACT_DOMAIN CONTRACT_DOOMED_DOMAIN CONTRACT_JOIN_REQUEST \
  CONTRACT_SCIM_TOKEN CONTRACT_SCIM_USER CONTRACT_SCIM_DOOMED_USER CONTRACT_SCIM_GROUP CONTRACT_SCIM_DOOMED_GROUP
export SCHEMATHESIS_HOOKS=$PWD/tests/contract/contract_hooks.py
export PYTHONDONTWRITEBYTECODE=1

# Run from the scratch directory: schemathesis keeps a cache of past failures in its working
# directory and replays them first, which would make runs depend on earlier ones.
command=(st --config-file "$PWD/tests/contract/schemathesis.toml" run "$url/openapi.json"
  --checks all --phases examples,coverage,fuzzing --seed "$seed" --max-examples "$max_examples"
  --generation-database none --workers 2 --no-color
  --header "Authorization: Bearer $token" ${CONTRACT_ST_ARGS:-})
echo "contract: ${command[*]/$token/\$TOKEN}"
start=$SECONDS
status=0
(cd "$work" && timeout "$time_limit" "${command[@]}") || status=$?
echo "contract: schemathesis exited with $status after $((SECONDS - start))s"
if [ "$status" -ne 0 ]; then
  mkdir -p target && cp "$work/server.log" target/contract-server.log
  echo "contract: the server's log is in target/contract-server.log"
fi
exit "$status"
