//! Claiming, verifying and re-verifying domains, against in-memory fakes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::apikey::{ApiKeyService, CreateApiKey};
use crate::audit::{Actor, AuditAction};
use crate::authz::{Permission, RoleKey};
use crate::error::AccessError;
use crate::ids::{OrgId, UserId};
use crate::org::{CreateOrg, OrgRef, OrgService, Patch};
use crate::policy::LockoutRefusal;
use crate::policy::{Plan, PolicyRefusal, SignInMethod, WriteMode};
use crate::role::{CreateRole, RoleService};
use crate::sso::{ConnectionInput, SealError, Sealed, SecretBox, SsoInput, SsoService};
use crate::testing::{caller, identity, join, key_caller, person, CountingMinter, InMemoryStore};
use crate::time::{Clock, SystemClock};
use crate::{Caller, RequestMeta, Store};

/// A clock that stands still until told to move.
struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn new() -> Self {
        Self(Mutex::new(SystemClock.now()))
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// What happens while the next lookup is in flight (another request, another worker).
type Meanwhile = Box<dyn FnOnce() + Send>;

/// TXT records by name; a name never set has none (an authoritative empty answer).
#[derive(Default)]
struct FakeDns {
    answers: Mutex<HashMap<String, Result<Vec<String>, DnsError>>>,
    lookups: Mutex<Vec<String>>,
    meanwhile: Mutex<Option<Meanwhile>>,
}

impl FakeDns {
    fn answer(&self, name: &str, answer: Result<Vec<String>, DnsError>) {
        self.answers.lock().unwrap().insert(name.to_owned(), answer);
    }

    /// Publishes the record proving `claim` (alone at its name).
    fn publish(&self, claim: &OrgDomain) {
        self.answer(&claim.record_name(), Ok(vec![claim.record_value()]));
    }

    fn lookups(&self) -> Vec<String> {
        self.lookups.lock().unwrap().clone()
    }

    /// Runs `work` during the next lookup, before it answers.
    fn meanwhile(&self, work: impl FnOnce() + Send + 'static) {
        *self.meanwhile.lock().unwrap() = Some(Box::new(work));
    }
}

impl TxtResolver for FakeDns {
    fn txt_records(&self, name: &str) -> Result<Vec<String>, DnsError> {
        self.lookups.lock().unwrap().push(name.to_owned());
        let meanwhile = self.meanwhile.lock().unwrap().take();
        if let Some(work) = meanwhile {
            work();
        }
        self.answers.lock().unwrap().get(name).cloned().unwrap_or(Ok(Vec::new()))
    }
}

/// Never asked to seal anything: the OIDC connections here have no client secret.
struct NoSecrets;

impl SecretBox for NoSecrets {
    fn seal(&self, plaintext: &[u8], _context: &[u8]) -> Result<Sealed, SealError> {
        Ok(Sealed { key_id: "k".into(), ciphertext: plaintext.to_vec() })
    }

    fn open(&self, sealed: &Sealed, _context: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(sealed.ciphertext.clone())
    }

    fn current_key_id(&self) -> &str {
        "k"
    }
}

struct World {
    store: InMemoryStore,
    clock: Arc<TestClock>,
    dns: Arc<FakeDns>,
    domains: DomainService<InMemoryStore>,
    recheck: DomainRecheck<InMemoryStore>,
    orgs: OrgService<InMemoryStore>,
    org: OrgRef,
    org_id: OrgId,
}

/// The owner of Acme: `owner@acme.com`, signed in by password.
fn owner() -> Caller {
    person("owner", "owner@acme.com", true)
}

/// Acme, on the enterprise plan, with its owner, an admin and a plain member (both at
/// example.com).
fn world() -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(TestClock::new());
    let dns = Arc::new(FakeDns::default());
    let orgs = OrgService::new(store.clone(), clock.clone()).with_default_plan(Plan::Enterprise);
    let org_id = orgs.create(&owner(), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    join(&store, org_id, "admin", "admin");
    join(&store, org_id, "plain", "member");
    World {
        domains: DomainService::new(store.clone(), clock.clone(), dns.clone()),
        recheck: DomainRecheck::new(store.clone(), clock.clone(), dns.clone()),
        store,
        clock,
        dns,
        orgs,
        org: OrgRef::Id(org_id),
        org_id,
    }
}

impl World {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A second organization, owned by `subject`.
    fn other_org(&self, subject: &str, name: &str) -> OrgRef {
        let created =
            self.orgs.create(&caller(subject), CreateOrg { name: name.into(), ..Default::default() }).unwrap();
        OrgRef::Id(created.org.id)
    }

    /// Claims `name` for Acme, publishes its record and verifies it.
    fn verified(&self, name: &str) -> OrgDomain {
        let claim = self.domains.claim(&owner(), &self.org, name).unwrap();
        self.dns.publish(&claim);
        self.domains.verify(&owner(), &self.org, name, false).unwrap()
    }

    fn stored(&self, id: crate::ids::DomainId) -> OrgDomain {
        self.store.state().domains[&id].clone()
    }

    fn actions(&self) -> Vec<AuditAction> {
        self.store.audit().iter().map(|r| r.action).collect()
    }

    fn sso(&self) -> SsoService<InMemoryStore> {
        SsoService::new(self.store.clone(), self.clock.clone(), Arc::new(NoSecrets))
    }

    /// Turns SSO on and enforces it, over OIDC.
    fn enforce_sso(&self) {
        let input = SsoInput {
            enabled: true,
            enforced: true,
            connection: Some(ConnectionInput::Oidc {
                issuer: "https://idp.acme.com".into(),
                client_id: "orgd".into(),
                client_secret: Patch::Keep,
            }),
        };
        self.sso().put(&owner(), &self.org, input, WriteMode::default()).unwrap();
    }
}

fn user_id(store: &InMemoryStore, subject: &str) -> UserId {
    store.state().users.values().find(|u| u.subject.as_deref() == Some(subject)).unwrap().id
}

fn join_policy(policy: &str, role: Option<&str>) -> JoinPolicyInput {
    JoinPolicyInput { join_policy: policy.into(), role: role.map(str::to_owned), if_match: None }
}

fn invalid_field(err: DomainError) -> (String, &'static str) {
    let DomainError::Invalid(invalid) = err else { panic!("not Invalid: {err:?}") };
    (invalid.0[0].field.clone(), invalid.0[0].code)
}

// --- claiming ---

#[test]
fn a_claim_answers_the_txt_record_to_publish() {
    let w = world();
    let claim = w.domains.claim(&owner(), &w.org, "  ACME.com. ").unwrap();
    assert_eq!(claim.name.as_str(), "acme.com");
    assert_eq!(claim.org_id, w.org_id);
    assert_eq!(claim.record_name(), "_orgd-challenge.acme.com");
    assert!(!claim.challenge.is_empty());
    assert_eq!(claim.record_value(), format!("orgd-domain-verification={}", claim.challenge));
    assert_eq!(claim.status(w.now()), DomainStatus::Unverified);
    assert_eq!(claim.expires_at, Some(w.now() + Duration::days(7)));
    assert_eq!((claim.verified_at, claim.last_checked_at, &claim.join), (None, None, &JoinPolicy::Off));
    assert_eq!(w.stored(claim.id), claim);

    let audit = w.store.audit();
    let record = audit.last().unwrap();
    assert_eq!(record.action, AuditAction::DomainClaimed);
    assert_eq!(record.actor, Actor::User(user_id(&w.store, "owner")));
    let changes = record.changes.clone().into_value();
    assert_eq!(changes["domain"]["to"], "acme.com");
    assert_eq!(changes["record_name"]["to"], "_orgd-challenge.acme.com");

    // Found by name (any spelling) and by id.
    assert_eq!(w.domains.get(&owner(), &w.org, "Acme.COM").unwrap(), claim);
    assert_eq!(w.domains.get(&owner(), &w.org, &claim.id.to_string()).unwrap(), claim);
    assert_eq!(w.domains.list(&owner(), &w.org).unwrap(), vec![claim]);
}

#[test]
fn public_email_providers_and_public_suffixes_cannot_be_claimed() {
    let w = world();
    let before = w.store.audit().len();
    let gmail = w.domains.claim(&owner(), &w.org, "gmail.com").unwrap_err();
    assert_eq!(invalid_field(gmail), ("domain".to_owned(), "public_email_provider"));
    let sub = w.domains.claim(&owner(), &w.org, "mail.gmail.com").unwrap_err();
    assert_eq!(invalid_field(sub), ("domain".to_owned(), "public_email_provider"));
    let suffix = w.domains.claim(&owner(), &w.org, "co.uk").unwrap_err();
    assert_eq!(invalid_field(suffix), ("domain".to_owned(), "public_suffix"));
    let ip = w.domains.claim(&owner(), &w.org, "192.168.0.1").unwrap_err();
    assert_eq!(invalid_field(ip), ("domain".to_owned(), "invalid_domain"));
    assert!(w.store.state().domains.is_empty());
    assert_eq!(w.store.audit().len(), before);
}

#[test]
fn claiming_a_domain_twice_is_refused() {
    let w = world();
    let first = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    assert_eq!(
        w.domains.claim(&caller("admin"), &w.org, "ACME.COM").unwrap_err(),
        DomainError::AlreadyClaimed("acme.com".into())
    );
    // Claiming a verified one again is refused too.
    w.dns.publish(&first);
    w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap();
    assert_eq!(
        w.domains.claim(&owner(), &w.org, "acme.com").unwrap_err(),
        DomainError::AlreadyClaimed("acme.com".into())
    );
    assert_eq!(w.store.state().domains.len(), 1);
}

#[test]
fn an_organization_holds_at_most_fifty_domains() {
    let w = world();
    for n in 0..MAX_DOMAINS_PER_ORG {
        w.domains.claim(&owner(), &w.org, &format!("d{n}.acme.com")).unwrap();
    }
    assert_eq!(w.domains.claim(&owner(), &w.org, "one-more.acme.com").unwrap_err(), DomainError::TooMany);
}

#[test]
fn an_expired_claim_cannot_be_verified_and_is_renewed_with_a_new_challenge() {
    let w = world();
    let first = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&first);
    w.clock.advance(CLAIM_TTL + Duration::seconds(1));
    assert_eq!(w.stored(first.id).status(w.now()), DomainStatus::Expired);
    assert_eq!(
        w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap_err(),
        DomainError::ClaimExpired("acme.com".into()),
        "even with its record published"
    );
    assert!(w.dns.lookups().is_empty(), "an expired claim is not looked up");

    let renewed = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    assert_eq!(renewed.id, first.id, "the same claim, renewed");
    assert_ne!(renewed.challenge, first.challenge);
    assert_eq!(renewed.expires_at, Some(w.now() + CLAIM_TTL));
    assert_eq!(renewed.created_at, first.created_at);
    assert_eq!(renewed.status(w.now()), DomainStatus::Unverified);
    assert_eq!(w.store.state().domains.len(), 1);
    assert_eq!(w.stored(first.id), renewed);

    // The old record proves nothing any more; the new one does.
    assert!(matches!(
        w.domains.verify(&owner(), &w.org, "acme.com", false),
        Err(DomainError::VerificationFailed { .. })
    ));
    w.dns.publish(&renewed);
    assert!(w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap().is_verified());
}

