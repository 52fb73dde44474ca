//! In-memory fakes of the ports, for fast tests of the use cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod events;
mod fakes;
mod governance;
mod idempotency;
mod platform;
mod scim;
mod webhooks;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::apikey::{ApiKey, ApiKeyRepository, MintedSecret, SecretMinter};
use crate::audit::{AuditEvent, AuditFilter, AuditLog, AuditRecord, AuditSink, ChainHead};
use crate::authz::RoleKey;
use crate::context::{Caller, Identity, RequestMeta};
use crate::error::StoreError;
use crate::ids::{ApiKeyId, InviteId, MemberId, NotificationId, OrgId, RoleId, TeamId, UserId};
use crate::invite::{Invite, InviteRepository, InviteStatus, Redemption};
use crate::mail::{Outbox, OutgoingEmail};
use crate::member::{Member, MemberFilter, MemberRepository, MemberWriteError, Membership};
use crate::notification::{Notification, NotificationCursor, NotificationRepository};
use crate::org::{OrgRepository, OrgWriteError, Organization, Slug};
use crate::pagination::{Page, PageRequest};
use crate::policy::{
    KeyAccessFacts, MemberAccessFacts, MfaPolicy, OrgPolicies, PolicyRepository, SecurityPolicy, SignInMethod,
    SignInPolicy, Versioned,
};
use crate::role::{CustomRole, RoleRepository, RoleWriteError};
use crate::store::{Store, Tx};
use crate::team::{Team, TeamMember, TeamRepository, TeamSummary, TeamWriteError};
use crate::user::{User, UserRepository};

pub use fakes::{FakeBox, ManualClock};

/// Everything an [`InMemoryStore`] holds: one map or list per table, public so tests can
/// look at (or seed) what the use cases wrote.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Users by id.
    pub users: BTreeMap<UserId, User>,
    /// Organizations by id, each with when it was soft-deleted.
    pub orgs: BTreeMap<OrgId, (Organization, Option<DateTime<Utc>>)>,
    /// Memberships by id.
    pub memberships: BTreeMap<MemberId, Membership>,
    /// Custom roles by id.
    pub roles: BTreeMap<RoleId, CustomRole>,
    /// Teams by id.
    pub teams: BTreeMap<TeamId, Team>,
    /// (team, member) → (is_manager, added_at)
    pub team_members: BTreeMap<(TeamId, MemberId), (bool, DateTime<Utc>)>,
    /// API keys by id, each with the hash its secret is found by.
    pub api_keys: BTreeMap<ApiKeyId, (ApiKey, Vec<u8>)>,
    /// Audit records, in append order.
    pub audit: Vec<AuditRecord>,
    /// Audit records sealed into their chains, in append order.
    pub audit_events: Vec<AuditEvent>,
    /// Invites by id, each with the hash its secret is found by.
    pub invites: BTreeMap<InviteId, (Invite, Vec<u8>)>,
    /// Invite redemptions, in order.
    pub redemptions: Vec<Redemption>,
    /// Emails queued for delivery, in order.
    pub outbox: Vec<OutgoingEmail>,
    /// Security policies by organization.
    pub policies: BTreeMap<OrgId, OrgPolicies>,
    /// SSO configurations by organization.
    pub sso: BTreeMap<OrgId, crate::policy::Versioned<crate::sso::SsoConfig>>,
    /// SCIM configurations by organization.
    pub scim: BTreeMap<OrgId, crate::policy::Versioned<crate::scim::ScimConfig>>,
    /// The SCIM attributes of provisioned (or taken-over) members; gone with the
    /// membership, as the database cascades.
    pub scim_users: BTreeMap<MemberId, crate::scim::ScimUserRecord>,
    /// Notifications by id.
    pub notifications: BTreeMap<NotificationId, Notification>,
    /// member → when it was last reminded to set up a second factor
    pub mfa_reminded: BTreeMap<MemberId, DateTime<Utc>>,
    /// Claimed domains by id.
    pub domains: BTreeMap<crate::ids::DomainId, crate::verified_domain::OrgDomain>,
    /// Join requests by id.
    pub join_requests: BTreeMap<crate::ids::JoinRequestId, crate::join::JoinRequest>,
    /// The platform audit log, oldest first.
    pub platform_audit: Vec<crate::platform::PlatformAuditEvent>,
    /// LLM admission policies by organization.
    pub llm_policies: BTreeMap<OrgId, Versioned<crate::llm::LlmPolicy>>,
    /// Budgets by organization.
    pub spend_limits: BTreeMap<OrgId, Versioned<crate::spend::SpendLimits>>,
    /// Usage events, in recording order.
    pub usage: Vec<crate::spend::UsageEvent>,
    /// (org, window kind, window start, level) announced
    pub spend_alerts: std::collections::BTreeSet<(OrgId, &'static str, chrono::NaiveDate, crate::spend::Posture)>,
    /// (scope, key) → kept response
    pub idempotency: BTreeMap<(String, String), crate::idempotency::IdempotencyRecord>,
    /// The event feed, in commit order.
    pub events: Vec<crate::events::Event>,
    /// Webhooks by id.
    pub webhooks: BTreeMap<crate::ids::WebhookId, crate::webhooks::Webhook>,
    /// Webhook deliveries by id.
    pub deliveries: BTreeMap<crate::ids::DeliveryId, crate::webhooks::Delivery>,
}

/// A store whose transactions work on a copy of the state, kept only on success.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStore(Arc<Mutex<State>>);

impl InMemoryStore {
    /// A copy of everything stored.
    pub fn state(&self) -> State {
        self.0.lock().unwrap().clone()
    }

    /// How many users are stored.
    pub fn user_count(&self) -> usize {
        self.state().users.len()
    }

    /// Every audit record, in append order.
    pub fn audit(&self) -> Vec<AuditRecord> {
        self.state().audit
    }

    /// Every email queued, in order.
    pub fn outbox(&self) -> Vec<OutgoingEmail> {
        self.state().outbox
    }

