//! LLM policy use cases over the in-memory store.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::apikey::{ApiKeyService, CreateApiKey};
use crate::audit::AuditAction;
use crate::error::AccessError;
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::policy::Plan;
use crate::testing::{caller, join, key_caller, CountingMinter, InMemoryStore};
use crate::time::Clock;

struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn setup() -> (InMemoryStore, Arc<TestClock>, LlmService<InMemoryStore>, OrgRef) {
    let store = InMemoryStore::default();
    let clock = Arc::new(TestClock(Mutex::new(Utc::now())));
    let orgs = OrgService::new(store.clone(), clock.clone());
    let org = OrgRef::Id(
        orgs.create(&caller("owner"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id,
    );
    (store.clone(), clock.clone(), LlmService::new(store, clock), org)
}

fn only_openai() -> LlmPolicyInput {
    LlmPolicyInput { providers: vec!["openai".into()], ..Default::default() }
}

fn ask(provider: &str) -> LlmRequestInput {
    LlmRequestInput { provider: provider.into(), model: Some("gpt-4o".into()), ..Default::default() }
}

#[test]
fn a_written_policy_decides_at_once_here_and_is_audited() {
    let (store, _, llm, org) = setup();
    let owner = caller("owner");
    assert!(llm.check(&owner, &org, &ask("anthropic")).unwrap().0.admitted, "no policy: everything");
    let saved = llm.put(&owner, &org, &only_openai(), Some(0)).unwrap();
    assert_eq!(saved.version, 1);
    let (decision, version) = llm.check(&owner, &org, &ask("anthropic")).unwrap();
    assert_eq!(version, 1);
    assert_eq!((decision.admitted, decision.code), (false, "provider_not_allowed"));
    let records: Vec<_> = store.audit().into_iter().filter(|r| r.action == AuditAction::LlmPolicyUpdated).collect();
    assert_eq!(records.len(), 1);
    // Writing the same policy again changes nothing.
    assert_eq!(llm.put(&owner, &org, &only_openai(), None).unwrap().version, 1);
    assert_eq!(
        llm.put(&owner, &org, &LlmPolicyInput::default(), Some(0)).unwrap_err(),
        LlmError::VersionMismatch { expected: 0, current: 1 }
    );
}

#[test]
fn another_instance_sees_a_change_within_the_cache_lifetime() {
    let (store, clock, llm, org) = setup();
    let other_instance = LlmService::new(store, clock.clone());
    let owner = caller("owner");
    assert!(other_instance.check(&owner, &org, &ask("anthropic")).unwrap().0.admitted);
    llm.put(&owner, &org, &only_openai(), None).unwrap();
    // Still its cached copy…
    assert!(other_instance.check(&owner, &org, &ask("anthropic")).unwrap().0.admitted);
    // …until the copy is older than the cache's lifetime.
    *clock.0.lock().unwrap() += POLICY_CACHE_TTL;
    assert!(!other_instance.check(&owner, &org, &ask("anthropic")).unwrap().0.admitted);
    *clock.0.lock().unwrap() += Duration::milliseconds(1);
    assert!(!other_instance.check(&owner, &org, &ask("anthropic")).unwrap().0.admitted);
}

#[test]
fn members_read_and_check_admins_write_keys_need_llm_read() {
    let (store, _, llm, org) = setup();
    let OrgRef::Id(id) = org else { unreachable!() };
    join(&store, id, "plain", "member");
    join(&store, id, "admin", "admin");
    assert!(llm.get(&caller("plain"), &org).is_ok());
    assert!(llm.check(&caller("plain"), &org, &ask("openai")).is_ok());
    assert!(matches!(
        llm.put(&caller("plain"), &org, &only_openai(), None).unwrap_err(),
        LlmError::Access(AccessError::Forbidden { permission: "llm:update" })
    ));
    assert!(llm.put(&caller("admin"), &org, &only_openai(), None).is_ok());
    assert!(matches!(llm.get(&caller("stranger"), &org).unwrap_err(), LlmError::Access(AccessError::NotFound(_))));

    let keys =
        ApiKeyService::new(store.clone(), Arc::new(crate::time::SystemClock), Arc::new(CountingMinter::default()));
    let make = |permissions: Vec<String>| {
        let input = CreateApiKey { name: "gw".into(), permissions, expires_at: None };
        key_caller(&keys.create(&caller("owner"), &org, input).unwrap().token)
    };
    let gateway = make(vec!["llm:read".into()]);
    assert!(!llm.check(&gateway, &org, &ask("anthropic")).unwrap().0.admitted);
    let meter = make(vec!["usage:write".into()]);
    assert!(matches!(
        llm.check(&meter, &org, &ask("openai")).unwrap_err(),
        LlmError::Access(AccessError::Forbidden { permission: "llm:read" })
    ));
}

#[test]
fn writing_needs_the_plan_reading_never_does() {
    let (store, _, llm, org) = setup();
    let owner = caller("owner");
    llm.put(&owner, &org, &only_openai(), None).unwrap();
    store.set_plan(&org, Plan::Free);
    assert!(matches!(
        llm.put(&owner, &org, &LlmPolicyInput::default(), None).unwrap_err(),
        LlmError::Access(AccessError::FeatureNotInPlan { feature: "llm_policy", .. })
    ));
    assert_eq!(llm.get(&owner, &org).unwrap().version, 1);
    assert!(!llm.check(&owner, &org, &ask("anthropic")).unwrap().0.admitted);
}

#[test]
fn bad_requests_are_refused_before_anything_is_read() {
    let (_, _, llm, org) = setup();
    let input = LlmRequestInput { provider: " ".into(), requested_tokens: Some(0), ..Default::default() };
    let LlmError::Invalid(invalid) = llm.check(&caller("owner"), &org, &input).unwrap_err() else { panic!() };
    let fields: Vec<_> = invalid.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["provider", "requested_tokens"]);
}
