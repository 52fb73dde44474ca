use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::error::OrgError;
use super::model::{CreateOrg, MyOrg, OrgRef, OrgView, Organization, Patch, UpdateOrg};
use super::values::{DomainName, LogoUrl, OrgName, PostalAddress, PostalAddressInput, Slug, TimeZone};
use crate::access::{enter_org, member_grant, read_cached, read_in_org, Lock, OrgScope};
use crate::audit::{Actor, AuditAction, AuditRecord, Changes, Target};
use crate::authz::{Permission, RoleKey};
use crate::context::Caller;
use crate::error::{AccessError, Invalid, ValueError};
use crate::ids::{OrgId, UserId};
use crate::member::{MemberWriteError, Membership};
use crate::pagination::{Page, PageRequest};
use crate::policy::Plan;
use crate::store::{Store, Tx};
use crate::time::Clock;
use crate::user::sync_user;

/// Use cases of organizations.
#[derive(Clone)]
pub struct OrgService<S> {
    store: S,
    clock: Arc<dyn Clock>,
    default_plan: Plan,
}

/// Validated optional fields shared by create and update.
struct Profile {
    domain: Option<DomainName>,
    logo_url: Option<LogoUrl>,
    timezone: Option<TimeZone>,
    address: Option<PostalAddress>,
}

fn parse_optional<T>(
    invalid: &mut Invalid,
    field: &str,
    value: Option<&str>,
    parse: fn(&str) -> Result<T, ValueError>,
) -> Option<T> {
    value.and_then(|v| invalid.check(field, parse(v)))
}

fn parse_address(invalid: &mut Invalid, input: Option<PostalAddressInput>) -> Option<PostalAddress> {
    input.and_then(|a| PostalAddress::parse("address", a).map_err(|e| invalid.0.extend(e.0)).ok())
}