    /// Moves an organization to another plan, as platform staff would.
    pub fn set_plan(&self, org: &crate::org::OrgRef, plan: crate::policy::Plan) {
        let crate::org::OrgRef::Id(id) = org else { panic!("an organization id") };
        self.0.lock().unwrap().orgs.get_mut(id).unwrap().0.entitlements = crate::policy::Entitlements::of(plan);
    }
}

impl Store for InMemoryStore {
    fn transaction<T, E>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut guard = self.0.lock().unwrap();
        let mut draft = guard.clone();
        let result = work(&mut draft);
        if result.is_ok() {
            *guard = draft;
        }
        result
    }

    fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl State {
    fn org_policies(&self, id: OrgId) -> OrgPolicies {
        let mut policies = self.policies.get(&id).cloned().unwrap_or_default();
        if self.sso.get(&id).is_some_and(|sso| sso.policy.enforced) {
            policies.sso_domains =
                self.domains.values().filter(|d| d.org_id == id && d.is_verified()).map(|d| d.name.clone()).collect();
        }
        policies
    }

    fn live(&self, id: OrgId) -> Option<&Organization> {
        self.orgs.get(&id).filter(|(_, deleted)| deleted.is_none()).map(|(org, _)| org)
    }

    fn live_orgs(&self) -> impl Iterator<Item = &Organization> {
        self.orgs.values().filter(|(_, deleted)| deleted.is_none()).map(|(org, _)| org)
    }

    fn unique_violation(&self, org: &Organization) -> Option<OrgWriteError> {
        let others = || self.live_orgs().filter(|o| o.id != org.id);
        if others().any(|o| o.name.as_str().to_lowercase() == org.name.as_str().to_lowercase()) {
            return Some(OrgWriteError::NameTaken);
        }
        if others().any(|o| o.slug == org.slug) {
            return Some(OrgWriteError::SlugTaken);
        }
        None
    }

    fn member_view(&self, m: &Membership) -> Member {
        let user = &self.users[&m.user_id];
        Member {
            membership: m.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
        }
    }
}

impl crate::access::EntryCacheAccess for State {
    fn entry_cache(&self) -> &dyn crate::access::EntryCache {
        &crate::access::NoCache
    }
    fn keep_after_commit(&mut self, _: crate::access::Epoch, _: crate::access::CacheEntry) {}
}

impl UserRepository for State {
    fn find_user_by_subject(&mut self, subject: &str) -> Result<Option<User>, StoreError> {
        Ok(self.users.values().find(|u| u.subject.as_deref() == Some(subject)).cloned())
    }

    fn find_user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.users.get(&id).cloned())
    }

    fn upsert_user(&mut self, user: &User) -> Result<User, StoreError> {
        let existing = self.users.values().find(|u| u.subject.is_some() && u.subject == user.subject).map(|u| u.id);
        let stored = User { id: existing.unwrap_or(user.id), ..user.clone() };
        self.users.insert(stored.id, stored.clone());
        Ok(stored)
    }

    fn save_provisioned_user(&mut self, user: &User) -> Result<(), StoreError> {
        self.users.insert(user.id, user.clone());
        Ok(())
    }

    fn find_unlinked_users(&mut self, email: &crate::user::Email) -> Result<Vec<UserId>, StoreError> {
        Ok(self
            .users
            .values()
            .filter(|u| u.subject.is_none() && u.email.as_ref() == Some(email))
            .map(|u| u.id)
            .collect())
    }

    fn provisioned_memberships(&mut self, user: UserId) -> Result<Vec<Membership>, StoreError> {
        Ok(self.memberships.values().filter(|m| m.user_id == user).cloned().collect())
    }

    fn merge_provisioned_membership(
        &mut self,
        _org: OrgId,
        member: MemberId,
        into: UserId,
        at: DateTime<Utc>,
    ) -> Result<crate::user::LinkedMembership, StoreError> {
        let org = self.memberships[&member].org_id;
        let own = self.memberships.values().find(|m| m.user_id == into && m.org_id == org).cloned();
        let m = self.memberships.get_mut(&member).unwrap();
        m.user_id = into;
        m.updated_at = at;
        m.version += 1;
        if let Some(own) = &own {
            m.role = own.role.clone();
            m.role_from_group = own.role_from_group;
            m.suspended_at = own.suspended_at;
            let seats: Vec<_> =
                self.team_members.iter().filter(|((_, mm), _)| *mm == own.id).map(|(k, v)| (k.0, *v)).collect();
            for (team, seat) in seats {
                self.team_members.entry((team, member)).or_insert(seat);
            }
            self.memberships.remove(&own.id);
            self.team_members.retain(|(_, mm), _| *mm != own.id);
            self.scim_users.remove(&own.id);
        }
        Ok(crate::user::LinkedMembership { membership: self.memberships[&member].clone(), replaced: own.map(|o| o.id) })
    }
}

impl OrgRepository for State {
    fn insert_org(&mut self, org: &Organization) -> Result<(), OrgWriteError> {
        if let Some(err) = self.unique_violation(org) {
            return Err(err);
        }
        self.orgs.insert(org.id, (org.clone(), None));
        Ok(())
    }

    fn find_org(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(self.live(id).cloned())
    }

    fn lock_org(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        self.find_org(id)
    }

    fn update_org(&mut self, org: &Organization) -> Result<(), OrgWriteError> {
        if let Some(err) = self.unique_violation(org) {
            return Err(err);
        }
        self.orgs.insert(org.id, (org.clone(), None));
        Ok(())
    }

    fn soft_delete_org(&mut self, id: OrgId, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(entry) = self.orgs.get_mut(&id) {
            entry.1 = Some(at);
        }
        Ok(())
    }

    fn org_slug_taken(&mut self, slug: &Slug) -> Result<bool, StoreError> {
        Ok(self.live_orgs().any(|o| &o.slug == slug))
    }
}

