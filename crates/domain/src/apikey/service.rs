use std::sync::Arc;

use super::model::{ApiKey, ApiKeyError, CreateApiKey, IssuedApiKey, SecretMinter};
use crate::access::{enter_org, read_in_org, Lock};
use crate::audit::{AuditAction, AuditRecord, Changes, Target};
use crate::authz::{parse_permissions, Permission};
use crate::context::Caller;
use crate::error::{AccessError, Invalid, ValueError};
use crate::ids::ApiKeyId;
use crate::org::OrgRef;
use crate::pagination::{Page, PageRequest};
use crate::store::Store;
use crate::time::Clock;

const NAME_MAX_CHARS: usize = 100;

fn parse_name(value: &str) -> Result<String, ValueError> {
    crate::text::display_name(value, NAME_MAX_CHARS, "a key name")
}

/// Use cases of organization API keys.
#[derive(Clone)]
pub struct ApiKeyService<S> {
    store: S,
    clock: Arc<dyn Clock>,
    minter: Arc<dyn SecretMinter>,
}

impl<S: Store> ApiKeyService<S> {
    /// The service over `store`, minting secrets with `minter` and reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>, minter: Arc<dyn SecretMinter>) -> Self {
        Self { store, clock, minter }
    }

    /// Creates a key with a subset of the creator's permissions; returns its secret once.
    /// Only people create keys, and a key never does more than its creator currently may.
    pub fn create(&self, caller: &Caller, org: &OrgRef, input: CreateApiKey) -> Result<IssuedApiKey, ApiKeyError> {
        let now = self.clock.now();
        let mut invalid = Invalid::default();
        let name = invalid.check("name", parse_name(&input.name));
        let permissions = parse_permissions(&mut invalid, "permissions", &input.permissions);
        if input.permissions.is_empty() {
            invalid.0.push(crate::FieldError::new("permissions", "required", "a key needs at least one permission"));
        }
        if input.expires_at.is_some_and(|at| at <= now) {
            invalid.0.push(crate::FieldError::new("expires_at", "in_the_past", "the expiry must be in the future"));
        }
        invalid.into_result()?;
        let Some(name) = name else { return Err(Invalid::field("name", "required", "a name is required").into()) };

        // A key answers for a person: keys minting keys would outlive every revocation.
        caller.identity()?;
        self.store.transaction(|tx| {
            let scope = enter_org::<ApiKeyError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::ApiKeysManage)?;
            scope.grant.may_grant(permissions)?;
            let secret = self.minter.mint_api_key();
            let key = ApiKey {
                id: ApiKeyId::generate(),
                org_id: scope.org.id,
                name,
                permissions,
                hint: secret.hint.clone(),
                created_by: scope.actor.clone(),
                created_at: now,
                expires_at: input.expires_at,
                last_used_at: None,
                last_used_ip: None,
                revoked_at: None,
            };
            tx.insert_api_key(&key, &secret.lookup_hash)?;
            let mut changes = Changes::new();
            changes.set("name", key.name.as_str());
            changes.set("permissions", key.permissions.iter().map(Permission::as_str).collect::<Vec<_>>());
            changes.set("expires_at", key.expires_at.map(|e| e.to_rfc3339()));
            let record = AuditRecord::new(
                key.org_id,
                &scope.actor,
                AuditAction::ApiKeyCreated,
                Target::new("api_key", key.id),
                &caller.meta,
                now,
            )
            .with_changes(changes);
            tx.append_audit(&record)?;
            Ok(IssuedApiKey { key, token: secret.token })
        })
    }

    /// The organization's API keys, newest first, revoked ones included; needs `api_keys:manage`.
    pub fn list(&self, caller: &Caller, org: &OrgRef, page: PageRequest) -> Result<Page<ApiKey>, ApiKeyError> {
        let now = self.clock.now();
        read_in_org(&self.store, caller, org, now, |tx, scope| {
            scope.grant.authorize(Permission::ApiKeysManage)?;
            Ok(tx.list_api_keys(scope.org.id, page)?)
        })
    }

    /// Revokes a key: it stops authenticating at once. Revoking a revoked key changes
    /// nothing and writes nothing.
    pub fn revoke(&self, caller: &Caller, org: &OrgRef, id: ApiKeyId) -> Result<(), ApiKeyError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<ApiKeyError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::ApiKeysManage)?;
            let key = tx.find_api_key(scope.org.id, id)?.ok_or(AccessError::NotFound("API key"))?;
            if key.revoked_at.is_some() {
                return Ok(());
            }
            tx.revoke_api_key(scope.org.id, id, now)?;
            let record = AuditRecord::new(
                key.org_id,
                &scope.actor,
                AuditAction::ApiKeyRevoked,
                Target::new("api_key", key.id),
                &caller.meta,
                now,
            );
            tx.append_audit(&record)?;
            Ok(())
        })
    }
}
