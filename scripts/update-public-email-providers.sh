#!/usr/bin/env bash
# Regenerates crates/domain/data/public_email_providers.txt, the list of public email
# providers whose domains an organization may never claim (see
# crates/domain/src/verified_domain/name.rs).
#
# Source: the npm package `free-email-domains` (MIT), fetched with `npm pack` — its
# install script is never run — plus a few well-known providers kept here by hand in case
# the package lacks them.
#
# Usage: scripts/update-public-email-providers.sh [version]   (default: latest)
# Needs npm, tar and jq (or python3). Review the diff before committing.
set -euo pipefail

PACKAGE="free-email-domains"
SPEC="${PACKAGE}@${1:-latest}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${ROOT}/crates/domain/data/public_email_providers.txt"

# Always on the list, whatever the package holds.
HAND_PICKED=(
  gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com icloud.com
  me.com mac.com aol.com proton.me protonmail.com gmx.com gmx.de web.de yandex.ru mail.ru
  qq.com 163.com 126.com zoho.com fastmail.com hey.com tutanota.com
)

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

(cd "${WORK}" && npm pack --silent "${SPEC}" >/dev/null)
tar -xzf "${WORK}"/"${PACKAGE}"-*.tgz -C "${WORK}"
PKG="${WORK}/package"

json_field() { # file, jq filter, python expression over `d`
  if command -v jq >/dev/null 2>&1; then
    jq -r "$2" "$1"
  else
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($3)" "$1"
  fi
}

VERSION="$(json_field "${PKG}/package.json" '.version' 'd["version"]')"
LICENSE="$(json_field "${PKG}/package.json" '.license' 'd["license"]')"
REPO="$(json_field "${PKG}/package.json" '.repository.url // .repository' \
  'd["repository"]["url"] if isinstance(d["repository"], dict) else d["repository"]')"
REPO="${REPO#git+}"
REPO="${REPO%.git}"

if [[ "${LICENSE}" != "MIT" ]]; then
  echo "error: ${PACKAGE}@${VERSION} is now licensed '${LICENSE}', not MIT; check it allows redistribution" >&2
  exit 1
fi

json_field "${PKG}/domains.json" '.[]' '"\n".join(d)' \
  | tr '[:upper:]' '[:lower:]' | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e 's/\.$//' \
  | grep -v '^$' | LC_ALL=C sort -u >"${WORK}/package.txt"

ADDED=()
for domain in "${HAND_PICKED[@]}"; do
  grep -qxF "${domain}" "${WORK}/package.txt" || ADDED+=("${domain}")
done

{
  echo "# Public email providers: domains whose addresses belong to the provider's users, not"
  echo "# to an organization, so no organization may claim them (DomainName::parse_claimable)."
  echo "#"
  echo "# Source: npm package ${PACKAGE} ${VERSION} (${REPO}), licence ${LICENSE}."
  echo "#   It merges HubSpot's list of free email domains with two disposable-address lists"
  echo "#   (castle/disposable-email-domains, disposable-email-domains/disposable-email-domains)."
  echo "# Fetched: $(date -u +%F)."
  if ((${#ADDED[@]})); then
    echo "# Added by hand (missing from the package): ${ADDED[*]}."
  else
    echo "# Added by hand (missing from the package): none."
  fi
  echo "# Refresh: scripts/update-public-email-providers.sh [version]"
  echo "#   (npm pack ${PACKAGE}, domains.json extracted with jq or python3, hand-picked"
  echo "#   providers kept). One lower-case ASCII domain per line, sorted, deduplicated."
  { cat "${WORK}/package.txt"; printf '%s\n' "${HAND_PICKED[@]}"; } | LC_ALL=C sort -u
} >"${OUT}"

echo "wrote $(grep -vc '^#' "${OUT}") domains from ${PACKAGE}@${VERSION} to ${OUT#"${ROOT}"/}"