impl PolicyRepository for State {
    fn find_org_for_entry(
        &mut self,
        id: OrgId,
        _lock: bool,
    ) -> Result<Option<(Organization, OrgPolicies)>, StoreError> {
        Ok(self.live(id).cloned().map(|org| (org, self.org_policies(id))))
    }

    fn policies_of(&mut self, orgs: &[OrgId]) -> Result<Vec<(OrgId, OrgPolicies)>, StoreError> {
        Ok(orgs.iter().map(|id| (*id, self.org_policies(*id))).collect())
    }

    fn save_mfa_policy(&mut self, org: OrgId, policy: &Versioned<MfaPolicy>) -> Result<(), StoreError> {
        self.policies.entry(org).or_default().mfa = policy.clone();
        Ok(())
    }

    fn save_sign_in_policy(&mut self, org: OrgId, policy: &Versioned<SignInPolicy>) -> Result<(), StoreError> {
        self.policies.entry(org).or_default().sign_in = policy.clone();
        Ok(())
    }

    fn save_security_policy(&mut self, org: OrgId, policy: &Versioned<SecurityPolicy>) -> Result<(), StoreError> {
        self.policies.entry(org).or_default().security = policy.clone();
        Ok(())
    }

    fn member_access_facts(
        &mut self,
        org: OrgId,
        role: Option<&RoleKey>,
        after: Option<MemberId>,
        limit: i64,
    ) -> Result<Vec<MemberAccessFacts>, StoreError> {
        Ok(self
            .memberships
            .values()
            .filter(|m| m.org_id == org && role.is_none_or(|r| &m.role == r) && after.is_none_or(|a| m.id > a))
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|m| {
                let user = &self.users[&m.user_id];
                MemberAccessFacts {
                    member_id: m.id,
                    user_id: user.id,
                    name: user.name.clone(),
                    email: user.email.as_ref().map(|e| e.as_str().to_owned()),
                    email_verified: user.email_verified,
                    role: m.role.clone(),
                    mfa_enrolled: user.mfa_enrolled,
                    sign_in_method: user.last_sign_in_method.as_deref().and_then(|m| SignInMethod::parse(m).ok()),
                    last_ip: user.last_ip,
                }
            })
            .collect())
    }

    fn key_access_facts(&mut self, org: OrgId, now: DateTime<Utc>) -> Result<Vec<KeyAccessFacts>, StoreError> {
        Ok(self
            .api_keys
            .values()
            .filter(|(k, _)| k.org_id == org && k.unusable_at(now).is_none())
            .map(|(k, _)| KeyAccessFacts { key_id: k.id, name: k.name.clone(), last_used_ip: k.last_used_ip })
            .collect())
    }
}

impl MemberRepository for State {
    fn insert_membership(&mut self, membership: &Membership) -> Result<(), MemberWriteError> {
        if self.memberships.values().any(|m| m.org_id == membership.org_id && m.user_id == membership.user_id) {
            return Err(MemberWriteError::AlreadyMember);
        }
        self.memberships.insert(membership.id, membership.clone());
        Ok(())
    }

    fn find_membership_of_user(&mut self, org: OrgId, user: UserId) -> Result<Option<Membership>, StoreError> {
        Ok(self.memberships.values().find(|m| m.org_id == org && m.user_id == user).cloned())
    }

    fn default_org_of_user(&mut self, user: UserId) -> Result<Option<OrgId>, StoreError> {
        Ok(self
            .memberships
            .values()
            .filter(|m| m.user_id == user && self.live(m.org_id).is_some())
            .map(|m| m.org_id)
            .next())
    }

    fn list_orgs_of_user(
        &mut self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<(Organization, Membership)>, StoreError> {
        let rows = self
            .memberships
            .values()
            .filter(|m| m.user_id == user && page.after.is_none_or(|after| m.id.as_uuid() > after))
            .filter_map(|m| self.live(m.org_id).map(|o| (o.clone(), m.clone())))
            .take(page.fetch_limit() as usize)
            .collect();
        Ok(Page::from_overfetch(rows, page, |(_, m)| m.id.as_uuid()))
    }

    fn find_member(&mut self, org: OrgId, member: MemberId) -> Result<Option<Member>, StoreError> {
        Ok(self.memberships.get(&member).filter(|m| m.org_id == org).map(|m| self.member_view(m)))
    }

    fn list_members(
        &mut self,
        org: OrgId,
        filter: &MemberFilter,
        page: PageRequest,
    ) -> Result<Page<Member>, StoreError> {
        let rows = self
            .memberships
            .values()
            .filter(|m| m.org_id == org && page.after.is_none_or(|after| m.id.as_uuid() > after))
            .filter(|m| filter.role.as_ref().is_none_or(|r| &m.role == r))
            .map(|m| self.member_view(m))
            .filter(|m| {
                filter.search.as_ref().is_none_or(|q| {
                    let text =
                        format!("{} {}", m.name.as_deref().unwrap_or(""), m.email.as_ref().map_or("", |e| e.as_str()));
                    text.to_lowercase().contains(q.as_str())
                })
            })
            .take(page.fetch_limit() as usize)
            .collect();
        Ok(Page::from_overfetch(rows, page, |m: &Member| m.membership.id.as_uuid()))
    }

    fn count_owners(&mut self, org: OrgId) -> Result<u64, StoreError> {
        Ok(self.memberships.values().filter(|m| m.org_id == org && m.is_active_owner()).count() as u64)
    }

    fn set_member_role(
        &mut self,
        org: OrgId,
        member: MemberId,
        role: &RoleKey,
        from_group: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(m) = self.memberships.get_mut(&member).filter(|m| m.org_id == org) {
            // As the database's trigger: the version moves when the role or its source does.
            m.version += i64::from(m.role != *role || m.role_from_group != from_group);
            m.role = role.clone();
            m.role_from_group = from_group;
            m.updated_at = at;
        }
        Ok(())
    }

    fn delete_membership(&mut self, org: OrgId, member: MemberId) -> Result<bool, StoreError> {
        let found = self.memberships.get(&member).is_some_and(|m| m.org_id == org);
        if found {
            self.memberships.remove(&member);
            self.team_members.retain(|(_, m), _| *m != member);
            self.scim_users.remove(&member);
        }
        Ok(found)
    }
}

impl RoleRepository for State {
    fn find_role_by_key(&mut self, org: OrgId, key: &RoleKey) -> Result<Option<CustomRole>, StoreError> {
        Ok(self.roles.values().find(|r| r.org_id == org && &r.key == key).cloned())
    }