fn audit_view(org: &Organization) -> [(&'static str, Value); 7] {
    let opt = |v: Option<&str>| v.map_or(Value::Null, Value::from);
    let address = org.address.as_ref().map_or(Value::Null, |a| {
        serde_json::json!({
            "line1": a.line1, "line2": a.line2, "city": a.city, "region": a.region,
            "postal_code": a.postal_code, "country": a.country,
        })
    });
    [
        ("name", Value::from(org.name.as_str())),
        ("slug", Value::from(org.slug.as_str())),
        ("domain", opt(org.domain.as_ref().map(DomainName::as_str))),
        ("logo_url", opt(org.logo_url.as_ref().map(LogoUrl::as_str))),
        ("timezone", opt(org.timezone.map(|t| t.as_str()))),
        ("address", address),
        ("version", Value::from(org.version)),
    ]
}

impl<S: Store> OrgService<S> {
    /// The service over `store`, reading time from `clock`; new organizations get the default
    /// plan.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock, default_plan: Plan::default() }
    }

    /// The plan new organizations start on.
    pub fn with_default_plan(self, default_plan: Plan) -> Self {
        Self { default_plan, ..self }
    }

    /// Creates an organization; the caller becomes its owner.
    pub fn create(&self, caller: &Caller, input: CreateOrg) -> Result<MyOrg, OrgError> {
        let mut invalid = Invalid::default();
        let name = invalid.check("name", OrgName::parse(&input.name));
        let slug = parse_optional(&mut invalid, "slug", input.slug.as_deref(), Slug::parse);
        let profile = Profile {
            domain: parse_optional(&mut invalid, "domain", input.domain.as_deref(), DomainName::parse),
            logo_url: parse_optional(&mut invalid, "logo_url", input.logo_url.as_deref(), LogoUrl::parse),
            timezone: parse_optional(&mut invalid, "timezone", input.timezone.as_deref(), TimeZone::parse),
            address: parse_address(&mut invalid, input.address),
        };
        invalid.into_result()?;
        let Some(name) = name else {
            return Err(Invalid::field("name", "required", "a name is required").into());
        };
        let now = self.clock.now();

        self.store.transaction(|tx| {
            let user = sync_user(tx, caller.identity()?, &caller.meta, now)?;
            let id = OrgId::generate();
            let slug = match slug {
                Some(slug) => slug,
                None => Self::free_slug(tx, &name, id)?,
            };
            let org = Organization {
                id,
                name,
                slug,
                domain: profile.domain,
                logo_url: profile.logo_url,
                timezone: profile.timezone,
                address: profile.address,
                version: 1,
                entitlements: crate::policy::Entitlements::of(self.default_plan),
                created_at: now,
                updated_at: now,
            };
            tx.insert_org(&org)?;
            let membership = Membership::new(org.id, user.id, RoleKey::owner(), now);
            tx.insert_membership(&membership).map_err(|e| match e {
                MemberWriteError::Store(e) => OrgError::Store(e),
                MemberWriteError::AlreadyMember => {
                    OrgError::Store(crate::StoreError::Internal("fresh organization had a member".into()))
                }
            })?;
            let mut changes = Changes::new();
            for (field, value) in audit_view(&org) {
                if !value.is_null() {
                    changes.set(field, value);
                }
            }
            let record = AuditRecord::new(
                org.id,
                &Actor::User(user.id),
                AuditAction::OrgCreated,
                Target::new("organization", org.id),
                &caller.meta,
                now,
            )
            .with_changes(changes);
            tx.append_audit(&record)?;
            let is_default = tx.default_org_of_user(user.id)? == Some(org.id);
            let grant = member_grant(tx, org.id, &membership.role)?;
            Ok(MyOrg { grant, org, membership: Some(membership), is_default, blocked_by: None })
        })
    }

    /// A derived slug is made unique with a suffix from the new id rather than refused.
    fn free_slug(tx: &mut dyn Tx, name: &OrgName, id: OrgId) -> Result<Slug, OrgError> {
        let slug = Slug::derive_from(name);
        if !tx.org_slug_taken(&slug)? {
            return Ok(slug);
        }
        let random_tail = id.as_uuid().simple().to_string();
        Ok(slug.with_suffix(&random_tail[random_tail.len() - 6..]))
    }

    /// The caller's organizations, in the order joined; for platform staff, followed by
    /// every other live organization with `staff` access.
    pub fn list_mine(&self, caller: &Caller, page: PageRequest) -> Result<Page<MyOrg>, OrgError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let identity = caller.identity()?;
            let user = sync_user(tx, identity, &caller.meta, now)?;
            if identity.staff.is_some() {
                return list_for_staff(tx, caller, user.id, page, now);
            }
            list_memberships(tx, caller, user.id, page, now)
        })
    }

    /// The caller's rights in the organization, for client-side gating.
    pub fn permissions(&self, caller: &Caller, org: &OrgRef) -> Result<crate::authz::Grant, OrgError> {
        let now = self.clock.now();
        read_in_org(&self.store, caller, org, now, |_, scope| Ok(scope.grant.clone()))
    }

    /// [`permissions`](Self::permissions) from memory alone; `None` when that takes the store.
    pub fn permissions_from_memory(
        &self,
        caller: &Caller,
        org: &OrgRef,
    ) -> Option<Result<crate::authz::Grant, OrgError>> {
        let now = self.clock.now();
        read_cached(&self.store, caller, org, now, |scope| Some(Ok(scope.grant.clone())))
    }

    /// The organization with the caller's rights in it; needs `org:read`.
    pub fn get(&self, caller: &Caller, org: &OrgRef) -> Result<OrgView, OrgError> {
        let now = self.clock.now();
        read_in_org(&self.store, caller, org, now, |_, scope| view(scope))
    }

    /// [`get`](Self::get) from memory alone; `None` when that takes the store.
    pub fn get_from_memory(&self, caller: &Caller, org: &OrgRef) -> Option<Result<OrgView, OrgError>> {
        let now = self.clock.now();
        read_cached(&self.store, caller, org, now, |scope| Some(view(scope)))
    }

    /// Applies a partial update. With `if_match`, refuses when the organization's version
    /// moved on (optimistic concurrency for read-modify-write clients).
    pub fn update(
        &self,
        caller: &Caller,
        org: &OrgRef,
        input: UpdateOrg,
        if_match: Option<i64>,
    ) -> Result<OrgView, OrgError> {
        let changes = parse_update(input)?;
        let now = self.clock.now();

        self.store.transaction(|tx| {
            let scope = enter_org::<OrgError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::OrgUpdate)?;
            let (org, _) = apply_update(tx, scope.org, changes, if_match, &scope.actor, &caller.meta, now)?;
            Ok(OrgView { org, grant: scope.grant })
        })
    }

    /// Soft-deletes the organization: it disappears from every read, its name and slug are
    /// freed, and its data and audit log are kept so platform staff can restore it.
    pub fn delete(&self, caller: &Caller, org: &OrgRef) -> Result<(), OrgError> {
        let now: DateTime<Utc> = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<OrgError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::OrgDelete)?;
            if !scope.grant.is_owner() {
                return Err(AccessError::NotAllowed("only an owner can delete the organization").into());
            }
            soft_delete(tx, scope.org.id, &scope.actor, &caller.meta, now)?;
            Ok(())
        })
    }
}

