"""Real data for the rules of orgd that no JSON Schema can state.

They depend on the clock, on what the organization holds, on another field of the same
request, or on what no pattern can judge (a certificate that parses, the host bits of a
network, a length in UTF-8 bytes). A generated request that is schema-valid but breaks one of them is rewritten to meet
it, in every phase; everything else about it stays as generated, and a request the schema
already refuses is left alone, so it is still expected to be refused.
"""

import fnmatch
import ipaddress
import json
import os
import re
import uuid
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
# What `str::trim` removes (Unicode White_Space), and control characters (Unicode Cc), as the
# schema's patterns spell them (`openapi::shape`).
SPACES = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
CONTROLS = "\x00-\x1f\x7f-\x9f"
TRIMMED = re.compile(rf"([{SPACES}]*)(.*?)([{SPACES}]*)", re.DOTALL)
# A date-time in the shape of RFC 3339, whatever its value.
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)")
# A network with a prefix length, as the schema allows them; its host bits are for the hook.
CIDR = re.compile(r"[0-9A-Fa-f:.]+/(?:0|[1-9][0-9]{0,2})")
# An X.509 signing certificate run.sh made, valid for 30 days, and the PEM shape the schema
# allows, which generated certificates have without being readable ones.
SAML_CERT = os.environ["CONTRACT_SAML_CERT"]
PEM = re.compile(
    rf"[{SPACES}]*-----BEGIN CERTIFICATE-----\r?\n(?:[A-Za-z0-9+/=]{{1,76}}\r?\n){{1,200}}"
    rf"-----END CERTIFICATE-----[{SPACES}]*"
)
# An OIDC client id and secret as the schema allows them; the service bounds them in UTF-8
# bytes, which no schema can state.
CLIENT_ID = re.compile(rf"[{SPACES}]*[^{SPACES}{CONTROLS}]{{1,255}}[{SPACES}]*")
CLIENT_ID_MAX_BYTES = 255
CLIENT_SECRET = re.compile(rf"[^{CONTROLS}]{{1,1024}}")
CLIENT_SECRET_MAX_BYTES = 1024
# A team of the contract organization, which a SCIM group-to-role mapping names; each team
# is mapped once at most.
TEAM = os.environ["CONTRACT_TEAM"]
GROUP_ROLES_MAX = 50
# SCIM: a User of the organization run.sh provisions through /scim/v2, and what its grammar
# takes that no schema can state: filters, attribute paths, PATCH paths and the values they
# call for. Only the longest filter the schema allows (in characters) is a schema rule.
SCIM_USER = os.environ["CONTRACT_SCIM_USER"]
SCIM_FILTER_MAX_CHARS = 4096
SCIM_NAME = r"(?:[A-Za-z][A-Za-z0-9_-]*|\$[Rr][Ee][Ff])"
# An attribute path every part of the service reads (no schema URN, no value filter).
SCIM_ATTR_PATH = re.compile(rf"[ \t]*{SCIM_NAME}(?:\.{SCIM_NAME})?[ \t]*")
SCIM_PATCH_OP = re.compile(r"(?:[Aa][Dd][Dd]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee]|[Rr][Ee][Mm][Oo][Vv][Ee])")
# The Idempotency-Key the schema allows: visible ASCII but `"` and `\`, optionally quoted.
IDEMPOTENCY_KEY = re.compile(r'[!#-\[\]-~]{1,255}|"[!#-\[\]-~]{1,255}"')
SCIM_STRING = re.compile(r"[^\x00-\x08\x0b-\x1f\x7f-\x9f]{0,2048}")


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


def _network(item):
    """A network with host bits set, as its network: `10.1.2.0/8` as `10.0.0.0/8`."""
    if not isinstance(item, str):
        return item
    before, core, after = TRIMMED.fullmatch(item).groups()
    if not CIDR.fullmatch(core):
        return item
    try:
        ipaddress.ip_network(core)
        return item
    except ValueError as error:
        if "host bits set" not in str(error):
            return item
    return before + str(ipaddress.ip_network(core, strict=False)) + after


def _utf8_prefix(text, max_bytes):
    """The longest prefix of `text` whose UTF-8 encoding has at most `max_bytes` bytes."""
    while len(text.encode()) > max_bytes:
        text = text[:-1]
    return text


