//! SCIM Users: the organization's members.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{audit, check_version, enter, ScimContext, ScimProvisioning, ScimResource};
use crate::audit::{AuditAction, Changes, Target};
use crate::authz::SystemRole;
use crate::ids::{MemberId, OrgId, UserId};
use crate::member::Membership;
use crate::scim::directory::{DirectoryUser, ScimUserRecord, Start};
use crate::scim::fault::ScimFault;
use crate::scim::filter::Filter;
use crate::scim::listing::{lookup_of, ListQuery, ListResponse, Listing};
use crate::scim::render::{user_doc, user_json, version};
use crate::scim::schema::USER_RESOURCE;
use crate::scim::{patch, resource};
use crate::store::{Store, Tx};
use crate::user::{Email, User};

/// The longest `userName` kept.
pub const MAX_USER_NAME_CHARS: usize = 256;

/// How many members a filtered listing reads at a time.
const SCAN_BATCH: u64 = 1000;
/// The most candidates an index lookup may return before the filter decides.
const LOOKUP_LIMIT: u64 = 10_000;

fn not_found() -> ScimFault {
    ScimFault::NotFound("no such User in this organization".into())
}

fn member_id(id: &str) -> Result<MemberId, ScimFault> {
    id.parse().map_err(|_| not_found())
}

fn find(tx: &mut dyn Tx, org: OrgId, id: &str) -> Result<DirectoryUser, ScimFault> {
    tx.find_directory_user(org, member_id(id)?)?.ok_or_else(not_found)
}

/// Every member `listing`'s filter matches, as full resources, in join order.
/// Every member `filter` matches (all without one), as full resources, in join order:
/// the candidates an index narrows the filter to, else the whole directory in batches.
pub(super) fn matching(
    tx: &mut dyn Tx,
    org: OrgId,
    filter: Option<&Filter>,
    base_url: &str,
) -> Result<Vec<Value>, ScimFault> {
    let keep = |u: &DirectoryUser| {
        let json = user_json(u, base_url);
        let Some(filter) = filter else { return Some(json) };
        // `active eq true` is about the membership, also when the identity provider never
        // sent `active` (which the resource then leaves out, as it was sent).
        let mut judged = json.clone();
        if judged.get("active").is_none() {
            judged["active"] = Value::Bool(!u.membership.is_suspended());
        }
        filter.matches(&judged, &USER_RESOURCE).then_some(json)
    };
    if let Some(lookup) = filter.and_then(|f| lookup_of(f, false)) {
        let candidates = tx.list_directory_users(org, Some(&lookup), Start::Offset(0), LOOKUP_LIMIT)?;
        return Ok(candidates.iter().filter_map(keep).collect());
    }
    let mut out = Vec::new();
    let mut start = Start::Offset(0);
    loop {
        let batch = tx.list_directory_users(org, None, start, SCAN_BATCH)?;
        let Some(last) = batch.last() else { break };
        start = Start::After(last.membership.id.as_uuid());
        out.extend(batch.iter().filter_map(keep));
        if (batch.len() as u64) < SCAN_BATCH {
            break;
        }
    }
    Ok(out)
}

/// The address a provisioned person is linked by: the primary email, else the first,
/// else the user name when it is an address.
fn provisioned_email(doc: &Map<String, Value>) -> Option<Email> {
    let emails = doc.get("emails").and_then(Value::as_array);
    let value = |v: &Value| v.get("value").and_then(Value::as_str).and_then(|e| Email::parse(e).ok());
    emails
        .and_then(|list| list.iter().find(|e| e.get("primary") == Some(&Value::Bool(true))).and_then(value))
        .or_else(|| emails.and_then(|list| list.iter().find_map(value)))
        .or_else(|| doc.get("userName").and_then(Value::as_str).and_then(|u| Email::parse(u).ok()))
}

fn provisioned_name(doc: &Map<String, Value>) -> Option<String> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let name = doc.get("name");
    text(doc.get("displayName"))
        .or_else(|| text(name.and_then(|n| n.get("formatted"))))
        .or_else(|| {
            let parts: Vec<String> =
                ["givenName", "familyName"].iter().filter_map(|p| text(name.and_then(|n| n.get(*p)))).collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
        .map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect())
}

fn active(doc: &Map<String, Value>) -> bool {
    doc.get("active") != Some(&Value::Bool(false))
}