#[test]
fn a_claim_expired_by_a_stored_date_is_refused_as_expired() {
    // The same as above, with the expiry written to the store rather than the clock moved.
    let w = world();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    let lapsed = OrgDomain { expires_at: Some(w.now() - Duration::seconds(1)), ..claim };
    w.store.transaction(|tx| tx.update_domain(&lapsed)).unwrap();
    assert_eq!(
        w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap_err(),
        DomainError::ClaimExpired("acme.com".into())
    );
    let renewed = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    assert_ne!(renewed.challenge, lapsed.challenge);
    assert_eq!(renewed.expires_at, Some(w.now() + CLAIM_TTL));
}

// --- verifying ---

#[test]
fn verifying_needs_the_record_and_then_verifies_with_an_audit_record() {
    let w = world();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();

    // Absent.
    let failed = w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap_err();
    assert_eq!(
        failed,
        DomainError::VerificationFailed {
            record_name: "_orgd-challenge.acme.com".into(),
            expected: claim.record_value(),
            found: vec![],
        }
    );
    // Something else there, or the value with another case, proves nothing.
    let wrong = vec!["v=spf1 -all".to_owned(), claim.record_value().to_uppercase()];
    w.dns.answer(&claim.record_name(), Ok(wrong.clone()));
    assert_eq!(
        w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap_err(),
        DomainError::VerificationFailed {
            record_name: claim.record_name(),
            expected: claim.record_value(),
            found: wrong
        }
    );
    assert_eq!(w.stored(claim.id), claim, "a failed verification changes nothing");
    assert!(!w.actions().contains(&AuditAction::DomainVerified));

    // Present among others, with surrounding whitespace.
    let found = vec!["v=spf1 -all".to_owned(), format!("  {} ", claim.record_value())];
    w.dns.answer(&claim.record_name(), Ok(found));
    w.clock.advance(Duration::minutes(5));
    let verified = w.domains.verify(&caller("admin"), &w.org, "acme.com", false).unwrap();
    assert_eq!(verified.status(w.now()), DomainStatus::Verified);
    assert_eq!((verified.verified_at, verified.expires_at), (Some(w.now()), None));
    assert_eq!(verified.last_checked_at, Some(w.now()));
    assert_eq!(verified.challenge, claim.challenge);
    assert_eq!(w.stored(claim.id), verified);
    let audit = w.store.audit();
    let record = audit.last().unwrap();
    assert_eq!(record.action, AuditAction::DomainVerified);
    assert_eq!(record.action.as_str(), "domain.verified");
    assert_eq!(record.actor, Actor::User(user_id(&w.store, "admin")));
    assert_eq!(record.changes.clone().into_value()["domain"]["to"], "acme.com");

    // Verifying again answers the domain as it is, without a lookup or a record.
    let lookups = w.dns.lookups().len();
    let audits = w.store.audit().len();
    assert_eq!(w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap(), verified);
    assert_eq!((w.dns.lookups().len(), w.store.audit().len()), (lookups, audits));
}