/// A partial update, validated: what [`apply_update`] writes.
pub(crate) struct OrgChanges {
    name: Option<OrgName>,
    slug: Option<Slug>,
    domain: Patch<DomainName>,
    logo_url: Patch<LogoUrl>,
    timezone: Patch<TimeZone>,
    address: Patch<PostalAddress>,
}

/// Validates a partial update, reporting every bad field at once.
pub(crate) fn parse_update(input: UpdateOrg) -> Result<OrgChanges, Invalid> {
    let mut invalid = Invalid::default();
    let name = parse_required(&mut invalid, "name", input.name, OrgName::parse);
    let slug = parse_required(&mut invalid, "slug", input.slug, Slug::parse);
    let domain = parse_patch(&mut invalid, "domain", input.domain, DomainName::parse);
    let logo_url = parse_patch(&mut invalid, "logo_url", input.logo_url, LogoUrl::parse);
    let timezone = parse_patch(&mut invalid, "timezone", input.timezone, TimeZone::parse);
    let address = match input.address {
        Patch::Keep => Patch::Keep,
        Patch::Clear => Patch::Clear,
        Patch::Set(a) => parse_address(&mut invalid, Some(a)).map_or(Patch::Keep, Patch::Set),
    };
    invalid.into_result()?;
    Ok(OrgChanges { name, slug, domain, logo_url, timezone, address })
}

/// Writes a validated update of `before` (read under the organization's lock) by `actor`,
/// with its `org.updated` audit record; with `if_match`, refuses when the version moved
/// on. Answers the organization as it now is, and the record (none when nothing changed).
pub(crate) fn apply_update(
    tx: &mut dyn Tx,
    before: Organization,
    changes: OrgChanges,
    if_match: Option<i64>,
    actor: &Actor,
    meta: &crate::context::RequestMeta,
    now: DateTime<Utc>,
) -> Result<(Organization, Option<AuditRecord>), OrgError> {
    if let Some(expected) = if_match.filter(|v| *v != before.version) {
        return Err(OrgError::VersionMismatch { expected, current: before.version });
    }
    let mut after = before.clone();
    if let Some(name) = changes.name {
        after.name = name;
    }
    if let Some(slug) = changes.slug {
        after.slug = slug;
    }
    apply(&mut after.domain, changes.domain);
    apply(&mut after.logo_url, changes.logo_url);
    apply(&mut after.timezone, changes.timezone);
    apply(&mut after.address, changes.address);
    if after == before {
        return Ok((before, None));
    }
    after.version += 1;
    after.updated_at = now;
    tx.update_org(&after)?;
    let mut diff = Changes::new();
    for ((field, old), (_, new)) in audit_view(&before).into_iter().zip(audit_view(&after)) {
        diff.diff(field, &old, &new);
    }
    let record =
        AuditRecord::new(after.id, actor, AuditAction::OrgUpdated, Target::new("organization", after.id), meta, now)
            .with_changes(diff);
    tx.append_audit(&record)?;
    Ok((after, Some(record)))
}

/// Soft-deletes the organization by `actor` (who was let do so), releasing its domains,
/// with its `org.deleted` audit record, which it answers.
pub(crate) fn soft_delete(
    tx: &mut dyn Tx,
    org: OrgId,
    actor: &Actor,
    meta: &crate::context::RequestMeta,
    now: DateTime<Utc>,
) -> Result<AuditRecord, OrgError> {
    tx.soft_delete_org(org, now)?;
    // A deleted organization keeps no domain from the organization that owns it next.
    let released = tx.delete_domains_of_org(org)?;
    let record = AuditRecord::new(org, actor, AuditAction::OrgDeleted, Target::new("organization", org), meta, now);
    let record = if released.is_empty() {
        record
    } else {
        let mut changes = crate::audit::Changes::new();
        changes.set("released_domains", released.iter().map(|d| d.as_str()).collect::<Vec<_>>());
        record.with_changes(changes)
    };
    tx.append_audit(&record)?;
    Ok(record)
}

