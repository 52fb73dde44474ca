use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::model::{
    parse_description, CreateTeam, Team, TeamDetail, TeamError, TeamMember, TeamName, TeamSummary, UpdateTeam,
};
use crate::access::{authorize_team_membership_change, enter_org, read_in_org, Lock, OrgScope};
use crate::audit::{AuditAction, AuditRecord, Changes, Target};
use crate::authz::{Permission, Resource};
use crate::context::Caller;
use crate::error::{AccessError, Invalid};
use crate::ids::{MemberId, TeamId};
use crate::org::OrgRef;
use crate::pagination::{Page, PageRequest};
use crate::store::{Store, Tx};
use crate::time::Clock;

/// Use cases of teams.
#[derive(Clone)]
pub struct TeamService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

fn record(
    scope: &OrgScope,
    caller: &Caller,
    action: AuditAction,
    team: TeamId,
    changes: Changes,
    at: DateTime<Utc>,
) -> AuditRecord {
    AuditRecord::new(scope.org.id, &scope.actor, action, Target::new("team", team), &caller.meta, at)
        .with_changes(changes)
}

impl<S: Store> TeamService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    fn find(tx: &mut dyn Tx, scope: &OrgScope, id: TeamId) -> Result<Team, TeamError> {
        Ok(tx.find_team(scope.org.id, id)?.ok_or(AccessError::NotFound("team"))?)
    }

    fn summary(tx: &mut dyn Tx, team: Team) -> Result<TeamSummary, TeamError> {
        let member_count = tx.count_team_members(team.org_id, team.id)?;
        Ok(TeamSummary { team, member_count })
    }

    /// The team whose membership the caller is about to change, once they may.
    fn team_to_staff(tx: &mut dyn Tx, scope: &OrgScope, id: TeamId) -> Result<Team, TeamError> {
        let team = Self::find(tx, scope, id)?;
        authorize_team_membership_change::<TeamError>(
            tx,
            scope.org.id,
            &scope.grant,
            scope.membership.as_ref(),
            team.id,
        )?;
        Ok(team)
    }

    /// Creates a team; needs `teams:create`.
    pub fn create(&self, caller: &Caller, org: &OrgRef, input: CreateTeam) -> Result<TeamSummary, TeamError> {
        let mut invalid = Invalid::default();
        let name = invalid.check("name", TeamName::parse(&input.name));
        let description = invalid.check("description", parse_description(input.description.as_deref())).flatten();
        invalid.into_result()?;
        let Some(name) = name else { return Err(Invalid::field("name", "required", "a name is required").into()) };
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<TeamError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::TeamsCreate)?;
            let team = Team {
                id: TeamId::generate(),
                org_id: scope.org.id,
                name,
                description,
                external_id: None,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            tx.insert_team(&team)?;
            let mut changes = Changes::new();
            changes.set("name", team.name.as_str());
            changes.set("description", team.description.clone());
            tx.append_audit(&record(&scope, caller, AuditAction::TeamCreated, team.id, changes, now))?;
            Ok(TeamSummary { team, member_count: 0 })
        })
    }

    /// The organization's teams in creation order, with member counts; needs `teams:read`.
    pub fn list(&self, caller: &Caller, org: &OrgRef, page: PageRequest) -> Result<Page<TeamSummary>, TeamError> {
        let now = self.clock.now();
        read_in_org(&self.store, caller, org, now, |tx, scope| {
            scope.grant.authorize(Permission::TeamsRead)?;
            Ok(tx.list_teams(scope.org.id, page)?)
        })
    }

    /// A team with the first page of its members.
    pub fn get(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: TeamId,
        members: PageRequest,
    ) -> Result<TeamDetail, TeamError> {
        let now = self.clock.now();
        read_in_org(&self.store, caller, org, now, |tx, scope| {
            scope.grant.authorize(Permission::TeamsRead)?;
            let team = Self::find(tx, scope, id)?;
            let members = tx.list_team_members(scope.org.id, team.id, members)?;
            Ok(TeamDetail { summary: Self::summary(tx, team)?, members })
        })
    }

    /// A page of the team's members, in the order they joined the organization; needs
    /// `teams:read`.
    pub fn list_members(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: TeamId,
        page: PageRequest,
    ) -> Result<Page<TeamMember>, TeamError> {
        let now = self.clock.now();
        read_in_org(&self.store, caller, org, now, |tx, scope| {
            scope.grant.authorize(Permission::TeamsRead)?;
            let team = Self::find(tx, scope, id)?;
            Ok(tx.list_team_members(scope.org.id, team.id, page)?)
        })
    }

    /// Renames a team or changes its description: `teams:update` organization-wide.
    pub fn update(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: TeamId,
        input: UpdateTeam,
    ) -> Result<TeamSummary, TeamError> {
        let mut invalid = Invalid::default();
        let name = input.name.as_deref().and_then(|n| invalid.check("name", TeamName::parse(n)));
        let description =
            input.description.map(|d| invalid.check("description", parse_description(d.as_deref())).flatten());
        invalid.into_result()?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            // Locked, so that the version checked is the one replaced.
            let scope = enter_org::<TeamError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize_on(Permission::TeamsUpdate, &Resource::Organization)?;
            let before = Self::find(tx, &scope, id)?;
            if let Some(expected) = input.if_match.filter(|v| *v != before.version) {
                return Err(TeamError::VersionMismatch { expected, current: before.version });
            }
            let mut after = before.clone();
            if let Some(name) = name {
                after.name = name;
            }
            if let Some(description) = description {
                after.description = description;
            }
            if after != before {
                after.updated_at = now;
                after.version = before.version + 1;
                tx.update_team(&after)?;
                let mut changes = Changes::new();
                changes.diff("name", &before.name.as_str().to_owned(), &after.name.as_str().to_owned());
                changes.diff("description", &before.description, &after.description);
                tx.append_audit(&record(&scope, caller, AuditAction::TeamUpdated, after.id, changes, now))?;
            }
            Self::summary(tx, after)
        })
    }

    /// Deletes a team and its memberships; the organization's members stay.
    pub fn delete(&self, caller: &Caller, org: &OrgRef, id: TeamId) -> Result<(), TeamError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<TeamError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::TeamsDelete)?;
            let team = Self::find(tx, &scope, id)?;
            let members = tx.count_team_members(team.org_id, team.id)?;
            tx.delete_team(scope.org.id, team.id)?;
            let mut changes = Changes::new();
            changes.set("name", team.name.as_str());
            changes.set("members_removed", members);
            tx.append_audit(&record(&scope, caller, AuditAction::TeamDeleted, team.id, changes, now))?;
            Ok(())
        })
    }

    /// Adds an organization member to a team. The team's managers may add members;
    /// appointing a manager needs `teams:update` organization-wide.
    pub fn add_member(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: TeamId,
        member: MemberId,
        is_manager: bool,
    ) -> Result<TeamMember, TeamError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<TeamError>(tx, caller, org, now, Lock::None)?;
            let team = Self::team_to_staff(tx, &scope, id)?;
            if is_manager {
                scope.grant.authorize_on(Permission::TeamsUpdate, &Resource::Organization)?;
            }
            let target = tx.find_member(scope.org.id, member)?.ok_or(AccessError::NotFound("member"))?;
            tx.add_team_member(scope.org.id, team.id, member, is_manager, now)?;
            let mut changes = Changes::new();
            changes.set("member_id", member.to_string());
            changes.set("is_manager", is_manager);
            tx.append_audit(&record(&scope, caller, AuditAction::TeamMemberAdded, team.id, changes, now))?;
            Ok(TeamMember { member: target, is_manager, added_at: now })
        })
    }

    /// Removes a member from a team. The team's managers may remove its other members;
    /// removing a manager needs `teams:update` organization-wide.
    pub fn remove_member(&self, caller: &Caller, org: &OrgRef, id: TeamId, member: MemberId) -> Result<(), TeamError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<TeamError>(tx, caller, org, now, Lock::None)?;
            let team = Self::team_to_staff(tx, &scope, id)?;
            let current =
                tx.find_team_member(scope.org.id, team.id, member)?.ok_or(AccessError::NotFound("team member"))?;
            if current.is_manager {
                scope.grant.authorize_on(Permission::TeamsUpdate, &Resource::Organization)?;
            }
            tx.remove_team_member(team.org_id, team.id, member)?;
            let mut changes = Changes::new();
            changes.set("member_id", member.to_string());
            tx.append_audit(&record(&scope, caller, AuditAction::TeamMemberRemoved, team.id, changes, now))?;
            Ok(())
        })
    }

    /// Grants or revokes a team member's manager flag: `teams:update` organization-wide.
    pub fn set_manager(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: TeamId,
        member: MemberId,
        is_manager: bool,
    ) -> Result<TeamMember, TeamError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<TeamError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize_on(Permission::TeamsUpdate, &Resource::Organization)?;
            let team = Self::find(tx, &scope, id)?;
            let current =
                tx.find_team_member(scope.org.id, team.id, member)?.ok_or(AccessError::NotFound("team member"))?;
            if current.is_manager == is_manager {
                return Ok(current);
            }
            tx.set_team_manager(team.org_id, team.id, member, is_manager)?;
            let mut changes = Changes::new();
            changes.set("member_id", member.to_string());
            changes.diff("is_manager", &current.is_manager, &is_manager);
            tx.append_audit(&record(&scope, caller, AuditAction::TeamManagerChanged, team.id, changes, now))?;
            Ok(TeamMember { is_manager, ..current })
        })
    }
}