#[test]
fn a_dns_failure_is_unavailable_and_changes_nothing() {
    let w = world();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.answer(&claim.record_name(), Err(DnsError("SERVFAIL".into())));
    let before = w.store.state();
    assert_eq!(
        w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap_err(),
        DomainError::DnsUnavailable(DnsError("SERVFAIL".into()))
    );
    let after = w.store.state();
    assert_eq!(after.domains, before.domains);
    assert_eq!(after.audit.len(), before.audit.len());
}

#[test]
fn a_domain_is_verified_by_at_most_one_organization() {
    let w = world();
    let rival = w.other_org("rival", "Rival");
    let ours = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    // Claims are not exclusive: both hold one, each with its own challenge.
    let theirs = w.domains.claim(&caller("rival"), &rival, "acme.com").unwrap();
    assert_ne!(ours.challenge, theirs.challenge);

    // Both records are published at the same name.
    w.dns.answer(&ours.record_name(), Ok(vec![ours.record_value(), theirs.record_value()]));
    w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap();
    let refused = w.domains.verify(&caller("rival"), &rival, "acme.com", true).unwrap_err();
    assert_eq!(refused, DomainError::VerifiedElsewhere("acme.com".into()));
    assert!(refused.to_string().contains("another organization"));
    assert!(!w.stored(theirs.id).is_verified());
    assert!(w.stored(ours.id).is_verified());

    // And nobody else may claim it while it is verified here.
    let third = w.other_org("third", "Third");
    assert_eq!(
        w.domains.claim(&caller("third"), &third, "acme.com").unwrap_err(),
        DomainError::VerifiedElsewhere("acme.com".into())
    );
}

// --- who may ---

