//! The SSO and SCIM adapters on PostgreSQL: client secrets stored encrypted and moved to a
//! new key after a rotation, SCIM tokens found by their keyed hash.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use infra::sealing::AeadSecretBox;
use infra::secrets::SecretHasher;
use infra::test_db::TestDatabase;
use infra::PgStore;
use orgd_domain::org::{CreateOrg, OrgRef, OrgService, Patch};
use orgd_domain::scim::ScimService;
use orgd_domain::sso::{ConnectionInput, SecretText, SsoInput, SsoService};
use orgd_domain::time::SystemClock;
use orgd_domain::token::ScimToken;
use orgd_domain::{Caller, Identity, RequestMeta};

fn owner() -> Caller {
    let identity = Identity {
        subject: "owner".into(),
        email: Some("owner@example.com".into()),
        email_verified: true,
        name: None,
        auth_methods: vec!["pwd".into()],
        auth_time: None,
        sign_in_method: None,
        staff: None,
    };
    Caller::user(identity, RequestMeta::default())
}

fn org(store: &PgStore) -> OrgRef {
    let orgs = OrgService::new(store.clone(), Arc::new(SystemClock));
    OrgRef::Id(orgs.create(&owner(), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id)
}

const OLD: [u8; 32] = [1; 32];
const NEW: [u8; 32] = [2; 32];
const SECRET: &str = "a-client-secret-0123456789";

#[test]
fn a_client_secret_is_stored_encrypted_and_survives_a_key_rotation() {
    let db = TestDatabase::create();
    let store = PgStore::new(db.url(), 2, std::time::Duration::from_secs(5));
    let org = org(&store);
    let OrgRef::Id(org_id) = org else { unreachable!() };
    let before = SsoService::new(store.clone(), Arc::new(SystemClock), Arc::new(AeadSecretBox::new(&OLD, None)));
    let input = SsoInput {
        enabled: true,
        enforced: false,
        connection: Some(ConnectionInput::Oidc {
            issuer: "https://idp.example.com".into(),
            client_id: "orgd".into(),
            client_secret: Patch::Set(SecretText::new(SECRET.into())),
        }),
    };
    before.put(&owner(), &org, input, Default::default()).unwrap();
    let hex: String = SECRET.bytes().map(|b| format!("{b:02x}")).collect();
    let stored_encrypted = format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM sso_configs WHERE oidc_client_secret IS NOT NULL) \
         OR EXISTS (SELECT 1 FROM sso_configs WHERE position('\\x{hex}'::bytea IN oidc_client_secret) > 0) \
         THEN RAISE EXCEPTION 'the client secret is not stored encrypted'; END IF; END $$"
    );
    db.execute(&stored_encrypted).unwrap();

    let rotated = SsoService::new(store.clone(), Arc::new(SystemClock), Arc::new(AeadSecretBox::new(&NEW, Some(&OLD))));
    assert_eq!(rotated.client_secret(org_id).unwrap().as_deref(), Some(SECRET), "the previous key still opens it");
    assert_eq!(rotated.reseal_client_secrets(10).unwrap(), 1);
    assert_eq!(rotated.reseal_client_secrets(10).unwrap(), 0);
    let retired = SsoService::new(store.clone(), Arc::new(SystemClock), Arc::new(AeadSecretBox::new(&NEW, None)));
    assert_eq!(retired.client_secret(org_id).unwrap().as_deref(), Some(SECRET), "re-sealed under the new key");
    assert!(before.client_secret(org_id).is_err(), "the old key alone no longer opens it");
}

#[test]
fn a_scim_token_is_found_by_its_hash_until_rotated_disabled_or_its_org_deleted() {
    let db = TestDatabase::create();
    let store = PgStore::new(db.url(), 2, std::time::Duration::from_secs(5));
    let org = org(&store);
    let OrgRef::Id(org_id) = org else { unreachable!() };
    let scim = ScimService::new(store.clone(), Arc::new(SystemClock), Arc::new(SecretHasher::new(b"server key")));
    let issued = scim.put(&owner(), &org, true, false, None, None).unwrap();
    let first = ScimToken::parse(issued.token.as_deref().unwrap()).unwrap();
    assert_eq!(scim.authenticate_scim(&first), Ok(org_id));
    let other_server =
        ScimService::new(store.clone(), Arc::new(SystemClock), Arc::new(SecretHasher::new(b"other key")));
    assert!(other_server.authenticate_scim(&first).is_err(), "the hash is keyed");

    let rotated = scim.put(&owner(), &org, true, true, None, None).unwrap();
    let second = ScimToken::parse(rotated.token.as_deref().unwrap()).unwrap();
    assert!(scim.authenticate_scim(&first).is_err());
    assert_eq!(scim.authenticate_scim(&second), Ok(org_id));

    db.execute(&format!("UPDATE organizations SET deleted_at = now() WHERE id = '{}'", org_id.as_uuid())).unwrap();
    assert!(scim.authenticate_scim(&second).is_err(), "a deleted organization provisions nothing");
    db.execute(&format!("UPDATE organizations SET deleted_at = NULL WHERE id = '{}'", org_id.as_uuid())).unwrap();
    scim.put(&owner(), &org, false, false, None, None).unwrap();
    assert!(scim.authenticate_scim(&second).is_err(), "disabling revokes it");
}
