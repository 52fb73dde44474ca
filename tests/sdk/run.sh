#!/usr/bin/env bash
# The OpenAPI document proves itself through generated clients: a Python client
# (openapi-python-client) and a TypeScript one (openapi-typescript + openapi-fetch) are
# generated from the committed docs/openapi.json into a scratch directory, their scenarios are
# type-checked (mypy --strict, tsc --noEmit under "strict"), then each drives the same story
# against the real server: an organization, a link invite accepted by a second person, a team
# with a manager, a role change, a security policy, usage and the spend posture, the audit log
# and its verification.
#
# The server is the debug binary on a fresh database and a free port; it is stopped and the
# database dropped however the run ends. `make sdk-check` installs the tools first and sets
# SDK_PYTHON to the Python that has them.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

python=${SDK_PYTHON:-python3}
node_dir=tests/sdk/typescript
for tool in curl psql node; do
  command -v "$tool" >/dev/null || { echo "sdk-check: needs $tool" >&2; exit 1; }
done
[[ -d $node_dir/node_modules ]] || { echo "sdk-check: run \`npm ci\` in $node_dir (make sdk-check does)" >&2; exit 1; }

started=$SECONDS
source tests/support/scratch_server.sh
scratch_init sdk
cleanup() {
  local status=$?
  if [[ $status -ne 0 && -s $work/server.log ]]; then
    echo "sdk-check: the server's log ends with:" >&2
    tail -n 40 "$work/server.log" >&2
  fi
  scratch_cleanup
  exit "$status"
}
trap cleanup EXIT

# The server starts (creating and migrating its database) while the clients are generated.
# ORGD_BIN names the binary to serve (CI passes the release build, the container image's
# command); by default the debug build.
if [[ -n ${ORGD_BIN:-} ]]; then
  bin=$ORGD_BIN
else
  cargo build -q -p orgd --bin orgd
  bin=${CARGO_TARGET_DIR:-target}/debug/orgd
fi
scratch_start "$bin"

# Python: a generator warning is an operation or a schema the client lacks, so any line but
# the generator's greeting fails the check.
"$python" -m openapi_python_client generate --path docs/openapi.json --meta none \
  --config tests/sdk/python/generator.yaml --output-path "$work/python/orgd_client" >"$work/python.log" 2>&1 ||
  { cat "$work/python.log" >&2; echo "sdk-check: openapi-python-client failed" >&2; exit 1; }
if grep -vqE '^Generating .*orgd_client$|^$' "$work/python.log"; then
  cat "$work/python.log" >&2
  echo "sdk-check: openapi-python-client warned (above): the Python client would lack what it names" >&2
  exit 1
fi
cp tests/sdk/python/scenario.py "$work/python/"
(cd "$work/python" && "$python" -m mypy --strict --config-file "$root/tests/sdk/python/mypy.ini" --no-error-summary \
  --cache-dir "$work/mypy-cache" scenario.py) ||
  { echo "sdk-check: the Python scenario does not type-check against the generated client" >&2; exit 1; }

# TypeScript: types generated into the scratch directory, next to a copy of the scenario
# that imports them, with the pinned packages of tests/sdk/typescript linked in.
mkdir -p "$work/typescript"
cp "$node_dir/scenario.ts" "$node_dir/tsconfig.json" "$node_dir/package.json" "$work/typescript/"
ln -s "$PWD/$node_dir/node_modules" "$work/typescript/node_modules"
"$node_dir/node_modules/.bin/openapi-typescript" docs/openapi.json -o "$work/typescript/schema.d.ts" >"$work/typescript.log" 2>&1 ||
  { cat "$work/typescript.log" >&2; echo "sdk-check: openapi-typescript failed" >&2; exit 1; }
if grep -vqE '^✨ openapi-typescript |^🚀 .*schema\.d\.ts|^$' "$work/typescript.log"; then
  cat "$work/typescript.log" >&2
  echo "sdk-check: openapi-typescript warned (above)" >&2
  exit 1
fi
(cd "$work/typescript" && node_modules/.bin/tsc --noEmit -p .) ||
  { echo "sdk-check: the TypeScript scenario does not type-check against the generated types" >&2; exit 1; }
# What runs is the same file with its types erased.
(cd "$work/typescript" && node --input-type=module -e '
  import ts from "typescript";
  import fs from "node:fs";
  const options = { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 };
  fs.writeFileSync("scenario.mjs", ts.transpileModule(fs.readFileSync("scenario.ts", "utf8"), { compilerOptions: options }).outputText);')

scratch_wait_ready 60

# Each client's story has an owner and an invitee of its own.
token() { "$bin" token --sub "$1" --email "$1@sdk.example.com" --name "$2" --ttl 10m; }
export ORGD_URL=$url
ORGD_OWNER_TOKEN=$(token sdk-python-owner 'Python Owner') ORGD_INVITEE_TOKEN=$(token sdk-python-invitee 'Python Invitee') \
  PYTHONPATH="$work/python" PYTHONDONTWRITEBYTECODE=1 "$python" "$work/python/scenario.py"
ORGD_OWNER_TOKEN=$(token sdk-typescript-owner 'TypeScript Owner') ORGD_INVITEE_TOKEN=$(token sdk-typescript-invitee 'TypeScript Invitee') \
  node "$work/typescript/scenario.mjs"
echo "sdk-check: OK in $((SECONDS - started)) s"