fn parse_required<T>(
    invalid: &mut Invalid,
    field: &str,
    patch: Patch<String>,
    parse: fn(&str) -> Result<T, ValueError>,
) -> Option<T> {
    match patch {
        Patch::Keep => None,
        Patch::Clear => {
            invalid.0.push(crate::FieldError::new(field, "required", format!("`{field}` cannot be cleared")));
            None
        }
        Patch::Set(v) => invalid.check(field, parse(&v)),
    }
}

fn parse_patch<T>(
    invalid: &mut Invalid,
    field: &str,
    patch: Patch<String>,
    parse: fn(&str) -> Result<T, ValueError>,
) -> Patch<T> {
    match patch {
        Patch::Keep => Patch::Keep,
        Patch::Clear => Patch::Clear,
        Patch::Set(v) => invalid.check(field, parse(&v)).map_or(Patch::Keep, Patch::Set),
    }
}

fn apply<T>(field: &mut Option<T>, patch: Patch<T>) {
    match patch {
        Patch::Keep => {}
        Patch::Clear => *field = None,
        Patch::Set(v) => *field = Some(v),
    }
}

/// The caller's own organizations, in the order joined.
fn list_memberships(
    tx: &mut dyn Tx,
    caller: &Caller,
    user: UserId,
    page: PageRequest,
    now: DateTime<Utc>,
) -> Result<Page<MyOrg>, OrgError> {
    let default = tx.default_org_of_user(user)?;
    let orgs = tx.list_orgs_of_user(user, page)?;
    let mut items = Vec::with_capacity(orgs.items.len());
    let presented = caller.presented();
    let ids: Vec<OrgId> = orgs.items.iter().map(|(org, _)| org.id).collect();
    let policies: std::collections::HashMap<OrgId, _> = tx.policies_of(&ids)?.into_iter().collect();
    for (org, membership) in orgs.items {
        let grant = member_grant(tx, org.id, &membership.role)?;
        let blocked_by = policies.get(&org.id).and_then(|p| p.admit(&presented, now).err());
        let membership = Some(membership);
        items.push(MyOrg { is_default: Some(org.id) == default, grant, org, membership, blocked_by });
    }
    Ok(Page { items, next_after: orgs.next_after })
}

/// [`OrgService::list_mine`] for platform staff: their own organizations, then every other
/// live one with `staff` access (read-only, as entering it gives), in id order. A cursor is
/// a membership id in the first part, an organization id in the second.
fn list_for_staff(
    tx: &mut dyn Tx,
    caller: &Caller,
    user: UserId,
    page: PageRequest,
    now: DateTime<Utc>,
) -> Result<Page<MyOrg>, OrgError> {
    let others = crate::platform::OrgSearch { without_member: Some(user), ..Default::default() };
    let staff_item = |org: Organization| MyOrg {
        org,
        membership: None,
        grant: crate::access::staff_grant(),
        is_default: false,
        blocked_by: None,
    };
    let in_second_part = match page.after {
        Some(after) => tx.find_any_org(OrgId::from_uuid(after), false)?.is_some(),
        None => false,
    };
    if in_second_part {
        return Ok(tx.search_orgs(&others, page)?.map(|o| staff_item(o.org)));
    }
    let mut mine = list_memberships(tx, caller, user, page, now)?;
    if mine.next_after.is_some() {
        return Ok(mine);
    }
    let room = page.limit.saturating_sub(u32::try_from(mine.items.len()).unwrap_or(u32::MAX));
    if room == 0 {
        // A full last page of memberships: the next page starts the second part.
        if !tx.search_orgs(&others, PageRequest::first(1))?.items.is_empty() {
            mine.next_after = mine.items.last().and_then(|m| m.membership.as_ref()).map(|m| m.id.as_uuid());
        }
        return Ok(mine);
    }
    let rest = tx.search_orgs(&others, PageRequest { limit: room, after: None })?;
    mine.items.extend(rest.items.into_iter().map(|o| staff_item(o.org)));
    mine.next_after = rest.next_after;
    Ok(mine)
}

/// The organization as a caller who may read it sees it.
fn view(scope: &OrgScope) -> Result<OrgView, OrgError> {
    scope.grant.authorize(Permission::OrgRead)?;
    Ok(OrgView { org: scope.org.clone(), grant: scope.grant.clone() })
}
