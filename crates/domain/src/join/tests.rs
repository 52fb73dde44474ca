//! Joining by domain, against in-memory fakes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::*;
use crate::audit::{Actor, AuditAction};
use crate::error::AccessError;
use crate::ids::{MemberId, OrgId, UserId};
use crate::member::MemberService;
use crate::notification::NotificationKind;
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::pagination::PageRequest;
use crate::role::{CreateRole, RoleService, UpdateRole};
use crate::testing::{caller, identity, join, person, InMemoryStore};
use crate::time::SystemClock;
use crate::verified_domain::{DnsError, DomainService, JoinPolicyInput, TxtResolver};
use crate::{Caller, RequestMeta};

/// TXT records by name; a name never set has none.
#[derive(Default)]
struct FakeDns(Mutex<HashMap<String, Result<Vec<String>, DnsError>>>);

impl TxtResolver for FakeDns {
    fn txt_records(&self, name: &str) -> Result<Vec<String>, DnsError> {
        self.0.lock().unwrap().get(name).cloned().unwrap_or(Ok(Vec::new()))
    }
}

struct World {
    store: InMemoryStore,
    domains: DomainService<InMemoryStore>,
    joins: JoinService<InMemoryStore>,
    members: MemberService<InMemoryStore>,
    orgs: OrgService<InMemoryStore>,
    org: OrgRef,
    org_id: OrgId,
    admin: MemberId,
}

fn owner() -> Caller {
    person("owner", "owner@acme.com", true)
}

fn admin() -> Caller {
    caller("admin")
}

/// Dana, at acme.com, whose address her identity provider verified.
fn dana() -> Caller {
    person("dana", "dana@acme.com", true)
}

/// Acme (enterprise plan) with its owner, an admin and a plain member, and acme.com
/// verified with join policy `off`.
fn world() -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    let dns = Arc::new(FakeDns::default());
    let orgs = OrgService::new(store.clone(), clock.clone()).with_default_plan(crate::policy::Plan::Enterprise);
    let org_id = orgs.create(&owner(), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    let admin = join(&store, org_id, "admin", "admin");
    join(&store, org_id, "plain", "member");
    let org = OrgRef::Id(org_id);
    let domains = DomainService::new(store.clone(), clock.clone(), dns.clone());
    let claim = domains.claim(&owner(), &org, "acme.com").unwrap();
    dns.0.lock().unwrap().insert(claim.record_name(), Ok(vec![claim.record_value()]));
    domains.verify(&owner(), &org, "acme.com", false).unwrap();
    World {
        joins: JoinService::new(store.clone(), clock.clone()),
        members: MemberService::new(store.clone(), clock),
        domains,
        store,
        orgs,
        org,
        org_id,
        admin,
    }
}

impl World {
    fn open(&self, by: &Caller, policy: &str, role: Option<&str>) {
        let input = JoinPolicyInput { join_policy: policy.into(), role: role.map(str::to_owned), if_match: None };
        self.domains.set_join_policy(by, &self.org, "acme.com", input).unwrap();
    }

    fn pending(&self, who: &Caller) -> JoinRequest {
        match self.joins.request(who, &self.org).unwrap() {
            JoinOutcome::Pending(request) => request,
            joined => panic!("not pending: {joined:?}"),
        }
    }

    fn membership_of(&self, subject: &str) -> Option<crate::member::Membership> {
        let user = user_id(&self.store, subject);
        self.store.state().memberships.values().find(|m| m.org_id == self.org_id && m.user_id == user).cloned()
    }

    fn actions(&self) -> Vec<AuditAction> {
        self.store.audit().iter().map(|r| r.action).collect()
    }

    fn notifications_of(&self, subject: &str) -> Vec<crate::notification::Notification> {
        let user = user_id(&self.store, subject);
        self.store.state().notifications.values().filter(|n| n.user_id == user).cloned().collect()
    }
}

fn user_id(store: &InMemoryStore, subject: &str) -> UserId {
    store.state().users.values().find(|u| u.subject.as_deref() == Some(subject)).unwrap().id
}

fn not_found() -> JoinError {
    JoinError::Access(AccessError::NotFound("organization"))
}

// --- suggested organizations ---