def _meet_sso_rules(connection):
    # Only a certificate that parses and is valid now is taken.
    if isinstance(connection.get("certificate"), str) and PEM.fullmatch(connection["certificate"]):
        connection["certificate"] = SAML_CERT
    client_id = connection.get("client_id")
    if isinstance(client_id, str) and CLIENT_ID.fullmatch(client_id):
        before, core, after = TRIMMED.fullmatch(client_id).groups()
        connection["client_id"] = before + _utf8_prefix(core, CLIENT_ID_MAX_BYTES) + after
    secret = connection.get("client_secret")
    if isinstance(secret, str) and CLIENT_SECRET.fullmatch(secret):
        connection["client_secret"] = _utf8_prefix(secret, CLIENT_SECRET_MAX_BYTES)
    # Leaving the secret out keeps the stored one, which only the same issuer and client id
    # may: whether one is stored depends on earlier cases, so the secret is always named.
    if connection.get("type") == "oidc" and "client_secret" not in connection:
        connection["client_secret"] = None


def _scim_filter(attribute, value):
    """A filter that parses, comparing `attribute` with what was generated."""
    if not isinstance(value, str) or len(value) > SCIM_FILTER_MAX_CHARS:
        return value
    # A JSON string literal, as the filter grammar takes them; never longer than the service
    # takes a filter (4096 bytes).
    literal = "".join(c for c in value[:256] if not 0xD800 <= ord(c) <= 0xDFFF)
    return f"{attribute} eq {json.dumps(literal, ensure_ascii=False)}"


def _scim_attribute_paths(paths):
    """Attribute paths that parse, for those that may not."""
    if isinstance(paths, str):
        return ",".join(_scim_attribute_paths(paths.split(",")))
    if not isinstance(paths, list):
        return paths
    return [
        path if not isinstance(path, str) or path.strip(" \t") == "" or SCIM_ATTR_PATH.fullmatch(path)
        else "displayName"
        for path in paths
    ]


def _scim_members(members):
    """Members that are Users of the organization, in place of the ids the schema allows."""
    items = members if isinstance(members, list) else [members]
    for item in items:
        if not isinstance(item, MutableMapping):
            continue
        value = item.get("value")
        if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
            item["value"] = SCIM_USER
        elif isinstance(value, str) and SCIM_STRING.fullmatch(value):
            item["value"] = SCIM_USER


def _scim_patch(body, group):
    """PATCH operations whose `path` parses and whose `value` fits it."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return
    for operation in operations:
        if not isinstance(operation, MutableMapping):
            continue
        op = operation.get("op")
        if not isinstance(op, str) or not SCIM_PATCH_OP.fullmatch(op):
            continue
        remove = op.lower() == "remove"
        value = operation.pop("value", None)
        if group and remove:
            operation["path"] = f'members[value eq "{SCIM_USER}"]'
        elif group:
            operation["path"] = "members"
            operation["value"] = [{"value": SCIM_USER}]
        else:
            operation["path"] = "title"
            if not remove:
                operation["value"] = value if isinstance(value, str) and SCIM_STRING.fullmatch(value) else "Contract"


def _group_roles(mappings):
    """Schema-valid group-to-role mappings as one that names a team and a role the
    organization has (each team is mapped once, and run.sh keeps one team for them)."""
    if not isinstance(mappings, list) or not mappings or len(mappings) > GROUP_ROLES_MAX:
        return mappings
    for mapping in mappings:
        if not (
            isinstance(mapping, MutableMapping)
            and set(mapping) == {"team_id", "role"}
            and isinstance(mapping["team_id"], str)
            and isinstance(mapping["role"], str)
            and ROLE_KEY.fullmatch(mapping["role"])
        ):
            return mappings
    first = mappings[0]
    first["team_id"], first["role"] = TEAM, ROLE
    return [first]


def _meet_scim_rules(case, body):
    path = case.operation.path
    group = path.startswith("/scim/v2/Groups")
    query = case.query if isinstance(case.query, MutableMapping) else None
    if query is not None:
        if "filter" in query:
            query["filter"] = _scim_filter("displayName" if group else "userName", query["filter"])
        for name in ("attributes", "excludedAttributes"):
            if name in query:
                query[name] = _scim_attribute_paths(query[name])
    if body is None:
        return
    if path.endswith("/.search"):
        if "filter" in body:
            body["filter"] = _scim_filter("displayName" if group else "userName", body["filter"])
        for name in ("attributes", "excludedAttributes"):
            if name in body:
                body[name] = _scim_attribute_paths(body[name])
    elif case.operation.method.upper() == "PATCH":
        _scim_patch(body, group)
    elif group and "members" in body:
        _scim_members(body["members"])


# LLM provider and model names and patterns, as the schema allows them.
LLM_NAME = re.compile(r"[A-Za-z0-9._:/@+*?-]{1,128}")
# The text of a usage event: no control character.
USAGE_TEXT = re.compile(rf"[^{CONTROLS}]{{1,255}}")


def _meet_llm_rules(body):
    """The default model is one the policy's `models` admit (patterns glob, without case)."""
    default, models = body.get("default_model"), body.get("models")
    if not (isinstance(default, str) and LLM_NAME.fullmatch(default) and isinstance(models, list) and models):
        return
    patterns = [m.get("model") for m in models if isinstance(m, MutableMapping)]
    if not all(isinstance(p, str) and LLM_NAME.fullmatch(p) for p in patterns):
        return
    if not any(fnmatch.fnmatchcase(default.lower(), p.lower()) for p in patterns):
        body["default_model"] = None


