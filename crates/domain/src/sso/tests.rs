//! SSO configuration rules over the in-memory store, with a fake secret box.

use std::sync::Arc;

use chrono::{Duration, Utc};

use super::certificate::tests::certificate;
use super::*;
use crate::apikey::{ApiKeyService, CreateApiKey};
use crate::audit::AuditAction;
use crate::context::Caller;
use crate::error::AccessError;
use crate::org::{CreateOrg, OrgRef, OrgService, Patch};
use crate::policy::Plan;
use crate::policy::Versioned;
use crate::testing::{caller, join, key_caller, CountingMinter, FakeBox, InMemoryStore};
use crate::time::SystemClock;

/// `put` as a plain save with an optional `If-Match`, answering the saved configuration.
trait PutVersioned {
    fn put_versioned(
        &self,
        caller: &Caller,
        org: &OrgRef,
        input: SsoInput,
        if_match: Option<i64>,
    ) -> Result<Versioned<SsoConfig>, SsoError>;
}

impl PutVersioned for SsoService<InMemoryStore> {
    fn put_versioned(
        &self,
        caller: &Caller,
        org: &OrgRef,
        input: SsoInput,
        if_match: Option<i64>,
    ) -> Result<Versioned<SsoConfig>, SsoError> {
        let mode = crate::policy::WriteMode { if_match, ..Default::default() };
        self.put(caller, org, input, mode).map(|write| write.policy)
    }
}

struct World {
    store: InMemoryStore,
    sso: SsoService<InMemoryStore>,
    org: OrgRef,
}

