"""One organization's story told through the Python client generated from docs/openapi.json.

Run by tests/sdk/run.sh, with the generated package `orgd_client` importable, against a
server at ORGD_URL: ORGD_OWNER_TOKEN creates the organization, ORGD_INVITEE_TOKEN accepts its
invite. Every step checks the status and a field of the answer; the first wrong one stops the
run with a non-zero exit, naming the step.
"""

from __future__ import annotations

import os
import sys
import time
from http import HTTPStatus
from typing import NoReturn, Protocol, TypeVar

from orgd_client import AuthenticatedClient
from orgd_client.api.audit_log import list_audit_log, verify_audit_log
from orgd_client.api.governance import get_spend, record_usage
from orgd_client.api.invites import accept_invite, create_invite
from orgd_client.api.members import change_member_role
from orgd_client.api.organizations import create_org
from orgd_client.api.security import put_security_policy
from orgd_client.api.teams import add_team_member, create_team, set_team_manager
from orgd_client.models import (
    AcceptedInviteResponse,
    AddTeamMemberRequest,
    AuditEventPage,
    ChangeRoleRequest,
    CreatedInvite,
    CreateInviteRequest,
    CreateOrgRequest,
    CreateTeamRequest,
    MemberResponse,
    OrgResponse,
    Problem,
    SecurityPolicyRequest,
    SecurityPolicyWrite,
    SetManagerRequest,
    SpendResponse,
    TeamMemberResponse,
    TeamResponse,
    UsageEventResponse,
    UsageRequest,
    VerifyResponse,
)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Answer(Protocol[T_co]):
    """What every generated `sync_detailed` returns: the status and the parsed body."""

    @property
    def status_code(self) -> HTTPStatus: ...

    @property
    def parsed(self) -> T_co | None: ...


class StepFailed(Exception):
    pass


def fail(step: str, why: str) -> NoReturn:
    raise StepFailed(f"{step}: {why}")


def expect(step: str, answer: Answer[object], status: HTTPStatus, model: type[T]) -> T:
    """The parsed body of `answer`, when it has `status` and is a `model`."""
    body = answer.parsed
    if isinstance(body, Problem):
        fail(step, f"HTTP {answer.status_code} {body.code}: {body.detail}")
    if answer.status_code != status:
        fail(step, f"HTTP {answer.status_code}, expected {status}")
    if not isinstance(body, model):
        fail(step, f"the body is {type(body).__name__}, expected {model.__name__}")
    return body


def check(step: str, condition: bool, why: str) -> None:
    if not condition:
        fail(step, why)