#[test]
fn a_plain_member_is_forbidden_and_an_outsider_finds_nothing() {
    let w = world();
    let forbidden = DomainError::Access(AccessError::Forbidden { permission: "security:update" });
    let plain = caller("plain");
    assert_eq!(w.domains.claim(&plain, &w.org, "acme.com").unwrap_err(), forbidden);
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&claim);
    assert_eq!(w.domains.verify(&plain, &w.org, "acme.com", false).unwrap_err(), forbidden);
    assert!(!w.stored(claim.id).is_verified());
    w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap();
    assert_eq!(
        w.domains.set_join_policy(&plain, &w.org, "acme.com", join_policy("suggest", None)).unwrap_err(),
        forbidden
    );
    assert_eq!(w.domains.release(&plain, &w.org, "acme.com").unwrap_err(), forbidden);
    assert_eq!(
        w.domains.list(&plain, &w.org).unwrap_err(),
        DomainError::Access(AccessError::Forbidden { permission: "security:read" })
    );

    let not_found = DomainError::Access(AccessError::NotFound("organization"));
    let stranger = caller("stranger");
    assert_eq!(w.domains.claim(&stranger, &w.org, "globex.com").unwrap_err(), not_found);
    assert_eq!(w.domains.verify(&stranger, &w.org, "acme.com", false).unwrap_err(), not_found);
    assert_eq!(w.domains.get(&stranger, &w.org, "acme.com").unwrap_err(), not_found);
    assert_eq!(
        w.domains.set_join_policy(&stranger, &w.org, "acme.com", join_policy("suggest", None)).unwrap_err(),
        not_found
    );

    // Another organization's domain is not found from here either.
    let rival = w.other_org("rival", "Rival");
    w.domains.claim(&caller("rival"), &rival, "globex.com").unwrap();
    assert_eq!(
        w.domains.get(&owner(), &w.org, "globex.com").unwrap_err(),
        DomainError::Access(AccessError::NotFound("domain"))
    );
}

#[test]
fn an_api_key_may_open_a_domain_but_not_admit_people_by_it() {
    let w = world();
    w.verified("acme.com");
    let keys = ApiKeyService::new(w.store.clone(), w.clock.clone(), Arc::new(CountingMinter::default()));
    let permissions =
        [Permission::SecurityRead, Permission::SecurityUpdate, Permission::MembersUpdate, Permission::OrgRead]
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
    let key =
        keys.create(&owner(), &w.org, CreateApiKey { name: "bot".into(), permissions, expires_at: None }).unwrap();
    let bot = key_caller(&key.token);
    assert_eq!(
        w.domains.set_join_policy(&bot, &w.org, "acme.com", join_policy("auto", Some("member"))).unwrap_err(),
        DomainError::Access(AccessError::UserRequired)
    );
    let suggested = w.domains.set_join_policy(&bot, &w.org, "acme.com", join_policy("suggest", None)).unwrap();
    assert_eq!(suggested.join, JoinPolicy::Suggest);
}

// --- join policy ---

#[test]
fn opening_an_unverified_domain_is_refused() {
    let w = world();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    let refused = DomainError::NotVerified("acme.com".into());
    assert_eq!(
        w.domains.set_join_policy(&owner(), &w.org, "acme.com", join_policy("suggest", None)).unwrap_err(),
        refused
    );
    assert_eq!(
        w.domains.set_join_policy(&owner(), &w.org, "acme.com", join_policy("auto", Some("member"))).unwrap_err(),
        refused
    );
    // `off` is always allowed, and changes nothing here.
    let off = w.domains.set_join_policy(&owner(), &w.org, "acme.com", join_policy("off", None)).unwrap();
    assert_eq!(off, claim);
}

#[test]
fn join_policy_input_is_validated() {
    let w = world();
    w.verified("acme.com");
    let set = |input| w.domains.set_join_policy(&owner(), &w.org, "acme.com", input).unwrap_err();
    assert_eq!(invalid_field(set(join_policy("auto", Some("owner")))), ("role".to_owned(), "owner_not_allowed"));
    assert_eq!(invalid_field(set(join_policy("auto", None))), ("role".to_owned(), "required"));
    assert_eq!(invalid_field(set(join_policy("suggest", Some("member")))), ("role".to_owned(), "role_without_auto"));
    assert_eq!(invalid_field(set(join_policy("everyone", None))), ("join_policy".to_owned(), "invalid_join_policy"));
    assert_eq!(invalid_field(set(join_policy("auto", Some("Not A Key")))), ("role".to_owned(), "invalid_format"));
    assert_eq!(set(join_policy("auto", Some("ghost"))), DomainError::UnknownRole("ghost".into()));
}