fn world(plan: Plan) -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    let orgs = OrgService::new(store.clone(), clock.clone()).with_default_plan(plan);
    let org = orgs.create(&caller("owner"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    join(&store, org, "admin", "admin");
    join(&store, org, "plain", "member");
    let sso = SsoService::new(store.clone(), clock, Arc::new(FakeBox { key_id: "k1".into() }));
    World { store, sso, org: OrgRef::Id(org) }
}

const SECRET: &str = "s3cr3t-client-secret-0123456789";

fn oidc(issuer: &str, secret: Patch<SecretText>) -> SsoInput {
    SsoInput {
        enabled: true,
        enforced: false,
        connection: Some(ConnectionInput::Oidc {
            issuer: issuer.into(),
            client_id: "orgd".into(),
            client_secret: secret,
        }),
    }
}

fn stored_secret(config: &SsoConfig) -> Option<&ClientSecret> {
    match &config.connection {
        Some(Connection::Oidc(oidc)) => oidc.client_secret.as_ref(),
        _ => None,
    }
}

#[test]
fn a_client_secret_is_sealed_kept_on_resave_and_cleared_by_null() {
    let w = world(Plan::Enterprise);
    let owner = caller("owner");
    let first = w
        .sso
        .put_versioned(
            &owner,
            &w.org,
            oidc("https://idp.example.com", Patch::Set(SecretText::new(SECRET.into()))),
            None,
        )
        .unwrap();
    assert_eq!(first.version, 1);
    let secret = stored_secret(&first.policy).unwrap();
    assert_eq!(secret.last_four.as_deref(), Some("6789"));
    assert!(!String::from_utf8_lossy(&secret.sealed.ciphertext).contains(SECRET), "stored encrypted");
    let OrgRef::Id(org_id) = w.org else { unreachable!() };
    assert_eq!(w.sso.client_secret(org_id).unwrap().as_deref(), Some(SECRET));

    // Saving the same form again without the secret keeps it, and changes nothing.
    let resaved = w.sso.put_versioned(&owner, &w.org, oidc("https://idp.example.com", Patch::Keep), Some(1)).unwrap();
    assert_eq!((resaved.version, stored_secret(&resaved.policy)), (1, Some(secret)));
    assert_eq!(w.store.audit().len(), 2, "org.created and one sso.config_updated");

    // Another issuer never inherits the secret.
    let moved = w.sso.put_versioned(&owner, &w.org, oidc("https://evil.example.com", Patch::Keep), None).unwrap_err();
    let SsoError::Invalid(invalid) = moved else { panic!("{moved:?}") };
    assert_eq!((invalid.0[0].field.as_str(), invalid.0[0].code), ("connection.client_secret", "required"));

    let cleared = w.sso.put_versioned(&owner, &w.org, oidc("https://idp.example.com", Patch::Clear), None).unwrap();
    assert_eq!((cleared.version, stored_secret(&cleared.policy)), (2, None));
    assert_eq!(w.sso.client_secret(org_id).unwrap(), None);
}

#[test]
fn the_audit_record_names_changed_fields_but_never_the_secret() {
    let w = world(Plan::Enterprise);
    let owner = caller("owner");
    w.sso
        .put_versioned(
            &owner,
            &w.org,
            oidc("https://idp.example.com", Patch::Set(SecretText::new(SECRET.into()))),
            None,
        )
        .unwrap();
    let now = Utc::now();
    let saml = SsoInput {
        enabled: true,
        enforced: true,
        connection: Some(ConnectionInput::Saml {
            idp_entity_id: "https://idp.example.com/saml".into(),
            sso_url: "https://idp.example.com/saml/sso".into(),
            certificate: certificate(now - Duration::days(1), now + Duration::days(10)),
        }),
    };
    let saved = w.sso.put_versioned(&owner, &w.org, saml, Some(1)).unwrap();
    let Some(Connection::Saml(saml)) = &saved.policy.connection else { panic!("saml") };
    assert!(saml.certificate.expires_soon(now));
    let records = w.store.audit();
    let actions: Vec<_> = records.iter().map(|r| r.action).collect();
    assert_eq!(&actions[1..], [AuditAction::SsoConfigUpdated, AuditAction::SsoConfigUpdated]);
    for record in &records {
        assert!(!record.changes.clone().into_value().to_string().contains(SECRET));
    }
    let first = records[1].changes.clone().into_value();
    assert_eq!(first["client_secret"]["to"], "changed");
    assert_eq!(first["issuer"]["to"], "https://idp.example.com");
    let second = records[2].changes.clone().into_value();
    assert_eq!(second["protocol"]["from"], "oidc");
    assert_eq!(second["enforced"]["to"], true);
    assert_eq!(second["client_secret"]["to"], "changed", "dropping the secret is a change of it");
    assert!(second.get("enabled").is_none(), "unchanged fields are left out");
}

#[test]
fn writes_need_a_person_with_sso_write_a_plan_with_sso_and_the_current_version() {
    let w = world(Plan::Free);
    let owner = caller("owner");
    let input = || oidc("https://idp.example.com", Patch::Set(SecretText::new(SECRET.into())));
    assert_eq!(
        w.sso.put_versioned(&owner, &w.org, input(), None).unwrap_err(),
        SsoError::Access(AccessError::FeatureNotInPlan { feature: "sso", plan: "free" })
    );
    assert_eq!(w.sso.get(&owner, &w.org).unwrap().version, 0, "reading is never gated");
    let off = SsoInput { enabled: false, ..input() };
    assert_eq!(
        w.sso.put_versioned(&owner, &w.org, off, None).unwrap().version,
        1,
        "a disabled connection needs no plan"
    );

    w.store.set_plan(&w.org, Plan::Enterprise);
    assert!(matches!(
        w.sso.put_versioned(&caller("plain"), &w.org, input(), None),
        Err(SsoError::Access(AccessError::Forbidden { permission: "sso:write" }))
    ));
    assert_eq!(w.sso.put_versioned(&caller("admin"), &w.org, input(), Some(1)).unwrap().version, 2);
    assert_eq!(
        w.sso.put_versioned(&owner, &w.org, input(), Some(1)).unwrap_err(),
        SsoError::VersionMismatch { expected: 1, current: 2 }
    );
    assert!(matches!(w.sso.get(&caller("stranger"), &w.org), Err(SsoError::Access(AccessError::NotFound(_)))));

    let keys = ApiKeyService::new(w.store.clone(), Arc::new(SystemClock), Arc::new(CountingMinter::default()));
    let all = vec!["sso:read".into(), "sso:write".into()];
    let key =
        keys.create(&owner, &w.org, CreateApiKey { name: "bot".into(), permissions: all, expires_at: None }).unwrap();
    assert!(w.sso.get(&key_caller(&key.token), &w.org).is_ok());
    assert_eq!(
        w.sso.put_versioned(&key_caller(&key.token), &w.org, input(), None).unwrap_err(),
        SsoError::Access(AccessError::UserRequired)
    );
}

#[test]
fn resealing_moves_every_secret_to_the_current_key() {
    let w = world(Plan::Enterprise);
    w.sso
        .put_versioned(
            &caller("owner"),
            &w.org,
            oidc("https://idp.example.com", Patch::Set(SecretText::new(SECRET.into()))),
            None,
        )
        .unwrap();
    let rotated = SsoService::new(w.store.clone(), Arc::new(SystemClock), Arc::new(FakeBox { key_id: "k2".into() }));
    assert_eq!(rotated.reseal_client_secrets(10), Ok(1));
    assert_eq!(rotated.reseal_client_secrets(10), Ok(0));
    let OrgRef::Id(org_id) = w.org else { unreachable!() };
    let stored = w.store.state().sso[&org_id].clone();
    assert_eq!(stored_secret(&stored.policy).map(|s| s.sealed.key_id.as_str()), Some("k2"));
    assert_eq!(rotated.client_secret(org_id).unwrap().as_deref(), Some(SECRET));
    assert_eq!(w.store.audit().len(), 2, "re-sealing changes no setting");
}

#[test]
fn a_kept_secret_is_written_back_under_the_current_key() {
    let w = world(Plan::Enterprise);
    let owner = caller("owner");
    let set = oidc("https://idp.example.com", Patch::Set(SecretText::new(SECRET.into())));
    w.sso.put_versioned(&owner, &w.org, set, None).unwrap();
    let rotated = SsoService::new(w.store.clone(), Arc::new(SystemClock), Arc::new(FakeBox { key_id: "k2".into() }));
    let resaved = rotated.put_versioned(&owner, &w.org, oidc("https://idp.example.com", Patch::Keep), None).unwrap();
    assert_eq!(stored_secret(&resaved.policy).map(|s| s.sealed.key_id.as_str()), Some("k2"));
    let OrgRef::Id(org_id) = w.org else { unreachable!() };
    assert_eq!(rotated.client_secret(org_id).unwrap().as_deref(), Some(SECRET));
}