impl<S: Store> ScimProvisioning<S> {
    /// The member with SCIM id `id`, as a SCIM User.
    pub fn get_user(&self, ctx: &ScimContext, id: &str) -> Result<ScimResource, ScimFault> {
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, false)?;
            Ok(ScimResource::new(user_json(&find(tx, org, id)?, &ctx.base_url)))
        })
    }

    /// `GET /Users`. Unfiltered pages continue by keyset from where the previous page
    /// ended; a filter is narrowed by an index when it can be.
    pub fn list_users(&self, ctx: &ScimContext, query: &ListQuery) -> Result<ListResponse, ScimFault> {
        let listing = query.parse()?;
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, false)?;
            let mut page = match &listing.filter {
                Some(filter) => ListResponse::slice(matching(tx, org, Some(filter), &ctx.base_url)?, &listing),
                None => self.unfiltered_page(tx, org, &listing, &ctx.base_url)?,
            };
            page.resources = page.resources.into_iter().map(|r| listing.projection.apply(r, &USER_RESOURCE)).collect();
            Ok(page)
        })
    }

    fn unfiltered_page(
        &self,
        tx: &mut dyn Tx,
        org: OrgId,
        listing: &Listing,
        base_url: &str,
    ) -> Result<ListResponse, ScimFault> {
        let total_results = tx.count_directory_users(org)?;
        let start = match self.cursors.get(org, listing.start_index) {
            Some(after) => Start::After(after),
            None => Start::Offset(listing.start_index - 1),
        };
        let rows =
            if listing.count == 0 { Vec::new() } else { tx.list_directory_users(org, None, start, listing.count)? };
        if let Some(last) = rows.last() {
            self.cursors.remember(org, listing.start_index + rows.len() as u64, last.membership.id.as_uuid());
        }
        let resources = rows.iter().map(|u| user_json(u, base_url)).collect();
        Ok(ListResponse { total_results, start_index: listing.start_index, resources })
    }

    /// `POST /Users`: a new member, not yet linked to anyone's sign-in.
    pub fn create_user(&self, ctx: &ScimContext, body: &Value) -> Result<ScimResource, ScimFault> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, true)?;
            let doc = resource::normalize(body, &USER_RESOURCE)?;
            let user = User {
                id: UserId::generate(),
                subject: None,
                email: provisioned_email(&doc),
                email_verified: false,
                name: provisioned_name(&doc),
                mfa_enrolled: false,
                last_sign_in_method: None,
                mfa_methods: Vec::new(),
                last_seen_at: None,
                last_ip: None,
                created_at: now,
                updated_at: now,
            };
            tx.save_provisioned_user(&user)?;
            let mut membership = Membership::new(org, user.id, SystemRole::Member.key(), now);
            if !active(&doc) {
                membership.suspended_at = Some(now);
            }
            tx.insert_membership(&membership).map_err(|e| match e {
                crate::member::MemberWriteError::Store(e) => ScimFault::Store(e),
                crate::member::MemberWriteError::AlreadyMember => ScimFault::Uniqueness("already a member".into()),
            })?;
            let created = DirectoryUser { membership, email: user.email.clone(), name: user.name.clone(), scim: None };
            let written = write(tx, org, ctx, created, doc, true, now)?;
            Ok(ScimResource::new(user_json(&written, &ctx.base_url)))
        })
    }

    /// `PUT /Users/{id}`: the member's attributes become exactly these. A member the
    /// identity provider never described is taken over.
    pub fn replace_user(
        &self,
        ctx: &ScimContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimResource, ScimFault> {
        self.update_user(ctx, id, if_match, |_| resource::normalize(body, &USER_RESOURCE))
    }

    /// `PATCH /Users/{id}`.
    pub fn patch_user(
        &self,
        ctx: &ScimContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimResource, ScimFault> {
        self.update_user(ctx, id, if_match, |current| {
            let mut doc = user_doc(current);
            patch::apply(&mut doc, body, &USER_RESOURCE)?;
            resource::normalize(&Value::Object(doc), &USER_RESOURCE)
        })
    }

    fn update_user(
        &self,
        ctx: &ScimContext,
        id: &str,
        if_match: Option<&str>,
        next: impl FnOnce(&DirectoryUser) -> Result<Map<String, Value>, ScimFault>,
    ) -> Result<ScimResource, ScimFault> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, true)?;
            let current = find(tx, org, id)?;
            check_version(if_match, &version(crate::scim::render::user_last_modified(&current)))?;
            let doc = next(&current)?;
            let written = write(tx, org, ctx, current, doc, false, now)?;
            Ok(ScimResource::new(user_json(&written, &ctx.base_url)))
        })
    }

    /// `DELETE /Users/{id}`: removes the membership. An owner is removed only by another
    /// owner, in the organization's own API: the identity provider deactivates them instead.
    pub fn delete_user(&self, ctx: &ScimContext, id: &str, if_match: Option<&str>) -> Result<(), ScimFault> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, true)?;
            let current = find(tx, org, id)?;
            check_version(if_match, &version(crate::scim::render::user_last_modified(&current)))?;
            let membership = &current.membership;
            if membership.role.is_owner() {
                return Err(ScimFault::Mutability(
                    "an owner is removed only by another owner, in the organization's own API; \
                     deactivate them with `active: false` instead"
                        .into(),
                ));
            }
            tx.delete_membership(org, membership.id)?;
            tx.delete_user_if_unlinked_and_orphaned(membership.user_id)?;
            let mut changes = Changes::new();
            changes.set("role", membership.role.as_str());
            changes.set("user_id", membership.user_id.to_string());
            if let Some(record) = &current.scim {
                changes.set("user_name", record.user_name.clone());
            }
            audit(tx, org, ctx, AuditAction::ScimUserDeleted, Target::new("member", membership.id), changes, now)
        })
    }
}

