//! The SCIM use cases over the in-memory store, driven with the requests Okta and
//! Microsoft Entra ID really send.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::{ScimContext, ScimProvisioning, ScimResource};
use crate::access::{enter_org, Lock, OrgScope};
use crate::audit::{Actor, AuditAction, AuditRecord};
use crate::context::{Caller, RequestMeta};
use crate::error::AccessError;
use crate::ids::{MemberId, OrgId, TeamId};
use crate::invite::{CreateInvite, InviteService, InviteSettings};
use crate::member::{MemberError, MemberService};
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::policy::Plan;
use crate::scim::patch::PATCH_OP_SCHEMA;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use crate::scim::{ListQuery, ListResponse, ScimFault, ScimService, ScimWrite};
use crate::store::Store;
use crate::testing::{caller, identity, join, person, presented, verified_domain_of, CountingMinter, InMemoryStore};
use crate::time::{Clock, SystemClock};
use crate::token::LookupHashes;
use crate::token::ScimToken;

const BASE: &str = "https://orgd.example/scim/v2";
const REQUEST_ID: &str = "scim-request";

/// A clock that moves on by a millisecond whenever it is read, so every write has its own
/// version.
struct Ticking(Mutex<DateTime<Utc>>);

impl Clock for Ticking {
    fn now(&self) -> DateTime<Utc> {
        let mut now = self.0.lock().unwrap();
        *now += Duration::milliseconds(1);
        *now
    }
}

struct World {
    store: InMemoryStore,
    clock: Arc<Ticking>,
    minter: Arc<CountingMinter>,
    settings: ScimService<InMemoryStore>,
    scim: ScimProvisioning<InMemoryStore>,
    org: OrgId,
    /// The organization's creator: its only owner, never provisioned.
    owner: MemberId,
    /// A member who joined by signing in, never provisioned.
    plain: MemberId,
    /// The identity provider, holding the organization's SCIM token.
    ctx: ScimContext,
}

fn world() -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(Ticking(Mutex::new(SystemClock.now())));
    let minter = Arc::new(CountingMinter::default());
    let settings = ScimService::new(store.clone(), clock.clone(), minter.clone());
    let scim = ScimProvisioning::new(store.clone(), clock.clone());
    let mut w = World {
        store,
        clock,
        minter,
        settings,
        scim,
        org: OrgId::generate(),
        owner: MemberId::generate(),
        plain: MemberId::generate(),
        ctx: ScimContext {
            token_hashes: LookupHashes::current(Vec::new()),
            meta: RequestMeta::default(),
            base_url: BASE.into(),
        },
    };
    let (org, owner, ctx) = w.org_with_scim("owner", "Acme");
    w.plain = join(&w.store, org, "plain", "member");
    // Provisioned people of acme.test are linked at sign-in: the organization owns it.
    verified_domain_of(&w.store, org, "acme.test");
    (w.org, w.owner, w.ctx) = (org, owner, ctx);
    w
}

impl World {
    /// A new organization on a plan with SCIM, whose owner `owner` enabled provisioning:
    /// its id, its owner's membership and its identity provider's context.
    fn org_with_scim(&self, owner: &str, name: &str) -> (OrgId, MemberId, ScimContext) {
        let orgs = OrgService::new(self.store.clone(), self.clock.clone()).with_default_plan(Plan::Enterprise);
        let created = orgs.create(&caller(owner), CreateOrg { name: name.into(), ..Default::default() }).unwrap();
        let enabled = self.settings.put(&caller(owner), &OrgRef::Id(created.org.id), true, false, None, None).unwrap();
        (created.org.id, created.membership.unwrap().id, self.context(&enabled))
    }

    /// What a request presenting the token `write` issued carries.
    fn context(&self, write: &ScimWrite) -> ScimContext {
        let token = ScimToken::parse(write.token.as_deref().unwrap()).unwrap();
        ScimContext {
            token_hashes: token.lookup_hashes(self.minter.as_ref()),
            meta: RequestMeta { request_id: REQUEST_ID.into(), ..RequestMeta::default() },
            base_url: BASE.into(),
        }
    }

    /// `caller` entering the organization, as every route of its own API does.
    fn enter(&self, caller: &Caller) -> Result<OrgScope, MemberError> {
        let now = self.clock.now();
        self.store.transaction(|tx| enter_org::<MemberError>(tx, caller, &OrgRef::Id(self.org), now, Lock::None))
    }

    fn create(&self, body: &Value) -> (String, MemberId) {
        let created = self.scim.create_user(&self.ctx, body).unwrap();
        let id = id_of(&created);
        let member = id.parse().unwrap();
        (id, member)
    }

    fn patch(&self, id: &str, operations: Value) -> Result<ScimResource, ScimFault> {
        self.scim.patch_user(&self.ctx, id, &patch(operations), None)
    }

    fn patch_group(&self, id: &str, operations: Value) -> Result<ScimResource, ScimFault> {
        self.scim.patch_group(&self.ctx, id, &patch(operations), None)
    }

    fn list(&self, filter: &str) -> ListResponse {
        self.scim.list_users(&self.ctx, &query(filter)).unwrap()
    }

    /// The audit records written since the first `from`.
    fn audit_since(&self, from: usize) -> Vec<AuditRecord> {
        self.store.audit()[from..].to_vec()
    }

    fn actions_since(&self, from: usize) -> Vec<AuditAction> {
        self.audit_since(from).iter().map(|r| r.action).collect()
    }
}

/// A user as Okta creates it (its SCIM 2.0 reference).
fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true,
    })
}

/// A user as Microsoft Entra ID creates it.
fn entra_user() -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "ghopper@contoso.test",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "grace.h@contoso.test"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Grace Brewster", "familyName": "Brewster", "givenName": "Grace"},
        "roles": [],
        ENTERPRISE_USER_SCHEMA: {"employeeNumber": "1906", "department": "Mathematics"},
    })
}

fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
}

fn query(filter: &str) -> ListQuery {
    ListQuery { filter: Some(filter.into()), ..ListQuery::default() }
}

fn id_of(resource: &ScimResource) -> String {
    resource.json["id"].as_str().unwrap().to_owned()
}

