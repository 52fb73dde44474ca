//! SCIM settings and token rules over the in-memory store.

use std::sync::Arc;

use super::*;
use crate::apikey::{ApiKeyService, CreateApiKey};
use crate::audit::AuditAction;
use crate::error::AccessError;
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::policy::Plan;
use crate::testing::{caller, join, key_caller, CountingMinter, InMemoryStore};
use crate::time::SystemClock;
use crate::token::ScimToken;

struct World {
    store: InMemoryStore,
    scim: ScimService<InMemoryStore>,
    org: OrgRef,
    org_id: crate::ids::OrgId,
}

fn world(plan: Plan) -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    let orgs = OrgService::new(store.clone(), clock.clone()).with_default_plan(plan);
    let org_id = orgs.create(&caller("owner"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    join(&store, org_id, "admin", "admin");
    join(&store, org_id, "plain", "member");
    let scim = ScimService::new(store.clone(), clock, Arc::new(CountingMinter::default()));
    World { store, scim, org: OrgRef::Id(org_id), org_id }
}

fn token(write: &ScimWrite) -> ScimToken {
    ScimToken::parse(write.token.as_deref().unwrap()).unwrap()
}

#[test]
fn enabling_issues_a_token_that_authenticates_until_rotated_or_disabled() {
    let w = world(Plan::Enterprise);
    let owner = caller("owner");
    let enabled = w.scim.put(&owner, &w.org, true, false, None, None).unwrap();
    let first = token(&enabled);
    assert_eq!(enabled.config.version, 1);
    let stored = enabled.config.policy.token.as_ref().unwrap();
    assert_eq!(stored.hint, first.hint());
    assert_eq!(w.scim.authenticate_scim(&first), Ok(w.org_id));

    let again = w.scim.put(&owner, &w.org, true, false, None, Some(1)).unwrap();
    assert_eq!((again.config.version, again.token), (1, None), "nothing changed; the token is not shown again");

    let rotated = w.scim.put(&owner, &w.org, true, true, None, Some(1)).unwrap();
    let second = token(&rotated);
    assert_ne!(first, second);
    assert_eq!(w.scim.authenticate_scim(&first), Err(ScimError::Access(AccessError::Unauthenticated("unknown"))));
    assert_eq!(w.scim.authenticate_scim(&second), Ok(w.org_id));

    let disabled = w.scim.put(&owner, &w.org, false, false, None, None).unwrap();
    assert_eq!((disabled.config.policy.token.as_ref(), disabled.token.as_ref()), (None, None));
    assert!(w.scim.authenticate_scim(&second).is_err(), "disabling kills the token at once");

    let actions: Vec<_> = w.store.audit().iter().map(|r| r.action).collect();
    assert_eq!(
        &actions[1..],
        [AuditAction::ScimConfigUpdated, AuditAction::ScimTokenRotated, AuditAction::ScimConfigUpdated]
    );
    let changes: Vec<_> = w.store.audit().iter().map(|r| r.changes.clone().into_value()).collect();
    assert_eq!(
        (changes[1]["token"]["to"].as_str(), changes[1]["enabled"]["to"].as_bool()),
        (Some("issued"), Some(true))
    );
    assert_eq!(changes[2]["token"]["to"], "rotated");
    assert_eq!(changes[3]["token"]["to"], "revoked");
    for value in &changes {
        let text = value.to_string();
        assert!(!text.contains(first.expose()) && !text.contains(second.expose()), "{text}");
    }
}

#[test]
fn only_owners_who_are_people_write_and_only_on_a_plan_with_scim() {
    let w = world(Plan::Free);
    let owner = caller("owner");
    assert_eq!(
        w.scim.put(&owner, &w.org, true, true, None, None).unwrap_err(),
        ScimError::Access(AccessError::FeatureNotInPlan { feature: "scim", plan: "free" })
    );
    assert!(w.scim.get(&owner, &w.org).is_ok(), "reading is never gated");
    assert!(w.scim.put(&owner, &w.org, false, false, None, None).is_ok(), "disabling needs no plan");
    assert!(matches!(w.scim.put(&owner, &w.org, false, true, None, None), Err(ScimError::Invalid(_))));

    w.store.set_plan(&w.org, Plan::Enterprise);
    assert!(w.scim.get(&caller("admin"), &w.org).is_ok(), "admins read");
    for who in ["admin", "plain"] {
        assert_eq!(
            w.scim.put(&caller(who), &w.org, true, true, None, None).unwrap_err(),
            ScimError::Access(AccessError::Forbidden { permission: "scim:write" }),
            "{who}"
        );
    }
    let keys = ApiKeyService::new(w.store.clone(), Arc::new(SystemClock), Arc::new(CountingMinter::default()));
    let input = CreateApiKey { name: "bot".into(), permissions: vec!["scim:read".into()], expires_at: None };
    let key = keys.create(&owner, &w.org, input).unwrap();
    assert!(w.scim.get(&key_caller(&key.token), &w.org).is_ok());
    assert_eq!(
        w.scim.put(&key_caller(&key.token), &w.org, true, true, None, None).unwrap_err(),
        ScimError::Access(AccessError::UserRequired)
    );
}

#[test]
fn a_deleted_organization_s_token_names_nothing() {
    let w = world(Plan::Enterprise);
    let issued = w.scim.put(&caller("owner"), &w.org, true, false, None, None).unwrap();
    let orgs = OrgService::new(w.store.clone(), Arc::new(SystemClock));
    orgs.delete(&caller("owner"), &w.org).unwrap();
    assert!(w.scim.authenticate_scim(&token(&issued)).is_err());
}