def _meet_usage_rules(body):
    """An event happened within the last 35 days; each generated event has a key of its own,
    so that no two differing events share one (which is refused)."""
    if isinstance(body.get("occurred_at"), str) and DATE_TIME.fullmatch(body["occurred_at"]):
        body["occurred_at"] = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(body.get("idempotency_key"), str) and USAGE_TEXT.fullmatch(body["idempotency_key"]):
        body["idempotency_key"] = uuid.uuid4().hex


def meet_rules(case):
    label = f"{case.operation.method.upper()} {case.operation.path}"
    body = case.body if isinstance(case.body, MutableMapping) else None
    if case.operation.path.startswith("/scim/v2/"):
        _meet_scim_rules(case, body)
    if label in ("POST /v1/orgs/{org}/invites", "POST /v1/orgs/{org}/api-keys") and body is not None:
        if _time(body.get("expires_at")) is not None:
            body["expires_at"] = SOON
    # A role named must be one the organization has.
    if label in ("POST /v1/orgs/{org}/invites", "PATCH /v1/orgs/{org}/members/{member}") and body is not None:
        if isinstance(body.get("role"), str) and ROLE_KEY.fullmatch(body["role"]):
            body["role"] = ROLE
    # A grace period ends after now and at most 90 days ahead.
    if label == "PUT /v1/orgs/{org}/mfa/policy" and body is not None:
        if isinstance(body.get("grace_until"), str) and DATE_TIME.fullmatch(body["grace_until"]):
            body["grace_until"] = SOON
    # No host bit of an allowed network is set.
    if label == "PUT /v1/orgs/{org}/security-policy" and body is not None:
        if isinstance(body.get("ip_allowlist"), list):
            body["ip_allowlist"] = [_network(item) for item in body["ip_allowlist"]]
    if label == "PUT /v1/orgs/{org}/scim" and body is not None and "group_roles" in body:
        body["group_roles"] = _group_roles(body["group_roles"])
    if label == "PUT /v1/orgs/{org}/sso" and body is not None and isinstance(body.get("connection"), MutableMapping):
        _meet_sso_rules(body["connection"])
    # A role is set only with `auto`, and `auto` needs one the organization has.
    if label == "PATCH /v1/orgs/{org}/domains/{domain}" and body is not None:
        if body.get("join_policy") == "auto":
            if body.get("role") is None or (isinstance(body.get("role"), str) and ROLE_KEY.fullmatch(body["role"])):
                body["role"] = ROLE
        elif body.get("join_policy") in ("off", "suggest") and isinstance(body.get("role"), str):
            if ROLE_KEY.fullmatch(body["role"]):
                del body["role"]
    if label == "PUT /v1/orgs/{org}/llm-policy" and body is not None:
        _meet_llm_rules(body)
    if label == "POST /v1/orgs/{org}/usage" and body is not None:
        _meet_usage_rules(body)
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
    if label in (
        "GET /v1/orgs/{org}/audit-log",
        "GET /v1/orgs/{org}/audit-log/export",
        "GET /v1/admin/audit-log",
    ):
        _order(case.query, "since", "until", _time)
    if label == "GET /v1/orgs/{org}/audit-log/verify":
        _order(case.query, "from_seq", "to_seq", _integer)
    # A webhook's URL must resolve and be reachable by the rules of the run's server (which
    # allows loopback); nothing listens there, so deliveries only retry.
    if label in ("POST /v1/orgs/{org}/webhooks", "PATCH /v1/orgs/{org}/webhooks/{webhook}") and body is not None:
        if isinstance(body.get("url"), str) and 1 <= len(body["url"]) <= 2048:
            body["url"] = "http://127.0.0.1:9/contract"
    # Each generated request is a request of its own: one key sent with two different
    # requests is refused (422), which tests/api/idempotency.rs covers.
    if isinstance(case.headers, MutableMapping) and isinstance(case.headers.get("Idempotency-Key"), str):
        if IDEMPOTENCY_KEY.fullmatch(case.headers["Idempotency-Key"]):
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
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