    fn find_role(&mut self, org: OrgId, id: RoleId) -> Result<Option<CustomRole>, StoreError> {
        Ok(self.roles.get(&id).filter(|r| r.org_id == org).cloned())
    }

    fn list_roles(&mut self, org: OrgId) -> Result<Vec<CustomRole>, StoreError> {
        Ok(self.roles.values().filter(|r| r.org_id == org).cloned().collect())
    }

    fn insert_role(&mut self, role: &CustomRole) -> Result<(), RoleWriteError> {
        if self.roles.values().any(|r| r.org_id == role.org_id && r.key == role.key) {
            return Err(RoleWriteError::KeyTaken);
        }
        self.roles.insert(role.id, role.clone());
        Ok(())
    }

    fn update_role(&mut self, role: &CustomRole) -> Result<(), StoreError> {
        let version = self.roles.get(&role.id).map_or(role.version, |r| r.version + 1);
        self.roles.insert(role.id, CustomRole { version, ..role.clone() });
        Ok(())
    }

    fn delete_role(&mut self, org: OrgId, id: RoleId) -> Result<(), StoreError> {
        self.roles.retain(|rid, r| !(*rid == id && r.org_id == org));
        Ok(())
    }

    fn count_members_with_role(&mut self, org: OrgId, key: &RoleKey) -> Result<u64, StoreError> {
        Ok(self.memberships.values().filter(|m| m.org_id == org && &m.role == key).count() as u64)
    }

    fn reassign_role(
        &mut self,
        org: OrgId,
        from: &RoleKey,
        to: &RoleKey,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut moved = 0;
        for m in self.memberships.values_mut().filter(|m| m.org_id == org && &m.role == from) {
            m.version += i64::from(m.role != *to);
            m.role = to.clone();
            m.updated_at = at;
            moved += 1;
        }
        Ok(moved)
    }
}

impl State {
    fn team_member_view(&self, team: TeamId, member: MemberId) -> Option<TeamMember> {
        let (is_manager, added_at) = *self.team_members.get(&(team, member))?;
        Some(TeamMember { member: self.member_view(self.memberships.get(&member)?), is_manager, added_at })
    }
}

impl TeamRepository for State {
    fn insert_team(&mut self, team: &Team) -> Result<(), TeamWriteError> {
        self.update_team(team)
    }

    fn find_team(&mut self, org: OrgId, id: TeamId) -> Result<Option<Team>, StoreError> {
        Ok(self.teams.get(&id).filter(|t| t.org_id == org).cloned())
    }

    fn count_team_members(&mut self, _org: OrgId, team: TeamId) -> Result<u64, StoreError> {
        Ok(self.team_members.keys().filter(|(t, _)| *t == team).count() as u64)
    }

    fn list_teams(&mut self, org: OrgId, page: PageRequest) -> Result<Page<TeamSummary>, StoreError> {
        let rows: Vec<TeamSummary> = self
            .teams
            .values()
            .filter(|t| t.org_id == org && page.after.is_none_or(|after| t.id.as_uuid() > after))
            .take(page.fetch_limit() as usize)
            .map(|t| TeamSummary {
                team: t.clone(),
                member_count: self.team_members.keys().filter(|(id, _)| *id == t.id).count() as u64,
            })
            .collect();
        Ok(Page::from_overfetch(rows, page, |s| s.team.id.as_uuid()))
    }

    fn update_team(&mut self, team: &Team) -> Result<(), TeamWriteError> {
        let lower = team.name.as_str().to_lowercase();
        if self
            .teams
            .values()
            .any(|t| t.org_id == team.org_id && t.id != team.id && t.name.as_str().to_lowercase() == lower)
        {
            return Err(TeamWriteError::NameTaken);
        }
        // `teams_org_external_id_key`
        if team.external_id.is_some()
            && self
                .teams
                .values()
                .any(|t| t.org_id == team.org_id && t.id != team.id && t.external_id == team.external_id)
        {
            return Err(TeamWriteError::ExternalIdTaken);
        }
        // As the database's trigger: every update moves the version.
        let version = self.teams.get(&team.id).map_or(team.version, |t| t.version + 1);
        self.teams.insert(team.id, Team { version, ..team.clone() });
        Ok(())
    }

    fn delete_team(&mut self, org: OrgId, id: TeamId) -> Result<(), StoreError> {
        if self.teams.get(&id).is_some_and(|t| t.org_id == org) {
            self.teams.remove(&id);
            self.team_members.retain(|(t, _), _| *t != id);
        }
        Ok(())
    }

    fn add_team_member(
        &mut self,
        _org: OrgId,
        team: TeamId,
        member: MemberId,
        is_manager: bool,
        at: DateTime<Utc>,
    ) -> Result<(), TeamWriteError> {
        if self.team_members.contains_key(&(team, member)) {
            return Err(TeamWriteError::AlreadyInTeam);
        }
        self.team_members.insert((team, member), (is_manager, at));
        Ok(())
    }

    fn find_team_member(
        &mut self,
        org: OrgId,
        team: TeamId,
        member: MemberId,
    ) -> Result<Option<TeamMember>, StoreError> {
        Ok(self.team_member_view(team, member).filter(|m| m.member.membership.org_id == org))
    }