#[test]
fn auto_admission_needs_a_person_who_could_grant_the_role() {
    let w = world();
    w.verified("acme.com");
    let roles = RoleService::new(w.store.clone(), w.clock.clone());
    let everything = Permission::ALL.iter().map(|p| p.as_str().to_owned()).collect();
    roles
        .create(
            &owner(),
            &w.org,
            CreateRole {
                key: Some("superuser".into()),
                name: "Superuser".into(),
                description: None,
                permissions: everything,
            },
        )
        .unwrap();
    // An admin lacks what the role holds beyond admin.
    assert_eq!(
        w.domains
            .set_join_policy(&caller("admin"), &w.org, "acme.com", join_policy("auto", Some("superuser")))
            .unwrap_err(),
        DomainError::Access(AccessError::Escalation {
            missing: vec!["org:delete", "org:transfer_ownership", "scim:write"]
        })
    );
    // The owner holds it all.
    let set = w.domains.set_join_policy(&owner(), &w.org, "acme.com", join_policy("auto", Some("superuser"))).unwrap();
    assert_eq!(
        set.join,
        JoinPolicy::Auto { role: RoleKey::parse("superuser").unwrap(), set_by: user_id(&w.store, "owner") }
    );

    // The admin may admit as admin; the policy remembers who set it.
    let by_admin =
        w.domains.set_join_policy(&caller("admin"), &w.org, "acme.com", join_policy("auto", Some("admin"))).unwrap();
    assert_eq!(
        by_admin.join,
        JoinPolicy::Auto { role: RoleKey::parse("admin").unwrap(), set_by: user_id(&w.store, "admin") }
    );
    assert_eq!(w.stored(by_admin.id), by_admin);
    let audit = w.store.audit();
    let record = audit.last().unwrap();
    assert_eq!(record.action, AuditAction::DomainJoinPolicyUpdated);
    let changes = record.changes.clone().into_value();
    assert_eq!(changes["join"]["from"]["role"], "superuser");
    assert_eq!(changes["join"]["to"]["role"], "admin");
    assert_eq!(changes["join"]["to"]["join_policy"], "auto");

    // Setting the same policy again records nothing.
    let audits = w.store.audit().len();
    w.domains.set_join_policy(&caller("admin"), &w.org, "acme.com", join_policy("auto", Some("admin"))).unwrap();
    assert_eq!(w.store.audit().len(), audits);
}

// --- SSO enforcement ---

#[test]
fn verifying_under_enforced_sso_never_locks_out_every_owner() {
    let w = world();
    w.enforce_sso();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&claim);
    // The only owner is owner@acme.com, signed in by password, and is the caller. Once
    // acme.com is verified, its people must sign in through SSO: the caller's own next
    // request would be refused, and since the caller is the only owner (and the lock-out
    // rules count the calling owner as refused when their own request would be), every
    // owner is locked out. That is the stronger refusal and nothing overrides it, not
    // even `force`.
    assert_eq!(
        w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap_err(),
        DomainError::Lockout(LockoutRefusal::EveryOwner)
    );
    assert_eq!(
        w.domains.verify(&owner(), &w.org, "acme.com", true).unwrap_err(),
        DomainError::Lockout(LockoutRefusal::EveryOwner)
    );
    assert!(!w.stored(claim.id).is_verified());
    // An admin at another domain is no owner: the owners would still be locked out.
    assert_eq!(
        w.domains.verify(&caller("admin"), &w.org, "acme.com", true).unwrap_err(),
        DomainError::Lockout(LockoutRefusal::EveryOwner)
    );

    // Signed in through SSO, the owner is not held out.
    let mut via_sso = identity("owner", "owner@acme.com");
    via_sso.sign_in_method = Some(SignInMethod::Sso);
    let verified = w.domains.verify(&Caller::user(via_sso, RequestMeta::default()), &w.org, "acme.com", false).unwrap();
    assert!(verified.is_verified());
}

#[test]
fn verifying_under_enforced_sso_may_lock_out_the_caller_only_with_force() {
    let w = world();
    // A second owner at another domain keeps the organization reachable.
    join(&w.store, w.org_id, "co-owner", "owner");
    w.enforce_sso();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&claim);
    // The calling owner (owner@acme.com, by password) would be refused; the other owner
    // (co-owner@example.com) would not, so this is the caller's own lock-out.
    let acme = DomainName::parse("acme.com").unwrap();
    assert_eq!(
        w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap_err(),
        DomainError::Lockout(LockoutRefusal::Caller(PolicyRefusal::SsoRequired { domain: acme.clone() }))
    );
    assert!(!w.stored(claim.id).is_verified());

    let verified = w.domains.verify(&owner(), &w.org, "acme.com", true).unwrap();
    assert!(verified.is_verified());
    assert_eq!(w.actions().last(), Some(&AuditAction::DomainVerified));
    // The caller is now held to SSO like everyone at acme.com.
    assert_eq!(
        w.domains.list(&owner(), &w.org).unwrap_err(),
        DomainError::Access(AccessError::Policy(PolicyRefusal::SsoRequired { domain: acme }))
    );
    assert!(w.domains.list(&caller("co-owner"), &w.org).is_ok());
}

#[test]
fn without_enforced_sso_verifying_locks_nobody_out() {
    let w = world();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&claim);
    assert!(w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap().is_verified());
    assert!(w.domains.list(&owner(), &w.org).is_ok());
}

// --- re-verification ---

