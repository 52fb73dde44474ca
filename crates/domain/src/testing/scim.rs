//! The SCIM directory over the in-memory state, with the semantics of the database
//! adapter: every read scoped by organization, members in id (join) order, teams in id
//! (creation) order, and the unique index on a provisioned member's user name.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::State;
use crate::error::StoreError;
use crate::ids::{MemberId, OrgId, TeamId, UserId};
use crate::member::Membership;
use crate::scim::{DirectoryGroup, DirectoryRepository, DirectoryUser, Lookup, ScimUserRecord, Start};
use crate::team::Team;

impl State {
    fn directory_user(&self, membership: &Membership) -> DirectoryUser {
        let user = self.users.get(&membership.user_id);
        DirectoryUser {
            membership: membership.clone(),
            email: user.and_then(|u| u.email.clone()),
            name: user.and_then(|u| u.name.clone()),
            scim: self.scim_users.get(&membership.id).cloned(),
        }
    }

    /// The person's email of a member, lower-cased as stored.
    fn member_email(&self, membership: &Membership) -> Option<&str> {
        self.users.get(&membership.user_id).and_then(|u| u.email.as_ref()).map(|e| e.as_str())
    }

    /// Whether the index `lookup` stands for keeps the member: a superset of what the
    /// filter then matches, as the adapter's queries are.
    fn user_matches_lookup(&self, membership: &Membership, lookup: &Lookup) -> bool {
        let record = self.scim_users.get(&membership.id);
        let email = self.member_email(membership);
        match lookup {
            Lookup::UserName(name) => match record {
                Some(record) => record.user_name.to_lowercase() == name.to_lowercase(),
                None => email == Some(name.to_lowercase().as_str()),
            },
            Lookup::ExternalId(id) => record.is_some_and(|r| r.external_id.as_deref() == Some(id.as_str())),
            Lookup::Email(address) => {
                let wanted = address.to_lowercase();
                let provisioned = record.is_some_and(|r| {
                    r.attributes
                        .get("emails")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.get("value").and_then(Value::as_str))
                        .any(|v| v.to_lowercase() == wanted)
                });
                provisioned || email == Some(wanted.as_str())
            }
            // No index for users: everyone is a candidate.
            Lookup::DisplayName(_) => true,
        }
    }

    fn directory_group(&self, team: &Team, with_members: bool) -> DirectoryGroup {
        let members = if with_members {
            self.team_members
                .keys()
                .filter(|(t, _)| *t == team.id)
                .filter_map(|(_, m)| self.memberships.get(m))
                .map(|m| (m.id, self.users.get(&m.user_id).and_then(|u| u.name.clone())))
                .collect()
        } else {
            Vec::new()
        };
        DirectoryGroup { team: team.clone(), members }
    }
}

impl DirectoryRepository for State {
    fn find_directory_user(&mut self, org: OrgId, member: MemberId) -> Result<Option<DirectoryUser>, StoreError> {
        Ok(self.memberships.get(&member).filter(|m| m.org_id == org).map(|m| self.directory_user(m)))
    }