#[test]
fn a_person_of_an_open_domain_is_offered_the_organization() {
    let w = world();
    assert_eq!(w.joins.suggested(&dana()).unwrap(), vec![], "join policy `off` offers nothing");
    w.open(&owner(), "suggest", None);
    let offered = w.joins.suggested(&dana()).unwrap();
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0].org.id, w.org_id);
    assert_eq!(offered[0].domain.as_str(), "acme.com");
    assert_eq!(offered[0].join, JoinPolicy::Suggest);
    assert_eq!(offered[0].pending_request, None);

    // Their open request is shown with it.
    let request = w.pending(&dana());
    assert_eq!(w.joins.suggested(&dana()).unwrap()[0].pending_request, Some(request.id));

    // Back to `off`: nothing.
    w.open(&owner(), "off", None);
    assert_eq!(w.joins.suggested(&dana()).unwrap(), vec![]);
}

#[test]
fn nothing_is_offered_without_a_verified_address_at_the_domain() {
    let w = world();
    w.open(&owner(), "suggest", None);
    assert_eq!(w.joins.suggested(&person("erin", "erin@acme.com", false)).unwrap(), vec![], "unverified");
    assert_eq!(w.joins.suggested(&person("finn", "finn@globex.com", true)).unwrap(), vec![], "another domain");
    assert_eq!(w.joins.suggested(&person("gail", "gail@eng.acme.com", true)).unwrap(), vec![], "a subdomain");
    let mut no_email = identity("hal", "hal@acme.com");
    no_email.email = None;
    assert_eq!(w.joins.suggested(&Caller::user(no_email, RequestMeta::default())).unwrap(), vec![]);
}

#[test]
fn members_are_not_offered_their_own_organization() {
    let w = world();
    w.open(&owner(), "suggest", None);
    assert_eq!(w.joins.suggested(&person("plain", "plain@acme.com", true)).unwrap(), vec![]);
    assert_eq!(w.joins.suggested(&owner()).unwrap(), vec![]);
}

#[test]
fn a_person_whose_address_moved_to_another_domain_is_offered_nothing() {
    let w = world();
    w.open(&owner(), "suggest", None);
    assert_eq!(w.joins.suggested(&dana()).unwrap().len(), 1);
    // The identity provider now vouches for another address: read from the claims on
    // this very call.
    assert_eq!(w.joins.suggested(&person("dana", "dana@globex.com", true)).unwrap(), vec![]);
    assert_eq!(
        w.store.state().users[&user_id(&w.store, "dana")].email.as_ref().map(|e| e.as_str().to_owned()),
        Some("dana@globex.com".to_owned())
    );
    // And back.
    assert_eq!(w.joins.suggested(&dana()).unwrap().len(), 1);
    assert_eq!(w.joins.suggested(&person("dana", "dana@acme.com", false)).unwrap(), vec![]);
}

// --- asking to join ---

#[test]
fn only_a_verified_address_at_an_open_domain_may_ask() {
    let w = world();
    w.open(&owner(), "suggest", None);
    assert_eq!(
        w.joins.request(&person("erin", "erin@acme.com", false), &w.org).unwrap_err(),
        JoinError::EmailNotVerified
    );
    assert_eq!(w.joins.request(&person("finn", "finn@globex.com", true), &w.org).unwrap_err(), not_found());
    assert_eq!(w.joins.request(&dana(), &OrgRef::Me).unwrap_err(), not_found());
    let elsewhere = w.orgs.create(&caller("rival"), CreateOrg { name: "Rival".into(), ..Default::default() }).unwrap();
    assert_eq!(w.joins.request(&dana(), &OrgRef::Id(elsewhere.org.id)).unwrap_err(), not_found());
    assert_eq!(
        w.joins.request(&person("plain", "plain@acme.com", true), &w.org).unwrap_err(),
        JoinError::AlreadyMember
    );
    assert!(w.store.state().join_requests.is_empty());

    w.open(&owner(), "off", None);
    assert_eq!(w.joins.request(&dana(), &w.org).unwrap_err(), not_found(), "a closed domain");
}

