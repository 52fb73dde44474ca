"""Real data for the rules of orgd that no JSON Schema can state.

They depend on the clock, on what the organization holds, or on another field of the same
request. A generated request that is schema-valid but breaks one of them is rewritten to meet
it, in every phase; everything else about it stays as generated, and a request the schema
already refuses is left alone, so it is still expected to be refused.
"""

import os
import re
from collections.abc import MutableMapping
from datetime import datetime, timedelta, timezone

import schemathesis

# Inside any expiry window: an invite's is at most 30 days, an API key's in the future.
SOON = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
# A role every organization has.
ROLE = "member"
# The owner's membership, which run.sh found, and one no organization has.
MEMBER = os.environ["CONTRACT_MEMBER"]
NOBODY = "mem_00000000000070008000000000000000"
ROLE_KEY = re.compile(r"(?!owner$)[a-z][a-z0-9_-]{0,39}")


def _time(value):
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _integer(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _order(container, low, high, parse):
    """`low` must come before `high` (or equal them, when `parse` gives integers)."""
    if not isinstance(container, MutableMapping):
        return
    first, last = parse(container.get(low)), parse(container.get(high))
    if first is None or last is None:
        return
    if first > last:
        container[low], container[high] = container[high], container[low]
    elif first == last and parse is _time:
        del container[high]


def meet_rules(case):
    label = f"{case.operation.method.upper()} {case.operation.path}"
    body = case.body if isinstance(case.body, MutableMapping) else None
    if label in ("POST /v1/orgs/{org}/invites", "POST /v1/orgs/{org}/api-keys") and body is not None:
        if _time(body.get("expires_at")) is not None:
            body["expires_at"] = SOON
    # A role named must be one the organization has.
    if label in ("POST /v1/orgs/{org}/invites", "PATCH /v1/orgs/{org}/members/{member}") and body is not None:
        if isinstance(body.get("role"), str) and ROLE_KEY.fullmatch(body["role"]):
            body["role"] = ROLE
    if label == "DELETE /v1/orgs/{org}/roles/{role}" and isinstance(case.query, MutableMapping):
        if isinstance(case.query.get("reassign_to"), str) and ROLE_KEY.fullmatch(case.query["reassign_to"]):
            case.query["reassign_to"] = ROLE
    # A member named must be one of the organization; ownership goes to another one, and
    # the owner is the organization's only member.
    if label == "POST /v1/orgs/{org}/teams/{team}/members" and body is not None:
        if isinstance(body.get("member_id"), str):
            body["member_id"] = MEMBER
    if label == "POST /v1/orgs/{org}/transfer-ownership" and body is not None:
        if body.get("member_id") == MEMBER:
            body["member_id"] = NOBODY
    if label in ("GET /v1/orgs/{org}/audit-log", "GET /v1/orgs/{org}/audit-log/export"):
        _order(case.query, "since", "until", _time)
    if label == "GET /v1/orgs/{org}/audit-log/verify":
        _order(case.query, "from_seq", "to_seq", _integer)
    if isinstance(case.headers, MutableMapping) and "If-Match" in case.headers:
        # Only the resource's current version (or `*`) matches.
        case.headers["If-Match"] = "*"
    return case


@schemathesis.hook
def map_case(context, case):
    return meet_rules(case)


@schemathesis.hook
def before_add_examples(context, examples):
    for case in examples:
        meet_rules(case)