#[test]
fn a_vanished_record_unverifies_the_domain_and_tells_the_owners() {
    let w = world();
    // A second owner whose address is not verified is not emailed; an admin is no owner.
    join(&w.store, w.org_id, "co-owner", "owner");
    w.store
        .transaction(|tx| {
            crate::user::sync_user(
                tx,
                &identity_unverified("co-owner", "co-owner@acme.com"),
                &crate::context::RequestMeta::default(),
                w.now(),
            )
        })
        .unwrap();
    let verified = w.verified("acme.com");
    w.domains.set_join_policy(&owner(), &w.org, "acme.com", join_policy("suggest", None)).unwrap();
    let mail_before = w.store.outbox().len();

    w.dns.answer(&verified.record_name(), Ok(vec![]));
    w.clock.advance(RECHECK_EVERY + Duration::minutes(1));
    // Gone once proves little: nothing changes until it is still gone an hour later.
    assert_eq!(w.recheck.run_round(10).unwrap(), RecheckRound { missing: 1, ..Default::default() });
    assert!(w.stored(verified.id).is_verified());
    assert_eq!(w.store.outbox().len(), mail_before);
    w.clock.advance(Duration::minutes(30));
    assert_eq!(w.recheck.run_round(10).unwrap().handled(), 0, "not due again yet");
    w.clock.advance(Duration::minutes(31));
    let round = w.recheck.run_round(10).unwrap();
    assert_eq!(round, RecheckRound { lost: 1, ..Default::default() });
    assert_eq!(round.handled(), 1);

    let lost = w.stored(verified.id);
    assert_eq!(lost.status(w.now()), DomainStatus::Unverified);
    assert_eq!(lost.verified_at, None);
    assert_eq!(lost.expires_at, Some(w.now() + Duration::days(7)));
    assert_eq!(lost.last_checked_at, Some(w.now()));
    assert_eq!((lost.missing_since, lost.updated_at), (None, w.now()));
    assert_eq!(lost.challenge, verified.challenge, "the same record verifies it again");

    let audit = w.store.audit();
    let record = audit.last().unwrap();
    assert_eq!(record.action, AuditAction::DomainVerificationLost);
    assert_eq!(record.action.as_str(), "domain.verification_lost");
    assert_eq!(record.actor, Actor::System);
    assert_eq!(record.org_id, w.org_id);
    assert_eq!(record.changes.clone().into_value()["domain"]["to"], "acme.com");

    let mail = w.store.outbox();
    let sent = &mail[mail_before..];
    assert_eq!(sent.len(), 1, "one email per owner with a verified address");
    assert_eq!(sent[0].to.as_str(), "owner@acme.com");
    assert_eq!(sent[0].org_id, Some(w.org_id));
    assert!(sent[0].subject.contains("acme.com is no longer verified"), "{}", sent[0].subject);
    assert!(sent[0].text.contains(&verified.record_value()));

    // Unverified, it is no longer rechecked: the next round finds nothing.
    w.clock.advance(RECHECK_EVERY + Duration::minutes(1));
    assert_eq!(w.recheck.run_round(10).unwrap().handled(), 0);
    // Publishing the same record again verifies it again.
    w.dns.publish(&verified);
    assert!(w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap().is_verified());
}

fn identity_unverified(subject: &str, email: &str) -> crate::Identity {
    let mut id = identity(subject, email);
    id.email_verified = false;
    id
}

#[test]
fn a_dns_failure_on_recheck_keeps_the_domain_verified_and_retries_within_the_hour() {
    let w = world();
    let verified = w.verified("acme.com");
    w.dns.answer(&verified.record_name(), Err(DnsError("timeout".into())));
    w.clock.advance(RECHECK_EVERY + Duration::minutes(1));
    let audits = w.store.audit().len();
    let round = w.recheck.run_round(10).unwrap();
    assert_eq!((round.undecided, round.lost, round.still_verified), (1, 0, 0));
    assert_eq!(round.last_error.as_deref(), Some("acme.com: timeout"));
    let kept = w.stored(verified.id);
    assert!(kept.is_verified());
    assert_eq!(kept.verified_at, verified.verified_at);
    assert_eq!(kept.last_checked_at, Some(w.now() - RECHECK_EVERY + RETRY_AFTER_DNS_FAILURE));
    assert_eq!(w.store.audit().len(), audits);
    assert!(w.store.outbox().is_empty());

    // Not looked up again before the retry delay, then looked up again.
    let lookups = w.dns.lookups().len();
    w.clock.advance(Duration::minutes(30));
    assert_eq!(w.recheck.run_round(10).unwrap().handled(), 0);
    assert_eq!(w.dns.lookups().len(), lookups);
    w.clock.advance(Duration::minutes(31));
    w.dns.publish(&verified);
    assert_eq!(w.recheck.run_round(10).unwrap(), RecheckRound { still_verified: 1, ..Default::default() });
    assert_eq!(w.stored(verified.id).last_checked_at, Some(w.now()));
}

#[test]
fn a_domain_checked_within_a_day_is_not_looked_up() {
    let w = world();
    let verified = w.verified("acme.com");
    let lookups = w.dns.lookups().len();
    w.clock.advance(RECHECK_EVERY - Duration::minutes(1));
    assert_eq!(w.recheck.run_round(10).unwrap(), RecheckRound::default());
    assert_eq!(w.dns.lookups().len(), lookups, "no lookup");
    assert_eq!(w.stored(verified.id), verified);

    // Past the day it is looked up; still there, it stays verified with a new check time.
    w.clock.advance(Duration::minutes(2));
    assert_eq!(w.recheck.run_round(10).unwrap(), RecheckRound { still_verified: 1, ..Default::default() });
    assert_eq!(w.dns.lookups().len(), lookups + 1);
    let checked = w.stored(verified.id);
    assert_eq!((checked.verified_at, checked.last_checked_at), (verified.verified_at, Some(w.now())));
    assert!(w.store.outbox().is_empty());
}