#[test]
fn under_suggest_a_request_waits_for_an_admin() {
    let w = world();
    w.open(&owner(), "suggest", None);
    let request = w.pending(&dana());
    let dana_id = user_id(&w.store, "dana");
    assert_eq!(request.org_id, w.org_id);
    assert_eq!(request.user_id, dana_id);
    assert_eq!(request.email.as_str(), "dana@acme.com");
    assert_eq!(request.domain.as_str(), "acme.com");
    assert_eq!(request.status, JoinRequestStatus::Pending);
    assert_eq!((request.decided_by, request.decided_at, &request.role, request.member_id), (None, None, &None, None));
    assert_eq!(w.store.state().join_requests[&request.id], request);
    assert_eq!(w.membership_of("dana"), None);

    let audit = w.store.audit();
    let record = audit.last().unwrap();
    assert_eq!(record.action, AuditAction::JoinRequested);
    assert_eq!(record.action.as_str(), "join_request.created");
    assert_eq!(record.actor, Actor::User(dana_id));
    assert_eq!(record.org_id, w.org_id);
    let changes = record.changes.clone().into_value();
    assert_eq!(changes["email"]["to"], "dana@acme.com");
    assert_eq!(changes["domain"]["to"], "acme.com");

    assert_eq!(w.joins.request(&dana(), &w.org).unwrap_err(), JoinError::AlreadyRequested);
    assert_eq!(w.store.state().join_requests.len(), 1);
    let listed = w.joins.list(&admin(), &w.org, Some(JoinRequestStatus::Pending), PageRequest::first(10)).unwrap();
    assert_eq!(listed.items, vec![request]);
}

#[test]
fn under_auto_a_request_admits_at_once_with_the_policys_role() {
    let w = world();
    w.open(&admin(), "auto", Some("member"));
    let JoinOutcome::Joined(request, membership) = w.joins.request(&dana(), &w.org).unwrap() else {
        panic!("not admitted")
    };
    let dana_id = user_id(&w.store, "dana");
    assert_eq!((membership.org_id, membership.user_id, membership.role.as_str()), (w.org_id, dana_id, "member"));
    assert_eq!(w.membership_of("dana"), Some(membership.clone()));
    assert_eq!(request.status, JoinRequestStatus::Approved);
    assert_eq!(request.decided_by, None, "decided by the policy");
    assert!(request.decided_at.is_some());
    assert_eq!(request.role.as_ref().map(|r| r.as_str()), Some("member"));
    assert_eq!(request.member_id, Some(membership.id));
    assert_eq!(w.store.state().join_requests[&request.id], request);

    let audit = w.store.audit();
    let [.., asked, joined] = audit.as_slice() else { panic!("two records") };
    assert_eq!(asked.action, AuditAction::JoinRequested);
    assert_eq!(joined.action, AuditAction::JoinedByDomain);
    assert_eq!(joined.action.as_str(), "member.joined_by_domain");
    assert_eq!(joined.actor, Actor::User(dana_id));
    let changes = joined.changes.clone().into_value();
    assert_eq!(changes["role"]["to"], "member");
    assert_eq!(changes["member_id"]["to"], membership.id.to_string());
    assert_eq!(changes["policy_set_by"]["to"], user_id(&w.store, "admin").to_string());

    // Now a member: nothing more is offered, and asking again is refused.
    assert_eq!(w.joins.suggested(&dana()).unwrap(), vec![]);
    assert_eq!(w.joins.request(&dana(), &w.org).unwrap_err(), JoinError::AlreadyMember);
}

#[test]
fn under_auto_a_setter_who_lost_their_rights_admits_nobody() {
    let w = world();
    w.open(&admin(), "auto", Some("member"));
    w.members.change_role(&owner(), &w.org, w.admin, "member").unwrap();
    let request = w.pending(&dana());
    assert_eq!(request.status, JoinRequestStatus::Pending);
    assert_eq!(w.membership_of("dana"), None);
    assert!(!w.actions().contains(&AuditAction::JoinedByDomain));

    // An admin approves it; the role defaults to the policy's.
    w.members.change_role(&owner(), &w.org, w.admin, "admin").unwrap();
    let (_, membership) = w.joins.approve(&owner(), &w.org, request.id, None).unwrap();
    assert_eq!(membership.role.as_str(), "member");
}