/// Stores `doc` as the member's SCIM attributes, suspending or reactivating the
/// membership as `active` says, and records what changed.
fn write(
    tx: &mut dyn Tx,
    org: OrgId,
    ctx: &ScimContext,
    current: DirectoryUser,
    doc: Map<String, Value>,
    created: bool,
    now: DateTime<Utc>,
) -> Result<DirectoryUser, ScimFault> {
    let member = current.membership.id;
    if current.scim.as_ref().is_some_and(|r| r.attributes == doc) {
        // Nothing to write: the version stays, as no change is recorded.
        return Ok(current);
    }
    let user_name = doc.get("userName").and_then(Value::as_str).unwrap_or_default().to_owned();
    if user_name.chars().count() > MAX_USER_NAME_CHARS {
        return Err(ScimFault::InvalidValue(format!("`userName` has at most {MAX_USER_NAME_CHARS} characters")));
    }
    // Checked when the name is new to this member only: a clash that arose otherwise (a
    // person who joined with the address unverified) must never block a deactivation.
    let renamed = current.scim.as_ref().is_none_or(|r| r.user_name.to_lowercase() != user_name.to_lowercase());
    if renamed && tx.user_name_taken(org, &user_name, Some(member))? {
        return Err(ScimFault::Uniqueness(format!("another member of this organization has userName `{user_name}`")));
    }
    let was_active = !current.membership.is_suspended();
    let now_active = active(&doc);
    let toggled = !created && was_active != now_active;
    if toggled {
        if !now_active && current.membership.is_active_owner() && tx.count_owners(org)? <= 1 {
            return Err(ScimFault::Mutability(
                "this member is the organization's last active owner: make another member an owner before \
                 deactivating them"
                    .into(),
            ));
        }
        tx.set_member_suspended(org, member, (!now_active).then_some(now), now)?;
    }
    if let Some(mut user) = tx.find_user(current.membership.user_id)?.filter(|u| u.subject.is_none()) {
        // Not signed in yet: the identity provider's word is all there is of this person.
        user.email = provisioned_email(&doc);
        user.name = provisioned_name(&doc);
        user.updated_at = now;
        tx.save_provisioned_user(&user)?;
    }
    let before = current.scim.as_ref().map(|r| Value::Object(r.attributes.clone()));
    let record = ScimUserRecord {
        member_id: member,
        org_id: org,
        user_name,
        external_id: doc.get("externalId").and_then(Value::as_str).map(str::to_owned),
        created_at: current.scim.as_ref().map_or(now, |r| r.created_at),
        updated_at: now,
        attributes: doc,
    };
    tx.save_scim_user(&record)?;
    let mut changes = Changes::new();
    changed_attributes(&mut changes, before.as_ref(), &record.attributes);
    changes.set("user_name", record.user_name.clone());
    // One record per write, named after its main change.
    let action = match (created, toggled, now_active) {
        (true, _, _) => AuditAction::ScimUserCreated,
        (false, true, true) => AuditAction::ScimUserReactivated,
        (false, true, false) => AuditAction::ScimUserDeactivated,
        (false, false, _) => AuditAction::ScimUserUpdated,
    };
    audit(tx, org, ctx, action, Target::new("member", member), changes, now)?;
    tx.find_directory_user(org, member)?.ok_or_else(not_found)
}

/// Names the attributes that changed; their values stay out of the audit log, which is
/// read more widely than the directory.
fn changed_attributes(changes: &mut Changes, before: Option<&Value>, after: &Map<String, Value>) {
    let empty = Map::new();
    let before = before.and_then(Value::as_object).unwrap_or(&empty);
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    let changed: Vec<Value> =
        names.into_iter().filter(|k| before.get(*k) != after.get(*k)).map(|k| Value::String(k.clone())).collect();
    changes.set("attributes_changed", Value::Array(changed));
}
