//! SCIM Groups: the organization's teams, with their members by member id.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{audit, check_version, enter, ScimContext, ScimProvisioning, ScimResource};
use crate::audit::{AuditAction, Changes, Target};
use crate::ids::{MemberId, OrgId, TeamId};
use crate::scim::directory::DirectoryGroup;
use crate::scim::fault::ScimFault;
use crate::scim::listing::{lookup_of, ListQuery, ListResponse, Listing};
use crate::scim::render::{group_doc, group_json};
use crate::scim::schema::GROUP_RESOURCE;
use crate::scim::{patch, resource};
use crate::store::{Store, Tx};
use crate::team::{Team, TeamName, TeamWriteError};

fn not_found() -> ScimFault {
    ScimFault::NotFound("no such Group in this organization".into())
}

fn find(tx: &mut dyn Tx, org: OrgId, id: &str) -> Result<DirectoryGroup, ScimFault> {
    let id: TeamId = id.parse().map_err(|_| not_found())?;
    tx.find_directory_group(org, id)?.ok_or_else(not_found)
}

/// Every team `listing`'s filter matches, as full resources, in creation order.
pub(super) fn matching(
    tx: &mut dyn Tx,
    org: OrgId,
    listing: &Listing,
    base_url: &str,
) -> Result<Vec<Value>, ScimFault> {
    let lookup = listing.filter.as_ref().and_then(|f| lookup_of(f, true));
    let members_excluded = listing.filter.is_none()
        && listing.projection.attributes.is_empty()
        && listing.projection.excluded.iter().any(|p| p.name() == "members");
    let groups = tx.list_directory_groups(org, lookup.as_ref(), !members_excluded)?;
    Ok(groups
        .iter()
        .map(|g| group_json(g, base_url))
        .filter(|json| listing.filter.as_ref().is_none_or(|f| f.matches(json, &GROUP_RESOURCE)))
        .collect())
}

/// What a normalised Group resource asks for.
struct GroupInput {
    name: TeamName,
    external_id: Option<String>,
    members: BTreeSet<MemberId>,
}

fn input(tx: &mut dyn Tx, org: OrgId, doc: &Map<String, Value>) -> Result<GroupInput, ScimFault> {
    let display_name = doc.get("displayName").and_then(Value::as_str).unwrap_or_default();
    let name =
        TeamName::parse(display_name).map_err(|e| ScimFault::InvalidValue(format!("displayName: {}", e.message)))?;
    let mut members = BTreeSet::new();
    for member in doc.get("members").and_then(Value::as_array).into_iter().flatten() {
        if member.get("type").and_then(Value::as_str).is_some_and(|t| t != "User") {
            return Err(ScimFault::InvalidValue("a group's members are Users: groups do not nest".into()));
        }
        let value = member.get("value").and_then(Value::as_str).unwrap_or_default();
        let id: MemberId =
            value.parse().map_err(|_| ScimFault::InvalidValue(format!("`{value}` is no User of this organization")))?;
        members.insert(id);
    }
    let wanted: Vec<MemberId> = members.iter().copied().collect();
    let existing: BTreeSet<MemberId> = tx.existing_members(org, &wanted)?.into_iter().collect();
    if let Some(missing) = members.difference(&existing).next() {
        return Err(ScimFault::InvalidValue(format!("`{missing}` is no User of this organization")));
    }
    Ok(GroupInput { name, external_id: doc.get("externalId").and_then(Value::as_str).map(str::to_owned), members })
}

fn write_error(err: TeamWriteError) -> ScimFault {
    match err {
        TeamWriteError::NameTaken => {
            ScimFault::Uniqueness("the organization already has a group with this displayName".into())
        }
        TeamWriteError::ExternalIdTaken => {
            ScimFault::Uniqueness("the organization already has a group with this externalId".into())
        }
        TeamWriteError::AlreadyInTeam => ScimFault::Uniqueness("the member is already in the group".into()),
        TeamWriteError::Store(e) => ScimFault::Store(e),
    }
}