#[test]
fn under_auto_a_setter_who_left_admits_nobody() {
    let w = world();
    w.open(&admin(), "auto", Some("member"));
    w.members.remove(&owner(), &w.org, w.admin).unwrap();
    assert_eq!(w.pending(&dana()).status, JoinRequestStatus::Pending);
    assert_eq!(w.membership_of("dana"), None);
}

#[test]
fn under_auto_a_role_grown_past_the_setters_rights_admits_nobody() {
    let w = world();
    let roles = RoleService::new(w.store.clone(), Arc::new(SystemClock));
    let role = roles
        .create(
            &owner(),
            &w.org,
            CreateRole {
                key: Some("support".into()),
                name: "Support".into(),
                description: None,
                permissions: vec!["org:read".into(), "members:read".into()],
            },
        )
        .unwrap();
    w.open(&admin(), "auto", Some("support"));
    let update = UpdateRole { permissions: Some(vec!["org:read".into(), "org:delete".into()]), ..Default::default() };
    roles.update(&owner(), &w.org, role.id, update).unwrap();
    assert_eq!(w.pending(&dana()).status, JoinRequestStatus::Pending);
}

// --- deciding ---

#[test]
fn deciding_needs_members_update() {
    let w = world();
    w.open(&owner(), "suggest", None);
    let request = w.pending(&dana());
    let forbidden = JoinError::Access(AccessError::Forbidden { permission: "members:update" });
    assert_eq!(w.joins.approve(&caller("plain"), &w.org, request.id, None).unwrap_err(), forbidden);
    assert_eq!(w.joins.deny(&caller("plain"), &w.org, request.id).unwrap_err(), forbidden);
    assert_eq!(w.joins.list(&caller("plain"), &w.org, None, PageRequest::first(10)).unwrap_err(), forbidden);
    let outsider = JoinError::Access(AccessError::NotFound("organization"));
    assert_eq!(w.joins.approve(&caller("stranger"), &w.org, request.id, None).unwrap_err(), outsider);
    assert_eq!(w.joins.deny(&dana(), &w.org, request.id).unwrap_err(), outsider, "nor the requester");
    assert_eq!(w.store.state().join_requests[&request.id].status, JoinRequestStatus::Pending);

    // Another organization's admin does not find it.
    let rival = w.orgs.create(&caller("rival"), CreateOrg { name: "Rival".into(), ..Default::default() }).unwrap();
    assert_eq!(
        w.joins.approve(&caller("rival"), &OrgRef::Id(rival.org.id), request.id, None).unwrap_err(),
        JoinError::Access(AccessError::NotFound("join request"))
    );
}

#[test]
fn approving_admits_with_member_by_default_and_tells_the_requester() {
    let w = world();
    w.open(&owner(), "suggest", None);
    let request = w.pending(&dana());
    let (approved, membership) = w.joins.approve(&admin(), &w.org, request.id, None).unwrap();
    let admin_id = user_id(&w.store, "admin");
    assert_eq!(membership.role.as_str(), "member");
    assert_eq!(membership.user_id, user_id(&w.store, "dana"));
    assert_eq!(w.membership_of("dana"), Some(membership.clone()));
    assert_eq!(approved.status, JoinRequestStatus::Approved);
    assert_eq!(approved.decided_by, Some(admin_id));
    assert_eq!(approved.member_id, Some(membership.id));
    assert_eq!(w.store.state().join_requests[&request.id], approved);

    let told = w.notifications_of("dana");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].kind, NotificationKind::JoinRequestApproved);
    assert_eq!(told[0].org_id, Some(w.org_id));
    assert!(told[0].title.contains("Acme"), "{}", told[0].title);
    assert!(told[0].title.starts_with("You joined"), "{}", told[0].title);

    let audit = w.store.audit();
    let record = audit.last().unwrap();
    assert_eq!(record.action, AuditAction::JoinRequestApproved);
    assert_eq!(record.actor, Actor::User(admin_id));
    assert_eq!(record.changes.clone().into_value()["role"]["to"], "member");

    assert_eq!(w.joins.approve(&admin(), &w.org, request.id, None).unwrap_err(), JoinError::AlreadyDecided("approved"));
    assert_eq!(w.joins.deny(&admin(), &w.org, request.id).unwrap_err(), JoinError::AlreadyDecided("approved"));
}