fn ids(page: &ListResponse) -> Vec<String> {
    page.resources.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

fn member_values(group: &ScimResource) -> Vec<String> {
    group.json["members"].as_array().into_iter().flatten().map(|m| m["value"].as_str().unwrap().to_owned()).collect()
}

/// The resource without `meta`, which every write moves on.
fn without_meta(resource: &ScimResource) -> Value {
    let mut json = resource.json.clone();
    json.as_object_mut().unwrap().remove("meta");
    json
}

fn deactivate() -> Value {
    json!([{"op": "replace", "path": "active", "value": false}])
}

// ---------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------

#[test]
fn okta_creates_a_user_that_reads_back_and_is_found_by_user_name_in_any_case() {
    let w = world();
    let created = w.scim.create_user(&w.ctx, &okta_user("ada.lovelace@acme.test")).unwrap();
    let id = id_of(&created);
    let member: MemberId = id.parse().unwrap();
    let json = &created.json;
    assert_eq!(json["schemas"], json!([USER_SCHEMA]));
    assert_eq!(json["userName"], "ada.lovelace@acme.test");
    assert_eq!(json["active"], true);
    assert_eq!(json["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(json["name"], json!({"givenName": "Ada", "familyName": "Lovelace"}));
    assert_eq!(json["emails"], json!([{"primary": true, "value": "ada.lovelace@acme.test", "type": "work"}]));
    assert!(json.get("password").is_none() && json.get("groups").is_none(), "{json}");
    assert_eq!(json["meta"]["resourceType"], "User");
    assert_eq!(created.location, format!("{BASE}/Users/{id}"));
    assert_eq!(json["meta"]["location"], created.location.as_str());
    assert_eq!(json["meta"]["version"], created.version.as_str());
    assert_eq!(w.scim.get_user(&w.ctx, &id).unwrap(), created);

    let state = w.store.state();
    let membership = &state.memberships[&member];
    assert_eq!((membership.org_id, membership.role.as_str(), membership.suspended_at), (w.org, "member", None));
    let person = &state.users[&membership.user_id];
    assert_eq!(person.subject, None, "nobody signed in as this person yet");
    assert_eq!(person.email.as_ref().map(|e| e.as_str()), Some("ada.lovelace@acme.test"));
    assert!(!person.email_verified);
    assert_eq!(person.name.as_deref(), Some("Ada Lovelace"));

    for filter in [
        r#"userName eq "ada.lovelace@acme.test""#,
        r#"USERNAME EQ "Ada.Lovelace@ACME.test""#,
        r#"externalId eq "00ujl29u0le5T6Aj10h7""#,
        r#"emails[value eq "ADA.LOVELACE@acme.test"]"#,
        r#"emails.value eq "ada.lovelace@acme.test""#,
        r#"emails[type eq "work" and value eq "ada.lovelace@acme.test"]"#,
        r#"userName eq "ada.lovelace@acme.test" and active eq true"#,
    ] {
        let page = w.list(filter);
        assert_eq!((page.total_results, ids(&page)), (1, vec![id.clone()]), "{filter}");
    }
    assert_eq!(w.list(r#"externalId eq "00UJL29U0LE5T6AJ10H7""#).total_results, 0, "externalId is caseExact");
    assert_eq!(w.list(r#"userName eq "ada""#).total_results, 0);

    // Members who joined by signing in are Users too, named by their email.
    let plain = w.list(r#"userName eq "Plain@Example.com""#);
    assert_eq!(ids(&plain), vec![w.plain.to_string()]);
    assert_eq!(plain.resources[0]["active"], true);
    assert_eq!(plain.resources[0]["emails"], json!([{"value": "plain@example.com", "primary": true}]));

    let all = w.scim.list_users(&w.ctx, &ListQuery::default()).unwrap();
    assert_eq!(all.total_results, 3);
    assert_eq!(ids(&all), vec![w.owner.to_string(), w.plain.to_string(), id.clone()], "in join order");

    let record = w.store.audit().pop().unwrap();
    assert_eq!(
        (record.action, record.actor, record.target.kind),
        (AuditAction::ScimUserCreated, Actor::Scim, "member")
    );
    assert_eq!(record.target.id, id);
}

#[test]
fn user_names_are_unique_in_any_case_even_against_members_never_provisioned() {
    let w = world();
    let (ada, _) = w.create(&okta_user("ada@acme.test"));
    let (users, audit) = (w.store.user_count(), w.store.audit().len());
    for taken in ["ADA@acme.TEST", "Plain@Example.com", "owner@example.com"] {
        let err = w.scim.create_user(&w.ctx, &okta_user(taken)).unwrap_err();
        assert!(matches!(err, ScimFault::Uniqueness(_)), "{taken}: {err:?}");
        assert_eq!((err.status(), err.scim_type()), (409, Some("uniqueness")));
    }
    assert_eq!(w.store.user_count(), users, "a refused creation leaves nobody behind");
    assert_eq!(w.store.audit().len(), audit, "nor any audit record");

    let (bob, _) = w.create(&okta_user("bob@acme.test"));
    for taken in ["Ada@Acme.Test", "PLAIN@example.com"] {
        let err = w.patch(&bob, json!([{"op": "replace", "path": "userName", "value": taken}])).unwrap_err();
        assert!(matches!(err, ScimFault::Uniqueness(_)), "{taken}: {err:?}");
    }
    let renamed = w.patch(&ada, json!([{"op": "replace", "path": "userName", "value": "ADA@acme.test"}])).unwrap();
    assert_eq!(renamed.json["userName"], "ADA@acme.test", "one's own name, in another case");

    let (_, _, elsewhere) = w.org_with_scim("zed", "Zeta");
    assert!(w.scim.create_user(&elsewhere, &okta_user("ada@acme.test")).is_ok(), "unique per organization");

    w.scim.delete_user(&w.ctx, &ada, None).unwrap();
    assert!(w.scim.create_user(&w.ctx, &okta_user("ada@acme.test")).is_ok(), "deleting frees the name");
}

#[test]
fn removing_a_provisioned_member_in_the_organization_s_own_api_frees_its_user_name() {
    let w = world();
    let (_, member) = w.create(&okta_user("ada@acme.test"));
    let members = MemberService::new(w.store.clone(), w.clock.clone());
    members.remove(&caller("owner"), &OrgRef::Id(w.org), member).unwrap();
    assert!(!w.store.state().scim_users.contains_key(&member), "the SCIM record goes with the membership");
    assert!(w.scim.create_user(&w.ctx, &okta_user("ada@acme.test")).is_ok());
}

#[test]
fn a_provisioned_user_without_active_is_filtered_as_active() {
    // The resource shows `active` as the identity provider sent it (here: not at all), but
    // a filter on `active` is about the membership, which is active.
    let w = world();
    let (id, _) = w.create(&json!({"userName": "ada@acme.test"}));
    assert!(w.scim.get_user(&w.ctx, &id).unwrap().json.get("active").is_none());
    assert!(ids(&w.list("active eq true")).contains(&id));
    assert!(!ids(&w.list("active eq false")).contains(&id));
}

#[test]
fn deactivation_is_never_blocked_by_another_member_s_address() {
    // Someone who signed in with the provisioned person's address unverified, and joined
    // by other means, is not linked to them; their address must not keep the identity
    // provider from offboarding the provisioned person (the userName does not change).
    let w = world();
    let (carol, member) = w.create(&okta_user("carol@acme.test"));
    let invites = InviteService::new(w.store.clone(), w.clock.clone(), w.minter.clone(), InviteSettings::default());
    let link = CreateInvite { role: "member".into(), ..CreateInvite::default() };
    let issued = invites.create(&caller("owner"), &OrgRef::Id(w.org), link).unwrap();
    invites.accept(&person("carol-2", "carol@acme.test", false), &presented(issued.token.as_bytes())).unwrap();
    assert_eq!(w.list(r#"userName eq "carol@acme.test""#).total_results, 2);
    let r = w.patch(&carol, deactivate());
    assert_eq!(r.map(|r| r.json["active"].clone()), Ok(json!(false)));
    assert!(w.store.state().memberships[&member].is_suspended());
}

#[test]
fn a_user_name_longer_than_the_directory_keeps_is_an_invalid_value() {
    // The database keeps user names of 1 to 256 characters (`scim_users.user_name`);
    // a longer one must be refused as the identity provider's mistake (400), not fail
    // the transaction (500).
    let w = world();
    let long = format!("{}@acme.test", "a".repeat(300));
    let err = w.scim.create_user(&w.ctx, &json!({"userName": long})).unwrap_err();
    assert!(matches!(err, ScimFault::InvalidValue(_)), "{err:?}");
    assert_eq!(err.status(), 400);
}

#[test]
fn entra_patch_shapes_are_understood() {
    let w = world();
    let created = w.scim.create_user(&w.ctx, &entra_user()).unwrap();
    let id = id_of(&created);
    let member: MemberId = id.parse().unwrap();
    assert_eq!(created.json["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    assert!(created.json.get("roles").is_none());
    let start = w.store.audit().len();

    let r = w
        .patch(
            &id,
            json!([
                {"op": "Replace", "path": "displayName", "value": "Grace Hopper"},
                {"op": "Add", "path": "name.familyName", "value": "Hopper"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "grace@contoso.test"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Navy"},
                {"op": "Replace", "path": "externalId", "value": "e-2"},
            ]),
        )
        .unwrap();
    assert_eq!(r.json["displayName"], "Grace Hopper");
    assert_eq!(r.json["name"], json!({"formatted": "Grace Brewster", "familyName": "Hopper", "givenName": "Grace"}));
    assert_eq!(r.json["emails"], json!([{"primary": true, "type": "work", "value": "grace@contoso.test"}]));
    assert_eq!(r.json[ENTERPRISE_USER_SCHEMA], json!({"employeeNumber": "1906", "department": "Navy"}));
    assert_eq!(r.json["externalId"], "e-2");

    // No path: the value maps attribute paths to values.
    let r = w
        .patch(&id, json!([{"op": "Replace", "value": {"name.givenName": "Amazing", "displayName": "Amazing Grace"}}]))
        .unwrap();
    assert_eq!((&r.json["name"]["givenName"], &r.json["displayName"]), (&json!("Amazing"), &json!("Amazing Grace")));
    assert_eq!(r.json["name"]["familyName"], "Hopper", "the other parts of the name stay");

    // Booleans as strings, with a path and without.
    let r = w.patch(&id, json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
    assert_eq!(r.json["active"], false);
    assert!(w.store.state().memberships[&member].is_suspended());
    let r = w.patch(&id, json!([{"op": "Replace", "value": {"active": "True"}}])).unwrap();
    assert_eq!(r.json["active"], true);
    assert!(!w.store.state().memberships[&member].is_suspended());
    let r = w.patch(&id, json!([{"op": "Replace", "value": {"active": false}}])).unwrap();
    assert_eq!(r.json["active"], false);
    assert!(w.store.state().memberships[&member].is_suspended());

    // The person, who never signed in, is what the identity provider last said.
    let state = w.store.state();
    let person = &state.users[&state.memberships[&member].user_id];
    assert_eq!(person.email.as_ref().map(|e| e.as_str()), Some("grace@contoso.test"));
    assert_eq!(person.name.as_deref(), Some("Amazing Grace"));

    use AuditAction::{ScimUserDeactivated, ScimUserReactivated, ScimUserUpdated};
    assert_eq!(
        w.actions_since(start),
        // One record per write, named after its main change.
        [ScimUserUpdated, ScimUserUpdated, ScimUserDeactivated, ScimUserReactivated, ScimUserDeactivated]
    );
}

#[test]
fn okta_deactivates_by_put_and_by_patch_and_the_member_keeps_role_and_seats() {
    let w = world();
    let (id, member) = w.create(&okta_user("ada@acme.test"));
    let group = w.scim.create_group(&w.ctx, &json!({"displayName": "Analysts", "members": [{"value": id}]})).unwrap();
    let team: TeamId = id_of(&group).parse().unwrap();
    let ada = Caller::user(identity("ada-sub", "ada@acme.test"), RequestMeta::default());
    assert_eq!(w.enter(&ada).unwrap().membership.map(|m| m.id), Some(member), "linked at sign-in");
    let members = MemberService::new(w.store.clone(), w.clock.clone());
    members.change_role(&caller("owner"), &OrgRef::Id(w.org), member, "admin").unwrap();

    let suspended = |w: &World| {
        assert_eq!(w.enter(&ada).unwrap_err(), MemberError::Access(AccessError::MembershipSuspended));
        let state = w.store.state();
        let membership = &state.memberships[&member];
        assert!(membership.is_suspended());
        assert_eq!(membership.role.as_str(), "admin", "the role stays");
        assert!(state.team_members.contains_key(&(team, member)), "the seat stays");
    };
    let active = |w: &World| {
        let scope = w.enter(&ada).unwrap();
        assert_eq!(scope.grant.role.as_str(), "admin");
        assert!(w.store.state().team_members.contains_key(&(team, member)));
    };

    // Okta's PUT carries the whole user.
    let mut body = okta_user("ada@acme.test");
    body["active"] = json!(false);
    let r = w.scim.replace_user(&w.ctx, &id, &body, None).unwrap();
    assert_eq!(r.json["active"], false);
    suspended(&w);
    assert_eq!(ids(&w.list("active eq false")), vec![id.clone()], "still listed, as inactive");
    assert_eq!(member_values(&w.scim.get_group(&w.ctx, &id_of(&group)).unwrap()), vec![id.clone()]);
    body["active"] = json!(true);
    assert_eq!(w.scim.replace_user(&w.ctx, &id, &body, None).unwrap().json["active"], true);
    active(&w);

    // Okta's PATCH names no path.
    let r = w.patch(&id, json!([{"op": "replace", "value": {"active": false}}])).unwrap();
    assert_eq!(r.json["active"], false);
    suspended(&w);
    let r = w.patch(&id, json!([{"op": "replace", "value": {"active": true}}])).unwrap();
    assert_eq!(r.json["active"], true);
    active(&w);

    let moves: Vec<_> = w
        .store
        .audit()
        .into_iter()
        .filter(|r| matches!(r.action, AuditAction::ScimUserDeactivated | AuditAction::ScimUserReactivated))
        .map(|r| r.action)
        .collect();
    assert_eq!(
        moves,
        [
            AuditAction::ScimUserDeactivated,
            AuditAction::ScimUserReactivated,
            AuditAction::ScimUserDeactivated,
            AuditAction::ScimUserReactivated
        ]
    );
}

#[test]
fn a_user_created_inactive_is_suspended_from_the_start() {
    let w = world();
    let mut body = okta_user("ada@acme.test");
    body["active"] = json!("False");
    let created = w.scim.create_user(&w.ctx, &body).unwrap();
    assert_eq!(created.json["active"], false);
    let member: MemberId = id_of(&created).parse().unwrap();
    assert!(w.store.state().memberships[&member].is_suspended());
    let ada = Caller::user(identity("ada-sub", "ada@acme.test"), RequestMeta::default());
    assert_eq!(w.enter(&ada).unwrap_err(), MemberError::Access(AccessError::MembershipSuspended));
}

#[test]
fn a_provisioned_person_is_linked_at_their_first_sign_in_with_the_address_verified() {
    let w = world();
    let (id, member) = w.create(&okta_user("Ada@Acme.test"));
    let provisioned = w.store.state().memberships[&member].user_id;

    // Anyone may claim an address they do not own: an unverified one links nothing.
    let impostor = person("mallory", "ada@acme.test", false);
    assert_eq!(w.enter(&impostor).unwrap_err(), MemberError::Access(AccessError::NotFound("organization")));
    let state = w.store.state();
    assert_eq!(state.memberships[&member].user_id, provisioned);
    assert_eq!(state.users[&provisioned].subject, None);
    assert!(!w.store.audit().iter().any(|r| r.action == AuditAction::MemberLinked));

    let ada = Caller::user(identity("ada-sub", "ada@acme.test"), RequestMeta::default());
    let scope = w.enter(&ada).unwrap();
    let me = scope.user.unwrap();
    assert_eq!(scope.membership.map(|m| m.id), Some(member), "the provisioned membership, its SCIM id kept");
    assert_eq!(scope.grant.role.as_str(), "member");
    let state = w.store.state();
    assert_eq!(state.memberships[&member].user_id, me.id);
    assert!(!state.users.contains_key(&provisioned), "the placeholder person is gone");
    let linked = w.store.audit().into_iter().find(|r| r.action == AuditAction::MemberLinked).unwrap();
    assert_eq!((linked.org_id, linked.actor, linked.target.id), (w.org, Actor::User(me.id), id.clone()));
    assert_eq!(linked.action.as_str(), "member.linked");

    // SCIM still sees the same User, and no longer writes the person's own profile.
    let r = w.patch(&id, json!([{"op": "replace", "path": "displayName", "value": "Countess"}])).unwrap();
    assert_eq!((id_of(&r), &r.json["displayName"]), (id.clone(), &json!("Countess")));
    assert_eq!(w.store.state().users[&me.id].name.as_deref(), Some("ada-sub"));

    // Deleting the member leaves the person, who has signed in.
    w.scim.delete_user(&w.ctx, &id, None).unwrap();
    assert!(w.store.state().users.contains_key(&me.id));
    assert_eq!(w.enter(&ada).unwrap_err(), MemberError::Access(AccessError::NotFound("organization")));
}

#[test]
fn deleting_a_provisioned_member_removes_the_person_who_never_signed_in() {
    let w = world();
    let (id, member) = w.create(&okta_user("ada@acme.test"));
    w.scim.create_group(&w.ctx, &json!({"displayName": "Analysts", "members": [{"value": id}]})).unwrap();
    let provisioned = w.store.state().memberships[&member].user_id;
    let users = w.store.user_count();

    w.scim.delete_user(&w.ctx, &id, None).unwrap();
    let state = w.store.state();
    assert!(!state.memberships.contains_key(&member) && !state.scim_users.contains_key(&member));
    assert!(!state.users.contains_key(&provisioned));
    assert!(!state.team_members.keys().any(|(_, m)| *m == member));
    assert_eq!(w.store.user_count(), users - 1);
    assert!(matches!(w.scim.get_user(&w.ctx, &id), Err(ScimFault::NotFound(_))));
    assert!(matches!(w.scim.delete_user(&w.ctx, &id, None), Err(ScimFault::NotFound(_))));
    let record = w.store.audit().pop().unwrap();
    assert_eq!((record.action, record.target.id), (AuditAction::ScimUserDeleted, id));
    assert_eq!(record.changes.into_value()["user_name"]["to"], "ada@acme.test");

    // A member who joined by signing in keeps their person.
    let plain_user = w.store.state().memberships[&w.plain].user_id;
    w.scim.delete_user(&w.ctx, &w.plain.to_string(), None).unwrap();
    assert!(w.store.state().users.contains_key(&plain_user));
    assert_eq!(w.enter(&caller("plain")).unwrap_err(), MemberError::Access(AccessError::NotFound("organization")));
}

#[test]
fn the_last_active_owner_is_never_deactivated_and_no_owner_is_deleted() {
    let w = world();
    let owner = w.owner.to_string();
    let synthesized = w.scim.get_user(&w.ctx, &owner).unwrap();
    assert_eq!(synthesized.json["userName"], "owner@example.com");
    assert_eq!(synthesized.json["active"], true);

    let audit = w.store.audit().len();
    let err = w.patch(&owner, deactivate()).unwrap_err();
    assert!(matches!(err, ScimFault::Mutability(_)), "{err:?}");
    assert_eq!((err.status(), err.scim_type()), (400, Some("mutability")));
    let err = w.scim.replace_user(&w.ctx, &owner, &json!({"userName": "owner@example.com", "active": false}), None);
    assert!(matches!(err, Err(ScimFault::Mutability(_))), "{err:?}");
    let state = w.store.state();
    assert!(!state.memberships[&w.owner].is_suspended());
    assert!(!state.scim_users.contains_key(&w.owner), "a refused write takes nobody over");
    assert_eq!(w.store.audit().len(), audit);
    assert!(w.enter(&caller("owner")).is_ok());

    let second = join(&w.store, w.org, "second", "owner");
    let r = w.patch(&owner, deactivate()).unwrap();
    assert_eq!(r.json["active"], false);
    assert_eq!(w.enter(&caller("owner")).unwrap_err(), MemberError::Access(AccessError::MembershipSuspended));
    let err = w.patch(&second.to_string(), deactivate()).unwrap_err();
    assert!(matches!(err, ScimFault::Mutability(_)), "the second is now the last active owner: {err:?}");
    assert!(!w.store.state().memberships[&second].is_suspended());

    for id in [&owner, &second.to_string()] {
        let err = w.scim.delete_user(&w.ctx, id, None).unwrap_err();
        assert!(matches!(err, ScimFault::Mutability(_)), "{id}: {err:?}");
    }
    assert!(w.store.state().memberships.contains_key(&w.owner));

    w.patch(&owner, json!([{"op": "replace", "path": "active", "value": true}])).unwrap();
    assert!(w.patch(&second.to_string(), deactivate()).is_ok(), "with the first back, the second may go");
}

#[test]
fn a_token_reaches_only_its_own_organization() {
    let w = world();
    let (org_b, owner_b, ctx_b) = w.org_with_scim("boss", "Beta");
    let bob = id_of(&w.scim.create_user(&ctx_b, &okta_user("bob@beta.test")).unwrap());
    let bob_member: MemberId = bob.parse().unwrap();
    let team_b =
        w.scim.create_group(&ctx_b, &json!({"displayName": "Beta team", "members": [{"value": bob}]})).unwrap();
    let team_b = id_of(&team_b);
    let before = w.store.state();

    let not_found = |r: Result<(), ScimFault>| matches!(r, Err(ScimFault::NotFound(_)));
    for user in [bob.clone(), owner_b.to_string(), team_b.clone(), "not-an-id".into()] {
        assert!(not_found(w.scim.get_user(&w.ctx, &user).map(drop)), "{user}");
        assert!(not_found(w.patch(&user, deactivate()).map(drop)), "{user}");
        assert!(not_found(w.scim.replace_user(&w.ctx, &user, &okta_user("bob@beta.test"), None).map(drop)), "{user}");
        assert!(not_found(w.scim.delete_user(&w.ctx, &user, None)), "{user}");
    }
    for group in [team_b.clone(), bob.clone(), "grp".into()] {
        assert!(not_found(w.scim.get_group(&w.ctx, &group).map(drop)), "{group}");
        assert!(not_found(w.patch_group(&group, json!([{"op": "remove", "path": "members"}])).map(drop)), "{group}");
        assert!(not_found(w.scim.replace_group(&w.ctx, &group, &json!({"displayName": "Mine"}), None).map(drop)));
        assert!(not_found(w.scim.delete_group(&w.ctx, &group, None)), "{group}");
    }
    assert_eq!(w.store.state().memberships, before.memberships);
    assert_eq!(w.store.state().teams, before.teams);

    assert_eq!(w.list(r#"userName eq "bob@beta.test""#).total_results, 0);
    assert_eq!(w.list(r#"userName eq "boss@example.com""#).total_results, 0);
    let all = w.scim.list_users(&w.ctx, &ListQuery::default()).unwrap();
    assert_eq!(ids(&all), vec![w.owner.to_string(), w.plain.to_string()]);
    assert_eq!(w.scim.list_groups(&w.ctx, &ListQuery::default()).unwrap().total_results, 0);

    let err = w.scim.create_group(&w.ctx, &json!({"displayName": "Mixed", "members": [{"value": bob}]})).unwrap_err();
    assert!(matches!(err, ScimFault::InvalidValue(_)), "{err:?}");
    assert_eq!(w.scim.authenticate(&ctx_b), Ok(org_b));
    assert!(!w.store.state().memberships[&bob_member].is_suspended());
}

#[test]
fn a_rotated_or_disabled_token_is_refused_at_once() {
    let w = world();
    let owner = caller("owner");
    let rotated = w.settings.put(&owner, &OrgRef::Id(w.org), true, true, None, None).unwrap();
    let current = w.context(&rotated);

    let unauthorized = |r: Result<(), ScimFault>| match r {
        Err(err @ ScimFault::Unauthorized(_)) => err.status() == 401,
        _ => false,
    };
    let old = &w.ctx;
    assert!(unauthorized(w.scim.authenticate(old).map(drop)));
    assert!(unauthorized(w.scim.get_user(old, &w.owner.to_string()).map(drop)));
    assert!(unauthorized(w.scim.list_users(old, &ListQuery::default()).map(drop)));
    assert!(unauthorized(w.scim.create_user(old, &okta_user("ada@acme.test")).map(drop)));
    assert!(unauthorized(w.scim.create_group(old, &json!({"displayName": "Ops"})).map(drop)));
    assert!(unauthorized(w.scim.delete_user(old, &w.plain.to_string(), None)));
    assert_eq!(w.scim.authenticate(&current), Ok(w.org));
    assert!(w.scim.get_user(&current, &w.owner.to_string()).is_ok());

    w.settings.put(&owner, &OrgRef::Id(w.org), false, false, None, None).unwrap();
    assert!(unauthorized(w.scim.authenticate(&current).map(drop)));
    assert!(unauthorized(w.patch(&w.plain.to_string(), deactivate()).map(drop)));
    assert!(unauthorized(w.scim.patch_user(&current, &w.plain.to_string(), &patch(deactivate()), None).map(drop)));

    let stranger = ScimContext { token_hashes: LookupHashes::current(b"orgs_unknown".to_vec()), ..current };
    assert!(unauthorized(w.scim.authenticate(&stranger).map(drop)));
    assert!(!w.store.state().memberships[&w.plain].is_suspended());
}

#[test]
fn every_write_is_audited_as_the_identity_provider() {
    let w = world();
    let start = w.store.audit().len();
    let (ada, _) = w.create(&okta_user("ada@acme.test"));
    w.patch(&ada, json!([{"op": "replace", "path": "displayName", "value": "Countess"}])).unwrap();
    w.patch(&ada, deactivate()).unwrap();
    w.patch(&ada, json!([{"op": "replace", "path": "active", "value": true}])).unwrap();
    let group =
        id_of(&w.scim.create_group(&w.ctx, &json!({"displayName": "Ops", "members": [{"value": ada}]})).unwrap());
    w.patch_group(&group, json!([{"op": "add", "path": "members", "value": [{"value": w.plain.to_string()}]}]))
        .unwrap();
    w.scim.delete_group(&w.ctx, &group, None).unwrap();
    w.scim.delete_user(&w.ctx, &ada, None).unwrap();

    use AuditAction::*;
    assert_eq!(
        w.actions_since(start),
        [
            ScimUserCreated,
            ScimUserUpdated,
            ScimUserDeactivated,
            ScimUserReactivated,
            TeamCreated,
            TeamUpdated,
            TeamDeleted,
            ScimUserDeleted
        ]
    );
    let records = w.audit_since(start);
    for record in &records {
        assert_eq!((record.actor.kind(), record.actor.id()), ("scim", "scim".to_owned()), "{:?}", record.action);
        assert_eq!((record.org_id, record.meta.request_id.as_str()), (w.org, REQUEST_ID));
        let expected = if record.action.as_str().starts_with("team.") { ("team", &group) } else { ("member", &ada) };
        assert_eq!((record.target.kind, &record.target.id), expected, "{:?}", record.action);
    }
    let changes: Vec<Value> = records.iter().map(|r| r.changes.clone().into_value()).collect();
    assert_eq!(changes[1]["attributes_changed"]["to"], json!(["displayName"]), "names, not values");
    assert!(!changes[1].to_string().contains("Countess"));
    assert_eq!(changes[4]["members_added"]["to"], json!([ada]));
    assert_eq!(changes[5]["members_added"]["to"], json!([w.plain.to_string()]));
    let events = w.store.state().audit_events;
    let sealed: Vec<_> = events.iter().filter(|e| e.org_id == w.org).rev().take(records.len()).collect();
    assert!(sealed.iter().all(|e| e.actor_type == "scim" && e.actor_id == "scim"));
}

// ---------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------

#[test]
fn groups_are_created_listed_patched_and_deleted() {
    let w = world();
    let (ada, _) = w.create(&okta_user("ada@acme.test"));
    let (owner, plain) = (w.owner.to_string(), w.plain.to_string());
    let body = json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": "Engineering",
        "externalId": "okta-grp-1",
        "members": [{"value": ada, "display": "ada@acme.test"}, {"value": plain}],
    });
    let created = w.scim.create_group(&w.ctx, &body).unwrap();
    let id = id_of(&created);
    let team: TeamId = id.parse().unwrap();
    assert_eq!(created.json["schemas"], json!([GROUP_SCHEMA]));
    assert_eq!(
        (&created.json["displayName"], &created.json["externalId"]),
        (&json!("Engineering"), &json!("okta-grp-1"))
    );
    assert_eq!(
        created.json["members"],
        json!([
            {"value": plain, "$ref": format!("{BASE}/Users/{plain}"), "type": "User"},
            {"value": ada, "$ref": format!("{BASE}/Users/{ada}"), "type": "User"},
        ]),
        "in join order"
    );
    assert_eq!(created.location, format!("{BASE}/Groups/{id}"));
    assert_eq!(w.scim.get_group(&w.ctx, &id).unwrap(), created);
    let state = w.store.state();
    assert_eq!(state.teams[&team].name.as_str(), "Engineering");
    assert_eq!(state.teams[&team].external_id.as_deref(), Some("okta-grp-1"));
    assert!(state.team_members.iter().filter(|((t, _), _)| *t == team).all(|(_, (manager, _))| !manager));

    for filter in [r#"displayName eq "engineering""#, r#"externalId eq "okta-grp-1""#] {
        let page = w.scim.list_groups(&w.ctx, &query(filter)).unwrap();
        assert_eq!(ids(&page), vec![id.clone()], "{filter}");
    }
    assert_eq!(w.scim.list_groups(&w.ctx, &query(r#"displayName eq "Eng""#)).unwrap().total_results, 0);
    let lean = ListQuery { excluded_attributes: Some("members".into()), ..ListQuery::default() };
    let lean = w.scim.list_groups(&w.ctx, &lean).unwrap();
    assert_eq!(lean.resources[0]["displayName"], "Engineering");
    assert!(lean.resources[0].get("members").is_none());

    // Okta: remove by a value filter, add with a display name.
    let r = w
        .patch_group(
            &id,
            json!([
                {"op": "remove", "path": format!("members[value eq \"{plain}\"]")},
                {"op": "add", "path": "members", "value": [{"value": owner, "display": "owner@example.com"}]},
            ]),
        )
        .unwrap();
    assert_eq!(member_values(&r), vec![owner.clone(), ada.clone()]);
    // Entra ID: capitalised operations, removal by the values.
    let r = w.patch_group(&id, json!([{"op": "Remove", "path": "members", "value": [{"value": ada}]}])).unwrap();
    assert_eq!(member_values(&r), vec![owner.clone()]);
    let r = w
        .patch_group(
            &id,
            json!([
                {"op": "Add", "path": "members", "value": [{"value": plain}, {"value": owner}]},
                {"op": "Replace", "path": "displayName", "value": "Platform"},
            ]),
        )
        .unwrap();
    assert_eq!((member_values(&r), &r.json["displayName"]), (vec![owner.clone(), plain.clone()], &json!("Platform")));
    // A whole push of the membership.
    let r = w.patch_group(&id, json!([{"op": "replace", "path": "members", "value": [{"value": ada}]}])).unwrap();
    assert_eq!(member_values(&r), vec![ada.clone()]);
    let r = w.patch_group(&id, json!([{"op": "remove", "path": "members"}])).unwrap();
    assert!(r.json.get("members").is_none());
    let r = w
        .scim
        .replace_group(&w.ctx, &id, &json!({"displayName": "Platform", "members": [{"value": plain}]}), None)
        .unwrap();
    assert_eq!(member_values(&r), vec![plain.clone()]);
    assert!(r.json.get("externalId").is_none(), "PUT sets exactly what it carries");
    assert_eq!(w.store.state().teams[&team].name.as_str(), "Platform");

    let err = w.scim.create_group(&w.ctx, &json!({"displayName": "PLATFORM"})).unwrap_err();
    assert!(matches!(err, ScimFault::Uniqueness(_)), "{err:?}");
    w.patch_group(&id, json!([{"op": "add", "path": "externalId", "value": "okta-grp-1"}])).unwrap();
    let err = w.scim.create_group(&w.ctx, &json!({"displayName": "Other", "externalId": "okta-grp-1"})).unwrap_err();
    assert!(matches!(err, ScimFault::Uniqueness(_)), "{err:?}");

    let members_before = w.store.state().memberships.len();
    w.scim.delete_group(&w.ctx, &id, None).unwrap();
    assert!(matches!(w.scim.get_group(&w.ctx, &id), Err(ScimFault::NotFound(_))));
    let state = w.store.state();
    assert!(!state.teams.contains_key(&team) && !state.team_members.keys().any(|(t, _)| *t == team));
    assert_eq!(state.memberships.len(), members_before, "deleting a group removes nobody");
}

#[test]
fn a_group_holds_only_members_of_its_organization() {
    let w = world();
    let (_, _, ctx_b) = w.org_with_scim("boss", "Beta");
    let bob = id_of(&w.scim.create_user(&ctx_b, &okta_user("bob@beta.test")).unwrap());
    let group = id_of(&w.scim.create_group(&w.ctx, &json!({"displayName": "Ops"})).unwrap());
    let teams = w.store.state().teams.len();
    for member in [
        json!({"value": MemberId::generate().to_string()}),
        json!({"value": bob}),
        json!({"value": "x"}),
        json!({"value": w.plain.to_string(), "type": "Group"}),
    ] {
        let err = w.scim.create_group(&w.ctx, &json!({"displayName": "New", "members": [member.clone()]})).unwrap_err();
        assert!(matches!(err, ScimFault::InvalidValue(_)), "{member}: {err:?}");
        let err =
            w.patch_group(&group, json!([{"op": "add", "path": "members", "value": [member.clone()]}])).unwrap_err();
        assert!(matches!(err, ScimFault::InvalidValue(_)), "{member}: {err:?}");
    }
    assert_eq!(w.store.state().teams.len(), teams);
    assert!(w.scim.get_group(&w.ctx, &group).unwrap().json.get("members").is_none());
}

#[test]
fn okta_renames_a_group_with_its_own_id_in_the_value() {
    // Okta's SCIM 2.0 reference, "Update a specific Group name", sent with every change of
    // a pushed group's membership: a path-less replace whose value also carries the
    // (read-only) `id`, as a PUT body would.
    let w = world();
    let group = id_of(&w.scim.create_group(&w.ctx, &json!({"displayName": "Test SCIM"})).unwrap());
    let r = w.patch_group(&group, json!([{"op": "replace", "value": {"id": group, "displayName": "Test SCIMv2"}}]));
    assert_eq!(r.map(|r| r.json["displayName"].clone()), Ok(json!("Test SCIMv2")));
}

// ---------------------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------------------

#[test]
fn if_match_must_name_the_current_version() {
    let w = world();
    let created = w.scim.create_user(&w.ctx, &okta_user("ada@acme.test")).unwrap();
    let id = id_of(&created);
    let first = created.version.clone();
    let rename = patch(json!([{"op": "replace", "path": "displayName", "value": "A"}]));
    let second = w.scim.patch_user(&w.ctx, &id, &rename, Some(&first)).unwrap().version;
    assert_ne!(first, second);

    let stale = |r: Result<(), ScimFault>, current: &str| match r {
        Err(err @ ScimFault::VersionMismatch { .. }) => {
            err.status() == 412 && err == ScimFault::VersionMismatch { current: current.to_owned() }
        }
        _ => false,
    };
    assert!(stale(w.scim.patch_user(&w.ctx, &id, &rename, Some(&first)).map(drop), &second));
    assert!(stale(w.scim.replace_user(&w.ctx, &id, &okta_user("ada@acme.test"), Some(&first)).map(drop), &second));
    assert!(stale(w.scim.delete_user(&w.ctx, &id, Some(&first)), &second));
    assert_eq!(w.scim.get_user(&w.ctx, &id).unwrap().version, second, "nothing changed");
    let third = w.scim.patch_user(&w.ctx, &id, &rename, Some("*")).unwrap().version;
    let bare = third.trim_start_matches("W/");
    assert!(w.scim.delete_user(&w.ctx, &id, Some(bare)).is_ok(), "a strong spelling of the version matches");

    let group = w.scim.create_group(&w.ctx, &json!({"displayName": "Ops"})).unwrap();
    let gid = id_of(&group);
    let rename = patch(json!([{"op": "replace", "path": "displayName", "value": "Ops 2"}]));
    let next = w.scim.patch_group(&w.ctx, &gid, &rename, Some(&group.version)).unwrap().version;
    assert_ne!(next, group.version);
    assert!(stale(w.scim.patch_group(&w.ctx, &gid, &rename, Some(&group.version)).map(drop), &next));
    assert!(stale(
        w.scim.replace_group(&w.ctx, &gid, &json!({"displayName": "X"}), Some(&group.version)).map(drop),
        &next
    ));
    assert!(stale(w.scim.delete_group(&w.ctx, &gid, Some(&group.version)), &next));
    assert!(w.scim.delete_group(&w.ctx, &gid, Some(&next)).is_ok());
}

// ---------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------

#[test]
fn unfiltered_pages_follow_one_another_in_join_order() {
    let w = world();
    let made: Vec<String> = ["a", "b", "c"].iter().map(|n| w.create(&okta_user(&format!("{n}@acme.test"))).0).collect();
    let page = |scim: &ScimProvisioning<InMemoryStore>, start: i64| {
        let q = ListQuery { start_index: Some(start), count: Some(2), ..ListQuery::default() };
        scim.list_users(&w.ctx, &q).unwrap()
    };
    let first = page(&w.scim, 1);
    assert_eq!(
        (first.total_results, first.start_index, ids(&first)),
        (5, 1, vec![w.owner.to_string(), w.plain.to_string()])
    );
    let second = page(&w.scim, 3);
    assert_eq!(ids(&second), made[..2].to_vec());
    let third = page(&w.scim, 5);
    assert_eq!(ids(&third), made[2..].to_vec());
    assert_eq!(ListResponse::to_json(&third)["itemsPerPage"], 1);

    // A jump without a page before it is served by offset.
    let fresh = ScimProvisioning::new(w.store.clone(), w.clock.clone());
    assert_eq!(ids(&page(&fresh, 3)), made[..2].to_vec());
    let nothing = ListQuery { count: Some(0), ..ListQuery::default() };
    let nothing = w.scim.list_users(&w.ctx, &nothing).unwrap();
    assert_eq!((nothing.total_results, nothing.resources.len()), (5, 0));

    // The next page continues after the last one served, whatever was removed before it.
    let again = page(&w.scim, 1);
    assert_eq!(ids(&again), vec![w.owner.to_string(), w.plain.to_string()]);
    w.scim.delete_user(&w.ctx, &w.plain.to_string(), None).unwrap();
    assert_eq!(ids(&page(&w.scim, 3)), made[..2].to_vec());
}

// ---------------------------------------------------------------------------------------
// PATCH, through the use cases
// ---------------------------------------------------------------------------------------

#[test]
fn adding_to_an_absent_extension_attribute_creates_the_extension() {
    let w = world();
    let (id, _) = w.create(&okta_user("ada@acme.test"));
    let owner = w.owner.to_string();
    let r = w
        .patch(
            &id,
            json!([
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"},
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": owner}},
                {"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": 42}},
            ]),
        )
        .unwrap();
    assert_eq!(r.json["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    assert_eq!(
        r.json[ENTERPRISE_USER_SCHEMA],
        json!({"department": "R&D", "manager": {"value": owner}, "employeeNumber": "42"})
    );
    let found = w.list(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "r&d""#);
    assert_eq!(ids(&found), vec![id]);
}

#[test]
fn removing_what_is_absent_is_no_error() {
    let w = world();
    let created =
        w.scim.create_user(&w.ctx, &json!({"userName": "ada@acme.test", "name": {"givenName": "Ada"}})).unwrap();
    let id = id_of(&created);
    let r = w
        .patch(
            &id,
            json!([
                {"op": "remove", "path": "title"},
                {"op": "remove", "path": "phoneNumbers[type eq \"mobile\"]"},
                {"op": "remove", "path": "emails[type eq \"home\"].value"},
                {"op": "remove", "path": "name.middleName"},
                {"op": "remove", "path": "externalId"},
                {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
                {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
            ]),
        )
        .unwrap();
    assert_eq!(without_meta(&r), without_meta(&created));
    assert_eq!(r.json["schemas"], json!([USER_SCHEMA]), "no empty extension appears");

    // A retried removal of a group's member is no error either.
    let group = id_of(&w.scim.create_group(&w.ctx, &json!({"displayName": "Ops"})).unwrap());
    let gone = w.plain.to_string();
    for _ in 0..2 {
        w.patch_group(&group, json!([{"op": "remove", "path": format!("members[value eq \"{gone}\"]")}])).unwrap();
        w.patch_group(&group, json!([{"op": "Remove", "path": "members", "value": [{"value": gone}]}])).unwrap();
    }
}

#[test]
fn replacing_the_enterprise_extension_by_its_urn_sets_exactly_what_it_carries() {
    let w = world();
    let created = w.scim.create_user(&w.ctx, &entra_user()).unwrap();
    let id = id_of(&created);
    let r = w
        .patch(
            &id,
            json!([{
                "op": "replace",
                "path": ENTERPRISE_USER_SCHEMA,
                "value": {"schemas": [ENTERPRISE_USER_SCHEMA], "department": "Operations"},
            }]),
        )
        .unwrap();
    assert_eq!(r.json[ENTERPRISE_USER_SCHEMA], json!({"department": "Operations"}));
    let r = w.patch(&id, json!([{"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"costCenter": "7"}}])).unwrap();
    assert_eq!(r.json[ENTERPRISE_USER_SCHEMA], json!({"department": "Operations", "costCenter": "7"}), "add merges");
    let r = w.patch(&id, json!([{"op": "remove", "path": ENTERPRISE_USER_SCHEMA}])).unwrap();
    assert!(r.json.get(ENTERPRISE_USER_SCHEMA).is_none());
    assert_eq!(r.json["schemas"], json!([USER_SCHEMA]));
}

#[test]
fn a_work_email_path_creates_the_work_email_when_there_is_none() {
    let w = world();
    let body =
        json!({"userName": "ghopper", "emails": [{"value": "grace@home.test", "type": "home", "primary": true}]});
    let (id, member) = w.create(&body);
    let email = |w: &World| {
        let state = w.store.state();
        state.users[&state.memberships[&member].user_id].email.as_ref().map(|e| e.as_str().to_owned())
    };
    assert_eq!(email(&w).as_deref(), Some("grace@home.test"));

    let path = r#"emails[type eq "work"].value"#;
    let r = w.patch(&id, json!([{"op": "add", "path": path, "value": "grace@navy.test"}])).unwrap();
    assert_eq!(
        r.json["emails"],
        json!([{"value": "grace@home.test", "type": "home", "primary": true}, {"type": "work", "value": "grace@navy.test"}])
    );
    let r = w.patch(&id, json!([{"op": "Replace", "path": path, "value": "hopper@navy.test"}])).unwrap();
    assert_eq!(r.json["emails"][1], json!({"type": "work", "value": "hopper@navy.test"}), "replaced, not added");
    assert_eq!(r.json["emails"].as_array().map(Vec::len), Some(2));
    assert_eq!(email(&w).as_deref(), Some("grace@home.test"), "the primary address is the person's");

    w.patch(&id, json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).unwrap();
    assert_eq!(email(&w).as_deref(), Some("hopper@navy.test"));
    assert_eq!(ids(&w.list(r#"emails[type eq "work" and value eq "Hopper@Navy.test"]"#)), vec![id]);
}

#[test]
fn malformed_or_forbidden_operations_are_refused_with_their_scim_type() {
    let w = world();
    let created = w.scim.create_user(&w.ctx, &okta_user("ada@acme.test")).unwrap();
    let id = id_of(&created);
    let cases = [
        (json!([{"op": "remove"}]), "noTarget"),
        (json!([{"op": "replace", "path": "id", "value": "mem_x"}]), "mutability"),
        (json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]), "mutability"),
        (json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}]), "invalidPath"),
        (json!([{"op": "replace", "path": "name[givenName eq \"x\"]", "value": "x"}]), "invalidPath"),
        (json!([{"op": "merge", "path": "title", "value": "x"}]), "invalidSyntax"),
        (json!({"op": "replace"}), "invalidSyntax"),
        (json!([{"op": "replace", "path": "userName", "value": ["x"]}]), "invalidValue"),
        (json!([{"op": "replace", "path": "active", "value": "maybe"}]), "invalidValue"),
        (json!([{"op": "remove", "path": "userName"}]), "invalidValue"),
        (json!([{"op": "replace", "value": "not an object"}]), "invalidValue"),
    ];
    for (operations, scim_type) in cases {
        let err = w.patch(&id, operations.clone()).unwrap_err();
        assert_eq!((err.status(), err.scim_type()), (400, Some(scim_type)), "{operations}: {err:?}");
    }
    let many = Value::Array(vec![json!({"op": "replace", "path": "title", "value": "x"}); 1001]);
    assert_eq!(w.patch(&id, many).unwrap_err().scim_type(), Some("tooMany"));
    assert_eq!(w.scim.get_user(&w.ctx, &id).unwrap(), created, "nothing was written");
    // An attribute this service does not keep is ignored, as in a POST or PUT body.
    let ignored =
        w.patch(&id, json!([{"op": "replace", "path": "addresses[type eq \"work\"].formatted", "value": "x"}]));
    assert!(ignored.is_ok_and(|r| r.json.get("addresses").is_none()));
}

#[path = "group_roles_tests.rs"]
mod group_roles;

#[test]
fn an_address_outside_the_organization_s_verified_domains_is_never_linked() {
    // Otherwise any organization could pull anyone in by provisioning their address.
    let w = world();
    let (id, member) = w.create(&okta_user("victim@elsewhere.test"));
    let victim = Caller::user(identity("victim-sub", "victim@elsewhere.test"), RequestMeta::default());
    assert!(matches!(w.enter(&victim), Err(MemberError::Access(AccessError::NotFound(_)))));
    let state = w.store.state();
    assert!(state.users[&state.memberships[&member].user_id].subject.is_none(), "still unlinked");
    assert!(w.scim.get_user(&w.ctx, &id).is_ok());
}

#[test]
fn linking_keeps_what_the_person_already_holds_in_the_organization() {
    // The identity provider provisions the owner's own address, deactivated: linking must
    // neither suspend nor demote the owner.
    let w = world();
    let owner_email = "owner@acme.test";
    let (id, provisioned) = w.create(&json!({"userName": "boss", "emails": [{"value": owner_email}], "active": false}));
    let owner = Caller::user(identity("owner", owner_email), RequestMeta::default());
    let scope = w.enter(&owner).expect("the owner still gets in");
    assert_eq!(scope.membership.as_ref().map(|m| m.id), Some(provisioned), "the SCIM id is kept");
    let state = w.store.state();
    let merged = &state.memberships[&provisioned];
    assert!(merged.is_active_owner(), "role and suspension are the owner's own");
    assert!(!state.memberships.contains_key(&w.owner), "one membership left");
    assert_eq!(w.scim.get_user(&w.ctx, &id).unwrap().json["active"], true, "`active` tells the truth");
    let linked = w.store.audit().into_iter().find(|r| r.action == AuditAction::MemberLinked).unwrap();
    assert_eq!(linked.changes.clone().into_value()["replaced_member"]["to"], w.owner.to_string());
}