    fn list_directory_users(
        &mut self,
        org: OrgId,
        lookup: Option<&Lookup>,
        start: Start,
        limit: u64,
    ) -> Result<Vec<DirectoryUser>, StoreError> {
        let (after, skip) = match start {
            Start::After(after) => (Some(after), 0),
            Start::Offset(skip) => (None, skip),
        };
        // `memberships` is keyed by member id: join order, as ids are UUIDv7.
        Ok(self
            .memberships
            .values()
            .filter(|m| m.org_id == org)
            .filter(|m| lookup.is_none_or(|l| self.user_matches_lookup(m, l)))
            .filter(|m| after.is_none_or(|after| m.id.as_uuid() > after))
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|m| self.directory_user(m))
            .collect())
    }

    fn count_directory_users(&mut self, org: OrgId) -> Result<u64, StoreError> {
        Ok(self.memberships.values().filter(|m| m.org_id == org).count() as u64)
    }

    fn user_name_taken(&mut self, org: OrgId, user_name: &str, except: Option<MemberId>) -> Result<bool, StoreError> {
        let wanted = user_name.to_lowercase();
        let other = |id: MemberId| except != Some(id);
        let provisioned = self
            .scim_users
            .values()
            .any(|r| r.org_id == org && other(r.member_id) && r.user_name.to_lowercase() == wanted);
        let by_email = self.memberships.values().any(|m| {
            m.org_id == org
                && other(m.id)
                && !self.scim_users.contains_key(&m.id)
                && self.member_email(m) == Some(wanted.as_str())
        });
        Ok(provisioned || by_email)
    }

    fn save_scim_user(&mut self, record: &ScimUserRecord) -> Result<(), StoreError> {
        // The foreign key to the membership, the check on `user_name`, and
        // `scim_users_org_user_name_key`.
        if self.memberships.get(&record.member_id).is_none_or(|m| m.org_id != record.org_id) {
            return Err(StoreError::Internal(format!(
                "scim_users: no membership {} in {}",
                record.member_id, record.org_id
            )));
        }
        if !(1..=256).contains(&record.user_name.chars().count()) {
            return Err(StoreError::Internal(
                "new row for relation \"scim_users\" violates check constraint \"scim_users_user_name_check\"".into(),
            ));
        }
        let lower = record.user_name.to_lowercase();
        if self.scim_users.values().any(|r| {
            r.org_id == record.org_id && r.member_id != record.member_id && r.user_name.to_lowercase() == lower
        }) {
            return Err(StoreError::Internal(
                "duplicate key value violates unique constraint \"scim_users_org_user_name_key\"".into(),
            ));
        }
        self.scim_users.insert(record.member_id, record.clone());
        Ok(())
    }

    fn set_member_suspended(
        &mut self,
        org: OrgId,
        member: MemberId,
        suspended_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(m) = self.memberships.get_mut(&member).filter(|m| m.org_id == org) {
            m.version += i64::from(m.suspended_at != suspended_at);
            m.suspended_at = suspended_at;
            m.updated_at = at;
        }
        Ok(())
    }

    fn delete_user_if_unlinked_and_orphaned(&mut self, user: UserId) -> Result<(), StoreError> {
        let unlinked = self.users.get(&user).is_some_and(|u| u.subject.is_none());
        let orphaned = !self.memberships.values().any(|m| m.user_id == user);
        if unlinked && orphaned {
            self.users.remove(&user);
        }
        Ok(())
    }

    fn find_directory_group(&mut self, org: OrgId, team: TeamId) -> Result<Option<DirectoryGroup>, StoreError> {
        Ok(self.teams.get(&team).filter(|t| t.org_id == org).map(|t| self.directory_group(t, true)))
    }

    fn list_directory_groups(
        &mut self,
        org: OrgId,
        lookup: Option<&Lookup>,
        with_members: bool,
    ) -> Result<Vec<DirectoryGroup>, StoreError> {
        let narrowed = |t: &Team| match lookup {
            Some(Lookup::DisplayName(name)) => t.name.as_str().to_lowercase() == name.to_lowercase(),
            Some(Lookup::ExternalId(id)) => t.external_id.as_deref() == Some(id.as_str()),
            _ => true,
        };
        // `teams` is keyed by team id: creation order.
        Ok(self
            .teams
            .values()
            .filter(|t| t.org_id == org && narrowed(t))
            .map(|t| self.directory_group(t, with_members))
            .collect())
    }

    fn set_team_members(
        &mut self,
        org: OrgId,
        team: TeamId,
        add: &[MemberId],
        remove: &[MemberId],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for member in add {
            if !self.memberships.contains_key(member) {
                return Err(StoreError::Internal(format!("team_members: no membership {member}")));
            }
            self.team_members.entry((team, *member)).or_insert((false, at));
        }
        for member in remove {
            self.team_members.remove(&(team, *member));
        }
        if let Some(t) = self.teams.get_mut(&team).filter(|t| t.org_id == org) {
            t.updated_at = at;
        }
        Ok(())
    }

    fn existing_members(&mut self, org: OrgId, members: &[MemberId]) -> Result<Vec<MemberId>, StoreError> {
        let mut found: Vec<MemberId> =
            members.iter().copied().filter(|id| self.memberships.get(id).is_some_and(|m| m.org_id == org)).collect();
        found.sort();
        found.dedup();
        Ok(found)
    }
}