#[test]
fn approving_with_a_role_admits_with_it_within_the_approvers_rights() {
    let w = world();
    w.open(&owner(), "suggest", None);
    let request = w.pending(&dana());
    for approver in [admin(), owner()] {
        let refused = w.joins.approve(&approver, &w.org, request.id, Some("owner")).unwrap_err();
        let JoinError::Invalid(invalid) = refused else { panic!("{refused:?}") };
        assert_eq!(invalid.0[0].code, "owner_not_allowed", "nobody joins as an owner, whoever approves");
    }
    assert_eq!(
        w.joins.approve(&admin(), &w.org, request.id, Some("ghost")).unwrap_err(),
        JoinError::UnknownRole("ghost".into())
    );
    assert!(matches!(w.joins.approve(&admin(), &w.org, request.id, Some("Not A Role")), Err(JoinError::Invalid(_))));
    assert_eq!(w.membership_of("dana"), None);
    let (_, membership) = w.joins.approve(&admin(), &w.org, request.id, Some("admin")).unwrap();
    assert_eq!(membership.role.as_str(), "admin");
}

#[test]
fn a_requester_whose_address_left_the_domain_is_no_longer_eligible() {
    let w = world();
    w.open(&owner(), "suggest", None);
    let request = w.pending(&dana());
    // Dana's identity provider now vouches for another address (synced on her next call).
    w.joins.suggested(&person("dana", "dana@globex.com", true)).unwrap();
    assert_eq!(w.joins.approve(&admin(), &w.org, request.id, None).unwrap_err(), JoinError::NoLongerEligible);
    assert_eq!(w.membership_of("dana"), None);
    assert_eq!(w.store.state().join_requests[&request.id].status, JoinRequestStatus::Pending);
    // Unverified at the same address is not eligible either.
    w.joins.suggested(&person("dana", "dana@acme.com", false)).unwrap();
    assert_eq!(w.joins.approve(&admin(), &w.org, request.id, None).unwrap_err(), JoinError::NoLongerEligible);
    // Back at acme.com, verified: eligible again.
    w.joins.suggested(&dana()).unwrap();
    assert!(w.joins.approve(&admin(), &w.org, request.id, None).is_ok());
}

#[test]
fn a_request_for_a_released_domain_is_no_longer_eligible() {
    let w = world();
    w.open(&owner(), "suggest", None);
    let request = w.pending(&dana());
    w.domains.release(&owner(), &w.org, "acme.com").unwrap();
    assert_eq!(w.joins.approve(&admin(), &w.org, request.id, None).unwrap_err(), JoinError::NoLongerEligible);
    // It can still be declined.
    assert_eq!(w.joins.deny(&admin(), &w.org, request.id).unwrap().status, JoinRequestStatus::Denied);
}

#[test]
fn denying_tells_the_requester_who_may_ask_again() {
    let w = world();
    w.open(&owner(), "suggest", None);
    let request = w.pending(&dana());
    let denied = w.joins.deny(&admin(), &w.org, request.id).unwrap();
    assert_eq!(denied.status, JoinRequestStatus::Denied);
    assert_eq!(denied.decided_by, Some(user_id(&w.store, "admin")));
    assert!(denied.decided_at.is_some());
    assert_eq!((denied.role, denied.member_id), (None, None));
    assert_eq!(w.store.state().join_requests[&request.id].status, JoinRequestStatus::Denied);
    assert_eq!(w.membership_of("dana"), None);

    let told = w.notifications_of("dana");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].kind, NotificationKind::JoinRequestDenied);
    assert!(told[0].title.contains("declined") && told[0].title.contains("Acme"), "{}", told[0].title);
    assert_eq!(w.actions().last(), Some(&AuditAction::JoinRequestDenied));

    assert_eq!(w.joins.deny(&admin(), &w.org, request.id).unwrap_err(), JoinError::AlreadyDecided("denied"));
    assert_eq!(w.joins.approve(&admin(), &w.org, request.id, None).unwrap_err(), JoinError::AlreadyDecided("denied"));
    assert_eq!(w.joins.suggested(&dana()).unwrap()[0].pending_request, None);
    let again = w.pending(&dana());
    assert_ne!(again.id, request.id);
}

