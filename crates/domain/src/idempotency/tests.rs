//! Replays, reuse and expiry over the in-memory store.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::store::Store;
use crate::testing::{FakeBox, InMemoryStore, ManualClock};

/// `begin` for a person's request.
trait BeginAsUser {
    fn begin_as_user(
        &self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
    ) -> Result<Begun, IdempotencyError>;
}

impl BeginAsUser for IdempotencyService<InMemoryStore> {
    fn begin_as_user(
        &self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
    ) -> Result<Begun, IdempotencyError> {
        self.begin(scope, key, fingerprint, &Presented::User)
    }
}

struct World {
    store: InMemoryStore,
    clock: Arc<ManualClock>,
    service: IdempotencyService<InMemoryStore>,
}

fn world() -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(ManualClock::at(Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap()));
    let service = IdempotencyService::new(store.clone(), clock.clone(), Arc::new(FakeBox { key_id: "k1".into() }));
    World { store, clock, service }
}

fn user(subject: &str) -> IdempotencyScope {
    IdempotencyScope::of_user(subject)
}

fn key(value: &str) -> IdempotencyKey {
    IdempotencyKey::parse(value).unwrap()
}

fn created(body: &str) -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![("content-type".into(), "application/json".into()), ("location".into(), "/v1/orgs/o".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn post(body: &str) -> Fingerprint {
    Fingerprint::of("POST", "/v1/orgs", body.as_bytes())
}

#[test]
fn a_kept_response_is_replayed_as_it_was_for_the_same_request() {
    let w = world();
    let (alice, k) = (user("alice"), key("k-1"));
    assert_eq!(w.service.begin_as_user(&alice, &k, &post("{}")).unwrap(), Begun::Fresh);
    w.service.keep(&alice, &k, &post("{}"), &created(r#"{"secret":"s3"}"#)).unwrap();
    assert_eq!(w.service.begin_as_user(&alice, &k, &post("{}")).unwrap(), Begun::Replay(created(r#"{"secret":"s3"}"#)));
}

#[test]
fn the_body_is_kept_sealed_and_bound_to_its_key() {
    let w = world();
    let (alice, k) = (user("alice"), key("k-1"));
    w.service.keep(&alice, &k, &post("{}"), &created(r#"{"secret":"s3"}"#)).unwrap();
    let state = w.store.state();
    let record = state.idempotency.values().next().unwrap();
    assert!(!record.body.ciphertext.windows(2).any(|w| w == b"s3"), "the secret is stored in the clear");
    // The same ciphertext under another key of the same caller does not open.
    let store = InMemoryStore::default();
    store
        .transaction::<_, crate::StoreError>(|tx| {
            tx.save_idempotency_record(&alice, &key("k-2"), record)?;
            Ok(())
        })
        .unwrap();
    let other = IdempotencyService::new(store, w.clock.clone(), Arc::new(FakeBox { key_id: "k1".into() }));
    assert!(matches!(other.begin_as_user(&alice, &key("k-2"), &post("{}")), Err(IdempotencyError::Store(_))));
}

#[test]
fn a_kept_response_is_not_for_a_credential_that_no_longer_authenticates() {
    let w = world();
    let (holder, k) = (IdempotencyScope::of_secret("api_key", "orgk_revoked"), key("k-1"));
    w.service.keep(&holder, &k, &post("{}"), &created("{}")).unwrap();
    // No key of the store hashes to this: revoked and purged, or never issued.
    let unknown = Presented::ApiKey(crate::token::LookupHashes::current(b"unknown".to_vec()));
    assert_eq!(w.service.begin(&holder, &k, &post("{}"), &unknown).unwrap(), Begun::Fresh);
    let unknown = Presented::ScimToken(crate::token::LookupHashes::current(b"unknown".to_vec()));
    assert_eq!(w.service.begin(&holder, &k, &post("{}"), &unknown).unwrap(), Begun::Fresh);
}

#[test]
fn the_same_key_for_another_request_is_refused() {
    let w = world();
    let (alice, k) = (user("alice"), key("k-1"));
    w.service.keep(&alice, &k, &post("{}"), &created("{}")).unwrap();
    assert_eq!(w.service.begin_as_user(&alice, &k, &post(r#"{"name":"x"}"#)), Err(IdempotencyError::Reused));
    let other_target = Fingerprint::of("POST", "/v1/orgs/o/teams", b"{}");
    assert_eq!(w.service.begin_as_user(&alice, &k, &other_target), Err(IdempotencyError::Reused));
}

#[test]
fn keys_are_per_caller() {
    let w = world();
    let k = key("k-1");
    w.service.keep(&user("alice"), &k, &post("{}"), &created("{}")).unwrap();
    assert_eq!(w.service.begin_as_user(&user("mallory"), &k, &post("{}")).unwrap(), Begun::Fresh);
    let api_key = IdempotencyScope::of_secret("api_key", "orgk_secret");
    assert_eq!(w.service.begin_as_user(&api_key, &k, &post("{}")).unwrap(), Begun::Fresh);
    assert_ne!(IdempotencyScope::of_secret("scim_token", "orgk_secret"), api_key);
    assert!(!api_key.as_str().contains("secret"), "a secret is not kept in the clear: {}", api_key.as_str());
}

#[test]
fn failures_are_not_kept_so_a_retry_runs_again() {
    let w = world();
    let (alice, k) = (user("alice"), key("k-1"));
    for status in [400, 409, 422, 500, 503] {
        let failed = StoredResponse { status, ..created("{}") };
        w.service.keep(&alice, &k, &post("{}"), &failed).unwrap();
        assert_eq!(w.service.begin_as_user(&alice, &k, &post("{}")).unwrap(), Begun::Fresh, "{status}");
    }
}

#[test]
fn a_kept_response_answers_for_a_day_then_is_swept() {
    let w = world();
    let (alice, k) = (user("alice"), key("k-1"));
    w.service.keep(&alice, &k, &post("{}"), &created("{}")).unwrap();
    w.clock.advance(Duration::hours(RETENTION_HOURS) - Duration::seconds(1));
    assert!(matches!(w.service.begin_as_user(&alice, &k, &post("{}")).unwrap(), Begun::Replay(_)));
    assert_eq!(w.service.sweep(10).unwrap(), 0);
    w.clock.advance(Duration::seconds(2));
    assert_eq!(w.service.begin_as_user(&alice, &k, &post(r#"{"other":1}"#)).unwrap(), Begun::Fresh);
    assert_eq!(w.service.sweep(10).unwrap(), 1);
    assert!(w.store.state().idempotency.is_empty());
}

#[test]
fn sweeping_goes_batch_by_batch_until_done() {
    let w = world();
    for i in 0..25 {
        w.service.keep(&user("alice"), &key(&format!("k-{i}")), &post("{}"), &created("{}")).unwrap();
    }
    w.clock.advance(Duration::hours(RETENTION_HOURS + 1));
    assert_eq!(w.service.sweep(10).unwrap(), 25);
}

#[test]
fn keys_are_visible_ascii_quoted_or_bare() {
    assert_eq!(key("\"8e03978e-40d5\"").as_str(), "8e03978e-40d5");
    assert_eq!(key("8e03978e-40d5").as_str(), "8e03978e-40d5");
    assert!(IdempotencyKey::parse(&"a".repeat(MAX_KEY_CHARS)).is_ok());
    for bad in ["", "\"\"", "\"open", "a b", "a\u{0}b", "é", "a\\b", "a\"b", "\t", &"a".repeat(MAX_KEY_CHARS + 1)] {
        assert_eq!(IdempotencyKey::parse(bad), Err(InvalidIdempotencyKey), "{bad:?}");
    }
}

#[test]
fn fingerprints_separate_method_target_and_body() {
    assert_eq!(Fingerprint::of("POST", "/a", b"{}"), Fingerprint::of("POST", "/a", b"{}"));
    assert_ne!(Fingerprint::of("POST", "/a", b"{}"), Fingerprint::of("PUT", "/a", b"{}"));
    assert_ne!(Fingerprint::of("POST", "/a", b"{}"), Fingerprint::of("POST", "/a?x=1", b"{}"));
    // Moving bytes between target and body is another request.
    assert_ne!(Fingerprint::of("POST", "/ab", b"c"), Fingerprint::of("POST", "/a", b"bc"));
}