#[test]
fn a_recheck_round_looks_at_most_a_batch_least_recently_checked_first() {
    let w = world();
    let first = w.verified("a.acme.com");
    w.clock.advance(Duration::minutes(1));
    let second = w.verified("b.acme.com");
    w.clock.advance(RECHECK_EVERY + Duration::minutes(5));
    assert_eq!(w.recheck.run_round(1).unwrap().still_verified, 1);
    assert_eq!(w.stored(first.id).last_checked_at, Some(w.now()));
    assert_eq!(w.stored(second.id).last_checked_at, second.last_checked_at);
    assert_eq!(w.recheck.run_round(1).unwrap().still_verified, 1);
    assert_eq!(w.stored(second.id).last_checked_at, Some(w.now()));
}

#[test]
fn a_claim_released_and_claimed_again_during_the_lookup_is_not_verified_by_the_stale_answer() {
    let w = world();
    let first = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&first);
    let (domains, org) = (w.domains.clone(), w.org);
    let again = Arc::new(Mutex::new(None));
    let slot = again.clone();
    w.dns.meanwhile(move || {
        domains.release(&owner(), &org, "acme.com").unwrap();
        *slot.lock().unwrap() = Some(domains.claim(&owner(), &org, "acme.com").unwrap());
    });
    assert_eq!(
        w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap_err(),
        DomainError::Access(AccessError::NotFound("domain"))
    );
    let again = again.lock().unwrap().clone().unwrap();
    assert_ne!(again.challenge, first.challenge);
    assert!(!w.stored(again.id).is_verified(), "the answer proved the released claim, not this one");
    assert!(!w.actions().contains(&AuditAction::DomainVerified));
}

#[test]
fn a_loss_seen_by_two_workers_is_reported_once() {
    let w = world();
    let verified = w.verified("acme.com");
    w.dns.answer(&verified.record_name(), Ok(vec![]));
    w.clock.advance(RECHECK_EVERY + Duration::minutes(1));
    assert_eq!(w.recheck.run_round(10).unwrap().missing, 1);
    w.clock.advance(CONFIRM_ABSENCE_AFTER + Duration::minutes(1));
    // Another worker runs a whole round while this one's lookup is in flight.
    let other = w.recheck.clone();
    let other_round = Arc::new(Mutex::new(None));
    let slot = other_round.clone();
    w.dns.meanwhile(move || *slot.lock().unwrap() = Some(other.run_round(10).unwrap()));
    let mail_before = w.store.outbox().len();

    let round = w.recheck.run_round(10).unwrap();
    assert_eq!(round.handled(), 0, "the other worker applied it first");
    assert_eq!(other_round.lock().unwrap().clone().unwrap().lost, 1);
    assert!(!w.stored(verified.id).is_verified());
    let lost = w.actions().iter().filter(|a| **a == AuditAction::DomainVerificationLost).count();
    assert_eq!(lost, 1);
    assert_eq!(w.store.outbox().len() - mail_before, 1);
}

#[test]
fn an_owner_held_out_by_sso_can_still_fix_its_domains_through_the_break_glass_path() {
    let w = world();
    join(&w.store, w.org_id, "co-owner", "owner");
    w.enforce_sso();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&claim);
    w.domains.verify(&owner(), &w.org, "acme.com", true).unwrap();
    let acme = DomainName::parse("acme.com").unwrap();
    assert_eq!(
        w.domains.get(&owner(), &w.org, "acme.com").unwrap_err(),
        DomainError::Access(AccessError::Policy(PolicyRefusal::SsoRequired { domain: acme }))
    );

    // A second factor proved just now lets the owner in to the domain routes, audited.
    let mut fresh = identity("owner", "owner@acme.com");
    fresh.auth_methods = vec!["pwd".into(), "otp".into()];
    fresh.auth_time = Some(w.now());
    let fresh = Caller::user(fresh, RequestMeta::default());
    let before = w.store.audit().len();
    w.domains.release(&fresh, &w.org, "acme.com").unwrap();
    let actions: Vec<_> = w.store.audit()[before..].iter().map(|r| r.action).collect();
    assert_eq!(actions, vec![AuditAction::BreakGlassUsed, AuditAction::DomainReleased]);
    // Released, acme.com holds nobody to SSO any more.
    assert!(w.domains.list(&owner(), &w.org).unwrap().is_empty());
    // Not for an admin, however fresh their second factor.
    let mut admin = identity("admin", "admin@acme.com");
    admin.auth_methods = vec!["pwd".into(), "otp".into()];
    admin.auth_time = Some(w.now());
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&claim);
    w.domains.verify(&owner(), &w.org, "acme.com", true).unwrap();
    assert!(matches!(
        w.domains.list(&Caller::user(admin, RequestMeta::default()), &w.org),
        Err(DomainError::Access(AccessError::Policy(PolicyRefusal::SsoRequired { .. })))
    ));
}

#[test]
fn one_verification_through_the_break_glass_path_is_audited_once() {
    let w = world();
    join(&w.store, w.org_id, "co-owner", "owner");
    w.enforce_sso();
    let acme = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&acme);
    w.domains.verify(&owner(), &w.org, "acme.com", true).unwrap();
    let mut fresh = identity("owner", "owner@acme.com");
    fresh.auth_methods = vec!["pwd".into(), "otp".into()];
    fresh.auth_time = Some(w.now());
    let fresh = Caller::user(fresh, RequestMeta::default());
    let claim = w.domains.claim(&fresh, &w.org, "acme.org").unwrap();
    w.dns.publish(&claim);
    // The owner is already held out (they came in through the break-glass path), so the
    // lock-out rules refuse even a domain that changes nothing for them, unless forced.
    assert_eq!(
        w.domains.verify(&fresh, &w.org, "acme.org", false).unwrap_err(),
        DomainError::Lockout(LockoutRefusal::Caller(PolicyRefusal::SsoRequired { domain: acme.name.clone() }))
    );
    let before = w.store.audit().len();
    w.domains.verify(&fresh, &w.org, "acme.org", true).unwrap();
    let actions: Vec<_> = w.store.audit()[before..].iter().map(|r| r.action).collect();
    assert_eq!(actions, vec![AuditAction::BreakGlassUsed, AuditAction::DomainVerified]);
}