#[test]
fn only_people_ask_to_join() {
    let w = world();
    w.open(&owner(), "suggest", None);
    let key = crate::testing::key_caller("no such key");
    assert_eq!(w.joins.suggested(&key).unwrap_err(), JoinError::Access(AccessError::UserRequired));
    assert_eq!(w.joins.request(&key, &w.org).unwrap_err(), JoinError::Access(AccessError::UserRequired));
}

/// Never asked to seal anything: the OIDC connection here has no client secret.
struct NoSecrets;

impl crate::sso::SecretBox for NoSecrets {
    fn seal(&self, plaintext: &[u8], _context: &[u8]) -> Result<crate::sso::Sealed, crate::sso::SealError> {
        Ok(crate::sso::Sealed { key_id: "k".into(), ciphertext: plaintext.to_vec() })
    }

    fn open(&self, sealed: &crate::sso::Sealed, _context: &[u8]) -> Result<Vec<u8>, crate::sso::SealError> {
        Ok(sealed.ciphertext.clone())
    }

    fn current_key_id(&self) -> &str {
        "k"
    }
}

#[test]
fn asking_to_join_answers_to_the_organizations_policies() {
    let w = world();
    w.open(&owner(), "auto", Some("member"));
    // SSO enforced over acme.com; the owner signs in through it so as not to be held out.
    let mut owner_via_sso = identity("owner", "owner@acme.com");
    owner_via_sso.sign_in_method = Some(crate::policy::SignInMethod::Sso);
    let owner_via_sso = Caller::user(owner_via_sso, RequestMeta::default());
    let sso = crate::sso::SsoService::new(w.store.clone(), Arc::new(SystemClock), Arc::new(NoSecrets));
    let input = crate::sso::SsoInput {
        enabled: true,
        enforced: true,
        connection: Some(crate::sso::ConnectionInput::Oidc {
            issuer: "https://idp.acme.com".into(),
            client_id: "orgd".into(),
            client_secret: crate::org::Patch::Keep,
        }),
    };
    sso.put(&owner_via_sso, &w.org, input, crate::policy::WriteMode::default()).unwrap();

    let refused = w.joins.request(&dana(), &w.org).unwrap_err();
    let JoinError::Access(AccessError::Policy(refusal)) = refused else { panic!("{refused:?}") };
    assert_eq!(refusal.code(), "sso_required");
    assert!(w.store.state().join_requests.is_empty());
    assert_eq!(w.store.state().memberships.len(), 3, "owner, admin and plain only");

    let mut dana_via_sso = identity("dana", "dana@acme.com");
    dana_via_sso.sign_in_method = Some(crate::policy::SignInMethod::Sso);
    let outcome = w.joins.request(&Caller::user(dana_via_sso, RequestMeta::default()), &w.org).unwrap();
    assert!(matches!(outcome, JoinOutcome::Joined(..)));
}

#[test]
fn an_api_key_holding_every_permission_lists_requests_but_decides_none() {
    let w = world();
    w.open(&owner(), "suggest", None);
    let request = w.pending(&dana());
    let keys = crate::apikey::ApiKeyService::new(
        w.store.clone(),
        Arc::new(SystemClock),
        Arc::new(crate::testing::CountingMinter::default()),
    );
    let every = crate::authz::Permission::ALL.iter().map(|p| p.as_str().to_owned()).collect();
    let create = crate::apikey::CreateApiKey { name: "bot".into(), permissions: every, expires_at: None };
    let bot = crate::testing::key_caller(&keys.create(&owner(), &w.org, create).unwrap().token);
    assert_eq!(w.joins.list(&bot, &w.org, None, PageRequest::first(10)).unwrap().items.len(), 1);
    let refused = JoinError::Access(AccessError::UserRequired);
    assert_eq!(w.joins.approve(&bot, &w.org, request.id, None).unwrap_err(), refused);
    assert_eq!(w.joins.deny(&bot, &w.org, request.id).unwrap_err(), refused);
    assert_eq!(w.membership_of("dana"), None, "a decision is a person's");
}