impl<S: Store> ScimProvisioning<S> {
    /// The team with SCIM id `id`, as a SCIM Group.
    pub fn get_group(&self, ctx: &ScimContext, id: &str) -> Result<ScimResource, ScimFault> {
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, false)?;
            Ok(ScimResource::new(group_json(&find(tx, org, id)?, &ctx.base_url)))
        })
    }

    /// A page of the organization's teams as SCIM Groups, filtered and projected as `query` asks.
    pub fn list_groups(&self, ctx: &ScimContext, query: &ListQuery) -> Result<ListResponse, ScimFault> {
        let listing = query.parse()?;
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, false)?;
            let mut page = ListResponse::slice(matching(tx, org, &listing, &ctx.base_url)?, &listing);
            page.resources = page.resources.into_iter().map(|r| listing.projection.apply(r, &GROUP_RESOURCE)).collect();
            Ok(page)
        })
    }

    /// `POST /Groups`: a new team.
    pub fn create_group(&self, ctx: &ScimContext, body: &Value) -> Result<ScimResource, ScimFault> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, true)?;
            let doc = resource::normalize(body, &GROUP_RESOURCE)?;
            let input = input(tx, org, &doc)?;
            let team = Team {
                id: TeamId::generate(),
                org_id: org,
                name: input.name.clone(),
                description: None,
                external_id: input.external_id.clone(),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            tx.insert_team(&team).map_err(write_error)?;
            let created = DirectoryGroup { team, members: Vec::new() };
            let written = write(tx, org, ctx, created, input, true, now)?;
            Ok(ScimResource::new(group_json(&written, &ctx.base_url)))
        })
    }

    /// Replaces the team's name, external id and members with `body` (`PUT`).
    pub fn replace_group(
        &self,
        ctx: &ScimContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimResource, ScimFault> {
        self.update_group(ctx, id, if_match, |_, _| resource::normalize(body, &GROUP_RESOURCE))
    }

    /// Applies the RFC 7644 PATCH operations of `body` to the team (`PATCH`).
    pub fn patch_group(
        &self,
        ctx: &ScimContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimResource, ScimFault> {
        self.update_group(ctx, id, if_match, |current, base_url| {
            let mut doc = group_doc(current, base_url);
            patch::apply(&mut doc, body, &GROUP_RESOURCE)?;
            resource::normalize(&Value::Object(doc), &GROUP_RESOURCE)
        })
    }

    fn update_group(
        &self,
        ctx: &ScimContext,
        id: &str,
        if_match: Option<&str>,
        next: impl FnOnce(&DirectoryGroup, &str) -> Result<Map<String, Value>, ScimFault>,
    ) -> Result<ScimResource, ScimFault> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, true)?;
            let current = find(tx, org, id)?;
            check_version(if_match, &crate::scim::render::version(current.team.updated_at))?;
            let doc = next(&current, &ctx.base_url)?;
            let input = input(tx, org, &doc)?;
            let written = write(tx, org, ctx, current, input, false, now)?;
            Ok(ScimResource::new(group_json(&written, &ctx.base_url)))
        })
    }

    /// `DELETE /Groups/{id}`: deletes the team, never its members.
    pub fn delete_group(&self, ctx: &ScimContext, id: &str, if_match: Option<&str>) -> Result<(), ScimFault> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let org = enter(tx, ctx, true)?;
            let current = find(tx, org, id)?;
            check_version(if_match, &crate::scim::render::version(current.team.updated_at))?;
            tx.delete_team(org, current.team.id)?;
            let mut changes = Changes::new();
            changes.set("name", current.team.name.as_str());
            audit(tx, org, ctx, AuditAction::TeamDeleted, Target::new("team", current.team.id), changes, now)?;
            let members: Vec<MemberId> = current.members.iter().map(|(id, _)| *id).collect();
            super::roles::apply(tx, org, ctx, &members, now)
        })
    }
}

fn write(
    tx: &mut dyn Tx,
    org: OrgId,
    ctx: &ScimContext,
    current: DirectoryGroup,
    input: GroupInput,
    created: bool,
    now: DateTime<Utc>,
) -> Result<DirectoryGroup, ScimFault> {
    let team = Team { name: input.name, external_id: input.external_id, updated_at: now, ..current.team.clone() };
    let before: BTreeSet<MemberId> = current.members.iter().map(|(id, _)| *id).collect();
    let added: Vec<MemberId> = input.members.difference(&before).copied().collect();
    let removed: Vec<MemberId> = before.difference(&input.members).copied().collect();
    let unchanged = team.name == current.team.name && team.external_id == current.team.external_id;
    if !created && unchanged && added.is_empty() && removed.is_empty() {
        // Nothing to write: the version stays, as no change is recorded.
        return Ok(current);
    }
    if !created {
        tx.update_team(&team).map_err(write_error)?;
    }
    tx.set_team_members(org, team.id, &added, &removed, now)?;
    let moved: Vec<MemberId> = added.iter().chain(&removed).copied().collect();
    super::roles::apply(tx, org, ctx, &moved, now)?;
    let mut changes = Changes::new();
    changes.diff("name", &current.team.name.as_str().to_owned(), &team.name.as_str().to_owned());
    changes.diff("external_id", &current.team.external_id, &team.external_id);
    if !added.is_empty() {
        changes.set("members_added", added.iter().map(ToString::to_string).collect::<Vec<_>>());
    }
    if !removed.is_empty() {
        changes.set("members_removed", removed.iter().map(ToString::to_string).collect::<Vec<_>>());
    }
    let action = if created { AuditAction::TeamCreated } else { AuditAction::TeamUpdated };
    if created || !changes.is_empty() {
        audit(tx, org, ctx, action, Target::new("team", team.id), changes, now)?;
    }
    tx.find_directory_group(org, team.id)?.ok_or_else(not_found)
}