def scenario(owner: AuthenticatedClient, invitee: AuthenticatedClient) -> int:
    """Runs every step and returns how many there were."""
    name = "SDK Python Org"
    answer = create_org.sync_detailed(client=owner, body=CreateOrgRequest(name=name))
    org = expect("create the organization", answer, HTTPStatus.CREATED, OrgResponse)
    check("create the organization", org.name == name and org.id.startswith("org_"), f"got {org.name!r} {org.id!r}")

    answer_invite = create_invite.sync_detailed(org.id, client=owner, body=CreateInviteRequest(role="member", max_uses=1))
    invite = expect("create a link invite", answer_invite, HTTPStatus.CREATED, CreatedInvite)
    check("create a link invite", invite.token.startswith("orgi_") and invite.status == "pending", invite.status)

    answer_accept = accept_invite.sync_detailed(invite.token, client=invitee)
    accepted = expect("accept the invite", answer_accept, HTTPStatus.OK, AcceptedInviteResponse)
    check("accept the invite", accepted.organization.id == org.id and accepted.role == "member", accepted.role)
    member = accepted.member_id

    answer_team = create_team.sync_detailed(org.id, client=owner, body=CreateTeamRequest(name="Platform"))
    team = expect("create a team", answer_team, HTTPStatus.CREATED, TeamResponse)
    check("create a team", team.name == "Platform" and team.member_count == 0, f"{team.member_count} members")

    body_add = AddTeamMemberRequest(member_id=member)
    answer_add = add_team_member.sync_detailed(org.id, team.id, client=owner, body=body_add)
    added = expect("add the invitee to the team", answer_add, HTTPStatus.CREATED, TeamMemberResponse)
    check("add the invitee to the team", added.id == member and not added.is_manager, f"{added.id} {added.is_manager}")

    body_manager = SetManagerRequest(is_manager=True)
    answer_manager = set_team_manager.sync_detailed(org.id, team.id, member, client=owner, body=body_manager)
    manager = expect("make the invitee the team's manager", answer_manager, HTTPStatus.OK, TeamMemberResponse)
    check("make the invitee the team's manager", manager.is_manager, "is_manager is false")

    body_role = ChangeRoleRequest(role="admin")
    answer_role = change_member_role.sync_detailed(org.id, member, client=owner, body=body_role)
    promoted = expect("make the invitee an admin", answer_role, HTTPStatus.OK, MemberResponse)
    check("make the invitee an admin", promoted.role == "admin", promoted.role)

    networks = ["127.0.0.0/8", "::1/128"]
    body_policy = SecurityPolicyRequest(ip_allowlist=networks, max_session_age_secs=86_400)
    answer_policy = put_security_policy.sync_detailed(org.id, client=owner, body=body_policy, if_match="*")
    written = expect("set the security policy", answer_policy, HTTPStatus.OK, SecurityPolicyWrite)
    policy = written.policy
    check("set the security policy", written.applied and policy.ip_allowlist == networks, f"{policy.ip_allowlist}")

    body_usage = UsageRequest(idempotency_key="sdk-python-1", amount_micros=1_250_000, model="gpt-4o")
    answer_usage = record_usage.sync_detailed(org.id, client=owner, body=body_usage)
    usage = expect("record usage", answer_usage, HTTPStatus.CREATED, UsageEventResponse)
    check("record usage", usage.amount_micros == 1_250_000 and usage.id.startswith("use_"), usage.id)

    spend = expect("read the spend posture", get_spend.sync_detailed(org.id, client=owner), HTTPStatus.OK, SpendResponse)
    check("read the spend posture", spend.spend_micros == 1_250_000 and spend.posture == "ok", spend.posture)

    log = expect("read the audit log", list_audit_log.sync_detailed(org.id, client=owner), HTTPStatus.OK, AuditEventPage)
    changed = [e for e in log.data if e.action == "member.role_changed" and e.target.id == member]
    check("read the audit log", len(changed) == 1, f"{len(changed)} member.role_changed records")
    # A changed field's values are of the field's own JSON type, which no schema can name: the
    # scenario reads no value the document leaves untyped (mypy is told to refuse `Any` here).
    record = changed[0]
    check("read the audit log", "role" in record.changes.additional_properties, f"changed: {sorted(record.changes.additional_properties)}")
    check("read the audit log", record.actor.type_ == "user", record.actor.type_)

    answer_verify = verify_audit_log.sync_detailed(org.id, client=owner)
    verified = expect("verify the audit log", answer_verify, HTTPStatus.OK, VerifyResponse)
    newest = log.data[0].seq
    check("verify the audit log", verified.ok and verified.complete, f"ok={verified.ok} complete={verified.complete}")
    check("verify the audit log", verified.head_seq == newest, f"head {verified.head_seq}, newest record {newest}")
    return 12


def main() -> int:
    url = os.environ["ORGD_URL"]
    owner = AuthenticatedClient(base_url=url, token=os.environ["ORGD_OWNER_TOKEN"])
    invitee = AuthenticatedClient(base_url=url, token=os.environ["ORGD_INVITEE_TOKEN"])
    started = time.monotonic()
    try:
        steps = scenario(owner, invitee)
    except StepFailed as failure:
        print(f"sdk-check: python client FAILED at {failure}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    print(f"sdk-check: python client (openapi-python-client): {steps} steps passed in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