    fn remove_team_member(&mut self, _org: OrgId, team: TeamId, member: MemberId) -> Result<(), StoreError> {
        self.team_members.remove(&(team, member));
        Ok(())
    }

    fn set_team_manager(
        &mut self,
        _org: OrgId,
        team: TeamId,
        member: MemberId,
        is_manager: bool,
    ) -> Result<(), StoreError> {
        if let Some(entry) = self.team_members.get_mut(&(team, member)) {
            entry.0 = is_manager;
        }
        Ok(())
    }

    fn list_team_members(
        &mut self,
        org: OrgId,
        team: TeamId,
        page: PageRequest,
    ) -> Result<Page<TeamMember>, StoreError> {
        let rows: Vec<TeamMember> = self
            .team_members
            .keys()
            .filter(|(t, m)| *t == team && page.after.is_none_or(|after| m.as_uuid() > after))
            .filter_map(|(t, m)| self.team_member_view(*t, *m))
            .filter(|m| m.member.membership.org_id == org)
            .take(page.fetch_limit() as usize)
            .collect();
        Ok(Page::from_overfetch(rows, page, |m| m.member.membership.id.as_uuid()))
    }
}

impl ApiKeyRepository for State {
    fn insert_api_key(&mut self, key: &ApiKey, lookup_hash: &[u8]) -> Result<(), StoreError> {
        self.api_keys.insert(key.id, (key.clone(), lookup_hash.to_vec()));
        Ok(())
    }

    fn find_api_key_by_hash(&mut self, lookup_hash: &[u8]) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.api_keys.values().find(|(_, h)| h == lookup_hash).map(|(k, _)| k.clone()))
    }

    fn rekey_api_key(&mut self, from: &[u8], to: &[u8]) -> Result<(), StoreError> {
        self.api_keys.values_mut().filter(|(_, h)| h == from).for_each(|(_, h)| *h = to.to_vec());
        Ok(())
    }

    fn find_api_key(&mut self, org: OrgId, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.api_keys.get(&id).filter(|(k, _)| k.org_id == org).map(|(k, _)| k.clone()))
    }

    fn list_api_keys(&mut self, org: OrgId, page: PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let rows = self
            .api_keys
            .values()
            .rev()
            .filter(|(k, _)| k.org_id == org && page.after.is_none_or(|after| k.id.as_uuid() < after))
            .map(|(k, _)| k.clone())
            .take(page.fetch_limit() as usize)
            .collect();
        Ok(Page::from_overfetch(rows, page, |k: &ApiKey| k.id.as_uuid()))
    }

    fn revoke_api_key(&mut self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some((k, _)) = self.api_keys.get_mut(&id).filter(|(k, _)| k.org_id == org) {
            k.revoked_at = Some(at);
        }
        Ok(())
    }

    fn touch_api_key(
        &mut self,
        org: OrgId,
        id: ApiKeyId,
        at: DateTime<Utc>,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), StoreError> {
        if let Some((k, _)) = self.api_keys.get_mut(&id).filter(|(k, _)| k.org_id == org) {
            k.last_used_at = Some(at);
            k.last_used_ip = ip.or(k.last_used_ip);
        }
        Ok(())
    }
}

/// Mints predictable secrets: `test_key_<n>`, hashed as their own bytes.
#[derive(Debug, Default)]
pub struct CountingMinter(std::sync::atomic::AtomicU64);

impl SecretMinter for CountingMinter {
    fn mint_api_key(&self) -> MintedSecret {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = format!("test_key_{n}");
        MintedSecret { lookup_hash: token.clone().into_bytes(), hint: token.clone(), token }
    }

    fn mint_invite(&self) -> MintedSecret {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = format!("test_invite_{n}");
        MintedSecret { lookup_hash: token.clone().into_bytes(), hint: token.clone(), token }
    }

    fn mint_webhook_secret(&self) -> String {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("whsec_test{n:020}")
    }

    /// A well-formed SCIM token (its use case parses what it is presented with).
    fn mint_scim_token(&self) -> MintedSecret {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = crate::token::ScimToken::from_body(&format!("{n:032}")).unwrap();
        MintedSecret { lookup_hash: token.expose().as_bytes().to_vec(), hint: token.hint(), token: token.into_secret() }
    }
}

impl crate::token::TokenHasher for CountingMinter {
    fn lookup_hash(&self, secret: &str) -> Vec<u8> {
        secret.as_bytes().to_vec()
    }
}

impl crate::sso::SsoRepository for State {
    fn find_sso_config(&mut self, org: OrgId) -> Result<Option<Versioned<crate::sso::SsoConfig>>, StoreError> {
        Ok(self.sso.get(&org).cloned())
    }

    fn save_sso_config(&mut self, org: OrgId, config: &Versioned<crate::sso::SsoConfig>) -> Result<(), StoreError> {
        self.sso.insert(org, config.clone());
        Ok(())
    }

    fn sso_secrets_not_under(
        &mut self,
        key_id: &str,
        limit: i64,
    ) -> Result<Vec<(OrgId, crate::sso::Sealed)>, StoreError> {
        let stale = self.sso.iter().filter_map(|(org, config)| match &config.policy.connection {
            Some(crate::sso::Connection::Oidc(oidc)) => {
                oidc.client_secret.as_ref().filter(|s| s.sealed.key_id != key_id).map(|s| (*org, s.sealed.clone()))
            }
            _ => None,
        });
        Ok(stale.take(usize::try_from(limit).unwrap_or(0)).collect())
    }

    fn replace_sso_secret(&mut self, org: OrgId, sealed: &crate::sso::Sealed) -> Result<(), StoreError> {
        if let Some(crate::sso::Connection::Oidc(oidc)) =
            self.sso.get_mut(&org).and_then(|c| c.policy.connection.as_mut())
        {
            if let Some(secret) = oidc.client_secret.as_mut() {
                secret.sealed = sealed.clone();
            }
        }
        Ok(())
    }
}

