//! The SCIM 2.0 endpoints' use cases: what an organization's identity provider, holding
//! its SCIM token, may read and change of the organization's members and teams.
//!
//! Every request authenticates its token inside its own transaction, so a rotated token
//! or disabled provisioning refuses the very next request; every write locks the
//! organization first, so rules over several members (the last active owner) hold under
//! parallel requests; every change is recorded with actor `scim` in the same transaction.

mod groups;
mod roles;
mod users;

pub use users::MAX_USER_NAME_CHARS;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::fault::ScimFault;
use super::listing::{ListQuery, ListResponse, PageCursors};
use crate::audit::{Actor, AuditAction, AuditRecord, Changes, Target};
use crate::context::RequestMeta;
use crate::ids::OrgId;
use crate::store::{Store, Tx};
use crate::time::Clock;
use crate::token::LookupHashes;

/// Who is calling the SCIM endpoints and where they are served.
#[derive(Debug, Clone)]
pub struct ScimContext {
    /// The keyed hashes of the presented SCIM token.
    pub token_hashes: LookupHashes,
    /// The request the call came in.
    pub meta: RequestMeta,
    /// The absolute URL of the SCIM root (`https://…/scim/v2`), for `meta.location`.
    pub base_url: String,
}

/// A resource as a response shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimResource {
    /// The resource as SCIM JSON.
    pub json: Value,
    /// The weak `ETag`, also `meta.version`.
    pub version: String,
    /// The resource's URL, for `Location` and `meta.location`.
    pub location: String,
}

impl ScimResource {
    fn new(json: Value) -> Self {
        let text = |key: &str| json["meta"][key].as_str().unwrap_or_default().to_owned();
        Self { version: text("version"), location: text("location"), json }
    }
}

/// The SCIM use cases.
#[derive(Clone)]
pub struct ScimProvisioning<S> {
    store: S,
    clock: Arc<dyn Clock>,
    cursors: Arc<PageCursors>,
}

impl<S: Store> ScimProvisioning<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock, cursors: Arc::default() }
    }

    /// Checks the token; the organization it provisions.
    pub fn authenticate(&self, ctx: &ScimContext) -> Result<OrgId, ScimFault> {
        self.store.transaction(|tx| enter(tx, ctx, false))
    }

    /// `POST /.search` at the root: users, then groups.
    pub fn search_all(&self, ctx: &ScimContext, query: &ListQuery) -> Result<ListResponse, ScimFault> {
        let listing = query.parse()?;
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, false)?;
            let mut all = users::matching(tx, org, listing.filter.as_ref(), &ctx.base_url)?;
            all.extend(groups::matching(tx, org, &listing, &ctx.base_url)?);
            let mut page = ListResponse::slice(all, &listing);
            page.resources = page.resources.into_iter().map(|r| project_any(r, &listing.projection)).collect();
            Ok(page)
        })
    }
}

fn project_any(resource: Value, projection: &super::resource::Projection) -> Value {
    let is_group = resource["meta"]["resourceType"] == "Group";
    let schema = if is_group { &super::schema::GROUP_RESOURCE } else { &super::schema::USER_RESOURCE };
    projection.apply(resource, schema)
}

/// The organization the token provisions, locked for writing when `lock`.
fn enter(tx: &mut dyn Tx, ctx: &ScimContext, lock: bool) -> Result<OrgId, ScimFault> {
    let unauthorized = || ScimFault::Unauthorized("the SCIM token is unknown, rotated or disabled".into());
    let org = find_org(tx, &ctx.token_hashes)?.ok_or_else(unauthorized)?;
    if lock {
        tx.lock_org(org)?.ok_or_else(unauthorized)?;
        // A rotation or a disabling holds the same lock: once it is ours, the token must
        // still be the organization's.
        if tx.find_scim_org_by_token_hash(&ctx.token_hashes.current)? != Some(org) {
            return Err(unauthorized());
        }
    }
    Ok(org)
}

/// The organization whose provisioning is enabled with the presented token.
pub fn find_org(tx: &mut dyn Tx, token: &LookupHashes) -> Result<Option<OrgId>, crate::StoreError> {
    token.find(tx, |tx, hash| tx.find_scim_org_by_token_hash(hash), |tx, from, to| tx.rekey_scim_token(from, to))
}

/// Refuses a write whose `If-Match` names another version than `current`. `*` matches
/// any; weak and strong spellings of the same version match.
fn check_version(if_match: Option<&str>, current: &str) -> Result<(), ScimFault> {
    let Some(if_match) = if_match.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(()) };
    let bare = |v: &str| v.trim().trim_start_matches("W/").trim_matches('"').to_owned();
    if if_match == "*" || if_match.split(',').any(|v| bare(v) == bare(current)) {
        Ok(())
    } else {
        Err(ScimFault::VersionMismatch { current: current.to_owned() })
    }
}

fn audit(
    tx: &mut dyn Tx,
    org: OrgId,
    ctx: &ScimContext,
    action: AuditAction,
    target: Target,
    changes: Changes,
    now: DateTime<Utc>,
) -> Result<(), ScimFault> {
    let record = AuditRecord::new(org, &Actor::Scim, action, target, &ctx.meta, now).with_changes(changes);
    tx.append_audit(&record)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_version;

    #[test]
    fn if_match_compares_versions_weakly() {
        assert!(check_version(None, "W/\"1\"").is_ok());
        assert!(check_version(Some("*"), "W/\"1\"").is_ok());
        assert!(check_version(Some("\"1\""), "W/\"1\"").is_ok());
        assert!(check_version(Some("W/\"2\", W/\"1\""), "W/\"1\"").is_ok());
        assert!(check_version(Some("W/\"2\""), "W/\"1\"").is_err());
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod scenarios;