#[test]
fn a_forced_self_lock_out_is_recorded_in_the_audit_log() {
    let w = world();
    join(&w.store, w.org_id, "co-owner", "owner");
    w.enforce_sso();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&claim);
    w.domains.verify(&owner(), &w.org, "acme.com", true).unwrap();
    let audit = w.store.audit();
    let record = audit.last().unwrap();
    assert_eq!(record.action, AuditAction::DomainVerified);
    assert_eq!(record.changes.clone().into_value()["forced"]["to"], serde_json::json!(true));
}

#[test]
fn a_record_back_before_the_second_look_keeps_the_domain_verified() {
    let w = world();
    let verified = w.verified("acme.com");
    w.dns.answer(&verified.record_name(), Ok(vec![]));
    w.clock.advance(RECHECK_EVERY + Duration::minutes(1));
    assert_eq!(w.recheck.run_round(10).unwrap().missing, 1);
    assert!(w.stored(verified.id).missing_since.is_some());
    w.dns.publish(&verified);
    w.clock.advance(CONFIRM_ABSENCE_AFTER + Duration::minutes(1));
    assert_eq!(w.recheck.run_round(10).unwrap(), RecheckRound { still_verified: 1, ..Default::default() });
    let kept = w.stored(verified.id);
    assert!(kept.is_verified());
    assert_eq!(kept.missing_since, None, "a later loss needs two looks again");
    assert!(!w.actions().contains(&AuditAction::DomainVerificationLost));
}

#[test]
fn a_claim_verified_by_another_request_during_the_lookup_is_verified_once() {
    let w = world();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&claim);
    let (domains, org) = (w.domains.clone(), w.org);
    w.dns.meanwhile(move || {
        domains.verify(&owner(), &org, "acme.com", false).unwrap();
    });
    w.clock.advance(Duration::minutes(1));
    let verified = w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap();
    assert!(verified.is_verified());
    let records = w.actions().iter().filter(|a| **a == AuditAction::DomainVerified).count();
    assert_eq!(records, 1, "one verification, one record");
}

#[test]
fn changing_a_domain_stamps_it() {
    let w = world();
    let claim = w.domains.claim(&owner(), &w.org, "acme.com").unwrap();
    w.dns.publish(&claim);
    w.clock.advance(Duration::minutes(5));
    let verified = w.domains.verify(&owner(), &w.org, "acme.com", false).unwrap();
    assert_eq!((verified.verified_at, verified.updated_at), (Some(w.now()), w.now()));
    assert_eq!(verified.created_at, claim.created_at);
    w.clock.advance(Duration::minutes(5));
    let opened = w.domains.set_join_policy(&owner(), &w.org, "acme.com", join_policy("suggest", None)).unwrap();
    assert_eq!(opened.updated_at, w.now());
    assert_eq!(w.stored(claim.id).updated_at, w.now());
}

#[test]
fn a_vanished_record_is_unverified_only_after_the_hour_whenever_it_is_looked_at() {
    let w = world();
    let verified = w.verified("acme.com");
    w.dns.answer(&verified.record_name(), Ok(vec![]));
    w.clock.advance(RECHECK_EVERY + Duration::minutes(1));
    assert_eq!(w.recheck.run_round(10).unwrap().missing, 1);
    // Due again at once (say, a clock change): still within the hour, still only missing.
    let marked = w.stored(verified.id);
    let due_now = OrgDomain { last_checked_at: Some(w.now() - RECHECK_EVERY - Duration::minutes(1)), ..marked };
    w.store.transaction(|tx| tx.update_domain(&due_now)).unwrap();
    w.clock.advance(Duration::minutes(10));
    assert_eq!(w.recheck.run_round(10).unwrap(), RecheckRound { missing: 1, ..Default::default() });
    let still = w.stored(verified.id);
    assert!(still.is_verified());
    assert_eq!(still.missing_since, marked.missing_since, "the first sighting counts");
}

#[test]
fn a_round_counts_each_outcome() {
    let w = world();
    let kept = w.verified("kept.com");
    let gone = w.verified("gone.com");
    let broken = w.verified("broken.com");
    w.dns.answer(&gone.record_name(), Ok(vec![]));
    w.dns.answer(&broken.record_name(), Err(DnsError("SERVFAIL".into())));
    w.clock.advance(RECHECK_EVERY + Duration::minutes(1));
    let round = w.recheck.run_round(10).unwrap();
    assert_eq!((round.still_verified, round.missing, round.lost, round.undecided), (1, 1, 0, 1));
    assert_eq!(round.handled(), 3);
    assert!(round.last_error.as_deref().is_some_and(|e| e.contains("broken.com")), "{round:?}");
    assert!(w.stored(kept.id).is_verified());
    assert_eq!(DomainStatus::Unverified.as_str(), "unverified");
    assert_eq!(DomainStatus::Verified.as_str(), "verified");
    assert_eq!(DomainStatus::Expired.as_str(), "expired");
}