impl crate::scim::ScimRepository for State {
    fn find_scim_config(&mut self, org: OrgId) -> Result<Option<Versioned<crate::scim::ScimConfig>>, StoreError> {
        Ok(self.scim.get(&org).cloned())
    }

    fn save_scim_config(&mut self, org: OrgId, config: &Versioned<crate::scim::ScimConfig>) -> Result<(), StoreError> {
        self.scim.insert(org, config.clone());
        Ok(())
    }

    fn find_scim_org_by_token_hash(&mut self, lookup_hash: &[u8]) -> Result<Option<OrgId>, StoreError> {
        let found = self
            .scim
            .iter()
            .find(|(_, c)| c.policy.enabled && c.policy.token.as_ref().is_some_and(|t| t.lookup_hash == lookup_hash));
        Ok(found.map(|(org, _)| *org).filter(|org| self.live(*org).is_some()))
    }

    fn rekey_scim_token(&mut self, from: &[u8], to: &[u8]) -> Result<(), StoreError> {
        let tokens = self.scim.values_mut().filter_map(|c| c.policy.token.as_mut());
        tokens.filter(|t| t.lookup_hash == from).for_each(|t| t.lookup_hash = to.to_vec());
        Ok(())
    }
}

impl InviteRepository for State {
    fn insert_invite(&mut self, invite: &Invite, lookup_hash: &[u8]) -> Result<(), StoreError> {
        self.invites.insert(invite.id, (invite.clone(), lookup_hash.to_vec()));
        Ok(())
    }

    fn find_invite(&mut self, org: OrgId, id: InviteId) -> Result<Option<Invite>, StoreError> {
        Ok(self.invites.get(&id).filter(|(i, _)| i.org_id == org).map(|(i, _)| i.clone()))
    }

    fn find_invite_by_hash(&mut self, lookup_hash: &[u8], _lock: bool) -> Result<Option<Invite>, StoreError> {
        Ok(self.invites.values().find(|(_, h)| h == lookup_hash).map(|(i, _)| i.clone()))
    }

    fn rekey_invite(&mut self, from: &[u8], to: &[u8]) -> Result<(), StoreError> {
        self.invites.values_mut().filter(|(_, h)| h == from).for_each(|(_, h)| *h = to.to_vec());
        Ok(())
    }

    fn list_invites(
        &mut self,
        org: OrgId,
        status: Option<InviteStatus>,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<Invite>, StoreError> {
        let rows = self
            .invites
            .values()
            .rev()
            .map(|(i, _)| i)
            .filter(|i| i.org_id == org && page.after.is_none_or(|after| i.id.as_uuid() < after))
            .filter(|i| status.is_none_or(|s| i.status(now) == s))
            .take(page.fetch_limit() as usize)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, page, |i: &Invite| i.id.as_uuid()))
    }

    fn list_redemptions(&mut self, org: OrgId, invites: &[InviteId]) -> Result<Vec<Redemption>, StoreError> {
        let of_org = |r: &&Redemption| self.invites.get(&r.invite_id).is_some_and(|(i, _)| i.org_id == org);
        Ok(self.redemptions.iter().filter(|r| invites.contains(&r.invite_id)).filter(of_org).cloned().collect())
    }

    fn redeem_invite(&mut self, org: OrgId, redemption: &Redemption) -> Result<(), StoreError> {
        if let Some((invite, _)) = self.invites.get_mut(&redemption.invite_id).filter(|(i, _)| i.org_id == org) {
            invite.uses += 1;
        }
        self.redemptions.push(redemption.clone());
        Ok(())
    }

    fn revoke_invite(&mut self, org: OrgId, id: InviteId, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some((invite, _)) = self.invites.get_mut(&id).filter(|(i, _)| i.org_id == org) {
            invite.revoked_at = Some(at);
        }
        Ok(())
    }

    fn reissue_invite(
        &mut self,
        org: OrgId,
        id: InviteId,
        lookup_hash: &[u8],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some((invite, hash)) = self.invites.get_mut(&id).filter(|(i, _)| i.org_id == org) {
            invite.last_sent_at = Some(at);
            *hash = lookup_hash.to_vec();
        }
        Ok(())
    }
}

impl Outbox for State {
    fn enqueue_email(&mut self, email: &OutgoingEmail) -> Result<(), StoreError> {
        self.outbox.push(email.clone());
        Ok(())
    }
}

impl AuditSink for State {
    fn append_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        let head = self.audit_head(record.org_id)?;
        let (seq, prev) = head.map_or((0, crate::audit::chain::ZERO_HASH), |h| (h.seq, h.hash));
        self.audit_events.push(record.seal(seq + 1, prev));
        self.audit.push(record.clone());
        if let Some(event) = crate::events::NewEvent::of(record) {
            self.publish(event);
        }
        Ok(())
    }
}

fn matches(filter: &AuditFilter, e: &AuditEvent) -> bool {
    filter.action_prefix.as_ref().is_none_or(|p| e.action.starts_with(p.as_str()))
        && filter.actor_id.as_ref().is_none_or(|a| &e.actor_id == a)
        && filter.target_id.as_ref().is_none_or(|t| &e.target_id == t)
        && filter.since.is_none_or(|s| e.occurred_at >= s)
        && filter.until.is_none_or(|u| e.occurred_at < u)
}

impl AuditLog for State {
    fn list_audit(
        &mut self,
        org: OrgId,
        filter: &AuditFilter,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self
            .audit_events
            .iter()
            .rev()
            .filter(|e| e.org_id == org && before_seq.is_none_or(|b| e.seq < b) && matches(filter, e))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    fn scan_audit(
        &mut self,
        org: OrgId,
        filter: &AuditFilter,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self
            .audit_events
            .iter()
            .filter(|e| e.org_id == org && e.seq > after_seq && matches(filter, e))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    fn audit_seq_span(
        &mut self,
        org: OrgId,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let filter = AuditFilter { since, until, ..Default::default() };
        let seqs: Vec<i64> =
            self.audit_events.iter().filter(|e| e.org_id == org && matches(&filter, e)).map(|e| e.seq).collect();
        Ok(seqs.iter().min().zip(seqs.iter().max()).map(|(a, b)| (*a, *b)))
    }

    fn audit_head(&mut self, org: OrgId) -> Result<Option<ChainHead>, StoreError> {
        Ok(self.audit_events.iter().rev().find(|e| e.org_id == org).map(|e| ChainHead {
            seq: e.seq,
            hash: e.hash,
            base_seq: 0,
            base_hash: crate::audit::chain::ZERO_HASH,
        }))
    }
}

impl InMemoryStore {
    /// Alters a stored audit record behind the chain's back, as an attacker with database
    /// access would.
    pub fn tamper_audit(&self, index: usize, change: impl FnOnce(&mut AuditEvent)) {
        change(&mut self.0.lock().unwrap().audit_events[index]);
    }
}

/// An identity with a verified email.
pub fn identity(subject: &str, email: &str) -> Identity {
    Identity {
        subject: subject.to_owned(),
        email: Some(email.to_owned()),
        email_verified: true,
        name: Some(subject.to_owned()),
        auth_methods: vec!["pwd".to_owned()],
        auth_time: None,
        sign_in_method: Some(crate::policy::SignInMethod::Password),
        staff: None,
    }
}

/// A person `subject` with a verified `<subject>@example.com`, signed in by password.
pub fn caller(subject: &str) -> Caller {
    Caller::user(identity(subject, &format!("{subject}@example.com")), RequestMeta::default())
}

/// A person signed in by password at `email`, which their identity provider verified or
/// not.
pub fn person(subject: &str, email: &str, verified: bool) -> Caller {
    let mut id = identity(subject, email);
    id.email_verified = verified;
    Caller::user(id, RequestMeta::default())
}

/// A caller presenting the API key whose token is `token`.
pub fn key_caller(token: &str) -> Caller {
    Caller {
        principal: crate::Principal::ApiKey(crate::ApiKeyCredential {
            hashes: crate::token::LookupHashes::current(token.as_bytes().to_vec()),
        }),
        meta: RequestMeta::default(),
    }
}

/// Adds `subject` to the organization with `role`, returning the membership id.
pub fn join(store: &InMemoryStore, org: OrgId, subject: &str, role: &str) -> MemberId {
    let now = Utc::now();
    store
        .transaction(|tx| {
            let user = crate::user::sync_user(
                tx,
                &identity(subject, &format!("{subject}@example.com")),
                &crate::context::RequestMeta::default(),
                now,
            )?;
            let membership = Membership::new(org, user.id, RoleKey::parse(role).unwrap(), now);
            tx.insert_membership(&membership).map_err(|_| StoreError::Internal("duplicate".into()))?;
            Ok::<_, StoreError>(membership.id)
        })
        .unwrap()
}

impl crate::policy::MfaRepository for State {
    fn mfa_totals(&mut self, org: OrgId) -> Result<crate::policy::MfaTotals, StoreError> {
        let members: Vec<&Membership> = self.memberships.values().filter(|m| m.org_id == org).collect();
        let enrolled = members.iter().filter(|m| self.users[&m.user_id].mfa_enrolled).count();
        Ok(crate::policy::MfaTotals { members: members.len() as u64, enrolled: enrolled as u64 })
    }

    fn list_mfa_members(
        &mut self,
        org: OrgId,
        enrolled: Option<bool>,
        page: PageRequest,
    ) -> Result<Page<crate::policy::MfaMember>, StoreError> {
        let rows = self
            .memberships
            .values()
            .filter(|m| m.org_id == org && page.after.is_none_or(|after| m.id.as_uuid() > after))
            .map(|m| {
                let user = &self.users[&m.user_id];
                crate::policy::MfaMember {
                    member_id: m.id,
                    user_id: user.id,
                    name: user.name.clone(),
                    email: user.email.clone(),
                    email_verified: user.email_verified,
                    role: m.role.clone(),
                    mfa_enrolled: user.mfa_enrolled,
                    mfa_methods: user.mfa_methods.clone(),
                    last_seen_at: user.last_seen_at,
                    last_reminded_at: self.mfa_reminded.get(&m.id).copied(),
                }
            })
            .filter(|m| enrolled.is_none_or(|e| m.mfa_enrolled == e))
            .take(page.fetch_limit() as usize)
            .collect();
        Ok(Page::from_overfetch(rows, page, |m: &crate::policy::MfaMember| m.member_id.as_uuid()))
    }

    fn mark_mfa_reminded(&mut self, org: OrgId, members: &[MemberId], at: DateTime<Utc>) -> Result<(), StoreError> {
        for id in members.iter().filter(|id| self.memberships.get(id).is_some_and(|m| m.org_id == org)) {
            self.mfa_reminded.insert(*id, at);
        }
        Ok(())
    }
}

impl NotificationRepository for State {
    fn insert_notifications(&mut self, notifications: &[Notification]) -> Result<(), StoreError> {
        for n in notifications {
            self.notifications.insert(n.id, n.clone());
        }
        Ok(())
    }

    fn list_notifications(
        &mut self,
        user: UserId,
        page: PageRequest<NotificationCursor>,
    ) -> Result<Page<Notification, NotificationCursor>, StoreError> {
        let mut rows: Vec<Notification> = self
            .notifications
            .values()
            .filter(|n| n.user_id == user && page.after.is_none_or(|after| n.position() > after))
            .cloned()
            .collect();
        rows.sort_by_key(Notification::position);
        rows.truncate(page.fetch_limit() as usize);
        Ok(Page::from_overfetch(rows, page, Notification::position))
    }

    fn mark_notification_read(
        &mut self,
        user: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<Option<Notification>, StoreError> {
        let Some(n) = self.notifications.get_mut(&id).filter(|n| n.user_id == user) else { return Ok(None) };
        n.read_at.get_or_insert(at);
        Ok(Some(n.clone()))
    }
}

impl crate::verified_domain::DomainRepository for State {
    fn insert_domain(
        &mut self,
        domain: &crate::verified_domain::OrgDomain,
    ) -> Result<(), crate::verified_domain::DomainWriteError> {
        if self.domains.values().any(|d| d.org_id == domain.org_id && d.name == domain.name) {
            return Err(crate::verified_domain::DomainWriteError::AlreadyClaimed);
        }
        self.update_domain(domain)
    }

    fn update_domain(
        &mut self,
        domain: &crate::verified_domain::OrgDomain,
    ) -> Result<(), crate::verified_domain::DomainWriteError> {
        let taken = domain.is_verified()
            && self.domains.values().any(|d| d.id != domain.id && d.name == domain.name && d.is_verified());
        if taken {
            return Err(crate::verified_domain::DomainWriteError::VerifiedElsewhere);
        }
        // As the database's trigger does.
        let version = self.domains.get(&domain.id).map_or(domain.version, |stored| stored.version_after(domain));
        self.domains.insert(domain.id, crate::verified_domain::OrgDomain { version, ..domain.clone() });
        Ok(())
    }

    fn find_domain(
        &mut self,
        org: OrgId,
        domain: &crate::verified_domain::DomainRef,
        _lock: bool,
    ) -> Result<Option<crate::verified_domain::OrgDomain>, StoreError> {
        use crate::verified_domain::DomainRef;
        Ok(self
            .domains
            .values()
            .find(|d| {
                d.org_id == org
                    && match domain {
                        DomainRef::Id(id) => d.id == *id,
                        DomainRef::Name(name) => d.name == *name,
                    }
            })
            .cloned())
    }

    fn list_domains(&mut self, org: OrgId) -> Result<Vec<crate::verified_domain::OrgDomain>, StoreError> {
        let mut domains: Vec<_> = self.domains.values().filter(|d| d.org_id == org).cloned().collect();
        domains.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(domains)
    }

    fn delete_domain(&mut self, org: OrgId, id: crate::ids::DomainId) -> Result<(), StoreError> {
        self.domains.retain(|_, d| !(d.org_id == org && d.id == id));
        Ok(())
    }

    fn delete_domains_of_org(&mut self, org: OrgId) -> Result<Vec<crate::verified_domain::DomainName>, StoreError> {
        let released = self.domains.values().filter(|d| d.org_id == org).map(|d| d.name.clone()).collect();
        self.domains.retain(|_, d| d.org_id != org);
        Ok(released)
    }

    fn verified_domain(
        &mut self,
        name: &crate::verified_domain::DomainName,
    ) -> Result<Option<crate::verified_domain::OrgDomain>, StoreError> {
        Ok(self.domains.values().find(|d| d.name == *name && d.is_verified() && self.live(d.org_id).is_some()).cloned())
    }

    fn domains_due_for_recheck(
        &mut self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<crate::verified_domain::OrgDomain>, StoreError> {
        let mut due: Vec<_> = self
            .domains
            .values()
            .filter(|d| d.is_verified() && d.last_checked_at.is_none_or(|at| at < before))
            .cloned()
            .collect();
        due.sort_by_key(|d| (d.last_checked_at, d.id));
        due.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(due)
    }
}

impl crate::join::JoinRequestRepository for State {
    fn insert_join_request(&mut self, request: &crate::join::JoinRequest) -> Result<(), StoreError> {
        self.join_requests.insert(request.id, request.clone());
        Ok(())
    }

    fn update_join_request(&mut self, request: &crate::join::JoinRequest) -> Result<(), StoreError> {
        self.join_requests.insert(request.id, request.clone());
        Ok(())
    }

    fn find_join_request(
        &mut self,
        org: OrgId,
        id: crate::ids::JoinRequestId,
        _lock: bool,
    ) -> Result<Option<crate::join::JoinRequest>, StoreError> {
        Ok(self.join_requests.get(&id).filter(|r| r.org_id == org).cloned())
    }

    fn pending_join_request(
        &mut self,
        org: OrgId,
        user: UserId,
    ) -> Result<Option<crate::join::JoinRequest>, StoreError> {
        Ok(self
            .join_requests
            .values()
            .find(|r| r.org_id == org && r.user_id == user && r.status == crate::join::JoinRequestStatus::Pending)
            .cloned())
    }

    fn list_join_requests(
        &mut self,
        org: OrgId,
        status: Option<crate::join::JoinRequestStatus>,
        page: PageRequest,
    ) -> Result<Page<crate::join::JoinRequest>, StoreError> {
        let rows: Vec<_> = self
            .join_requests
            .values()
            .rev()
            .filter(|r| r.org_id == org && status.is_none_or(|s| r.status == s))
            .filter(|r| page.after.is_none_or(|after| r.id.as_uuid() < after))
            .take(usize::try_from(page.fetch_limit()).unwrap_or(0))
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, page, |r| r.id.as_uuid()))
    }
}

/// Records `name` as a domain `org` has verified, as if its DNS proof had passed.
pub fn verified_domain_of(store: &InMemoryStore, org: OrgId, name: &str) {
    let now = Utc::now();
    let domain = crate::verified_domain::OrgDomain {
        id: crate::ids::DomainId::generate(),
        org_id: org,
        name: crate::verified_domain::DomainName::parse(name).unwrap(),
        challenge: "test".into(),
        verified_at: Some(now),
        expires_at: None,
        last_checked_at: Some(now),
        missing_since: None,
        join: crate::verified_domain::JoinPolicy::Off,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    store.transaction(|tx| tx.insert_domain(&domain).map_err(|_| StoreError::Internal("domain".into()))).unwrap();
}

/// A presented secret as the fakes store it: its bytes are its hash, under one key.
pub fn presented(hash: &[u8]) -> crate::token::LookupHashes {
    crate::token::LookupHashes::current(hash.to_vec())
}
