//! Use cases of joining by domain.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{JoinRequest, JoinRequestStatus, SuggestedOrg};
use crate::access::{enter_org, role_permissions, Lock, OrgScope};
use crate::audit::{Actor, AuditAction, AuditRecord, Changes, Target};
use crate::authz::{Permission, RoleGrant, RoleKey, SystemRole};
use crate::context::Caller;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::{JoinRequestId, NotificationId, OrgId};
use crate::member::{MemberWriteError, Membership};
use crate::notification::{Notification, NotificationKind};
use crate::org::{OrgRef, Organization};
use crate::pagination::{Page, PageRequest};
use crate::store::{Store, Tx};
use crate::time::Clock;
use crate::user::{sync_user, User};
use crate::verified_domain::{DomainName, JoinPolicy, OrgDomain};

/// Why a use case of joining by domain failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The caller's email is missing or not verified by their identity provider.
    #[error("joining by domain needs an email address your identity provider verified")]
    EmailNotVerified,
    /// The caller already belongs to the organization.
    #[error("you are already a member of this organization")]
    AlreadyMember,
    /// The caller has an open request to join it already.
    #[error("you already asked to join this organization; an admin will decide")]
    AlreadyRequested,
    /// The request was already approved or denied (named).
    #[error("the join request was already {0}")]
    AlreadyDecided(&'static str),
    /// The requester's verified email left the organization's verified domains.
    #[error("the requester's verified email is no longer in a domain this organization verified")]
    NoLongerEligible,
    /// The role named is not one of the organization's.
    #[error("no role of the organization has the key `{0}`")]
    UnknownRole(String),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<MemberWriteError> for JoinError {
    fn from(err: MemberWriteError) -> Self {
        match err {
            MemberWriteError::AlreadyMember => JoinError::AlreadyMember,
            MemberWriteError::Store(e) => JoinError::Store(e),
        }
    }
}

/// What asking to join did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// Waiting for an admin.
    Pending(JoinRequest),
    /// The domain's `auto` policy admitted the person at once.
    Joined(JoinRequest, Membership),
}

/// The domain of the person's email, only when their identity provider verified it.
fn verified_domain_of(user: &User) -> Option<DomainName> {
    user.email.as_ref().filter(|_| user.email_verified).and_then(DomainName::of_email)
}

/// The verified domain of `org` a person's address belongs to, if the organization opened
/// it to its people.
fn open_domain_of(tx: &mut dyn Tx, org: OrgId, user: &User) -> Result<Option<OrgDomain>, StoreError> {
    let Some(name) = verified_domain_of(user) else { return Ok(None) };
    Ok(tx.verified_domain(&name)?.filter(|d| d.org_id == org && d.join.is_open()))
}

fn record(
    org: OrgId,
    actor: &Actor,
    caller: &Caller,
    action: AuditAction,
    id: JoinRequestId,
    now: DateTime<Utc>,
) -> AuditRecord {
    AuditRecord::new(org, actor, action, Target::new("join_request", id), &caller.meta, now)
}

fn notice(request: &JoinRequest, org: &Organization, kind: NotificationKind, now: DateTime<Utc>) -> Notification {
    let (title, body) = match kind {
        NotificationKind::JoinRequestApproved => (
            format!("You joined {}", org.name.as_str()),
            format!("Your request to join {} was approved.", org.name.as_str()),
        ),
        _ => (
            format!("Your request to join {} was declined", org.name.as_str()),
            format!("An admin of {} declined your request to join.", org.name.as_str()),
        ),
    };
    Notification {
        id: NotificationId::generate(),
        user_id: request.user_id,
        org_id: Some(org.id),
        kind,
        title,
        body,
        created_at: now,
        read_at: None,
    }
}

/// Use cases of joining by domain.
#[derive(Clone)]
pub struct JoinService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: Store> JoinService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The organizations the caller may join by their verified email's domain: at most
    /// one, as a domain is verified by at most one organization.
    pub fn suggested(&self, caller: &Caller) -> Result<Vec<SuggestedOrg>, JoinError> {
        let now = self.clock.now();
        let identity = caller.identity()?.clone();
        self.store.transaction(|tx| {
            let user = sync_user(tx, &identity, &caller.meta, now)?;
            let Some(name) = verified_domain_of(&user) else { return Ok(Vec::new()) };
            let Some(domain) = tx.verified_domain(&name)?.filter(|d| d.join.is_open()) else { return Ok(Vec::new()) };
            if tx.find_membership_of_user(domain.org_id, user.id)?.is_some() {
                return Ok(Vec::new());
            }
            let Some(org) = tx.find_org(domain.org_id)? else { return Ok(Vec::new()) };
            let pending_request = tx.pending_join_request(org.id, user.id)?.map(|r| r.id);
            Ok(vec![SuggestedOrg { org, domain: domain.name, join: domain.join, pending_request }])
        })
    }

    /// Asks to join `org`. Only someone whose verified email is in a domain the
    /// organization verified and opened may ask; to anyone else the organization does not
    /// exist. Under `auto`, the request admits them at once while whoever set the policy
    /// could still grant its role; otherwise it waits for an admin.
    pub fn request(&self, caller: &Caller, org: &OrgRef) -> Result<JoinOutcome, JoinError> {
        let now = self.clock.now();
        let identity = caller.identity()?.clone();
        let not_found = || JoinError::Access(AccessError::NotFound("organization"));
        let OrgRef::Id(org_id) = org else { return Err(not_found()) };
        self.store.transaction(|tx| {
            let user = sync_user(tx, &identity, &caller.meta, now)?;
            if verified_domain_of(&user).is_none() {
                return Err(JoinError::EmailNotVerified);
            }
            let (org, policies) = tx.find_org_for_entry(*org_id, true)?.ok_or_else(not_found)?;
            // A member learns nothing from being told so.
            if tx.find_membership_of_user(org.id, user.id)?.is_some() {
                return Err(JoinError::AlreadyMember);
            }
            let domain = open_domain_of(tx, org.id, &user)?.ok_or_else(not_found)?;
            if tx.pending_join_request(org.id, user.id)?.is_some() {
                return Err(JoinError::AlreadyRequested);
            }
            // Joining is a way into the organization: its policies apply as on any request.
            policies.admit(&caller.presented(), now).map_err(AccessError::Policy)?;
            let email = user.email.clone().ok_or(JoinError::EmailNotVerified)?;
            let mut request = JoinRequest {
                id: JoinRequestId::generate(),
                org_id: org.id,
                user_id: user.id,
                email,
                domain: domain.name.clone(),
                status: JoinRequestStatus::Pending,
                decided_by: None,
                decided_at: None,
                role: None,
                member_id: None,
                created_at: now,
            };
            tx.insert_join_request(&request)?;
            let actor = Actor::User(user.id);
            let mut changes = Changes::new();
            changes.set("domain", domain.name.as_str());
            changes.set("email", request.email.as_str());
            tx.append_audit(
                &record(org.id, &actor, caller, AuditAction::JoinRequested, request.id, now).with_changes(changes),
            )?;
            let JoinPolicy::Auto { role, set_by } = &domain.join else { return Ok(JoinOutcome::Pending(request)) };
            if !crate::access::setter_may_assign(tx, org.id, *set_by, role)? {
                return Ok(JoinOutcome::Pending(request));
            }
            let membership = Self::admit(tx, &mut request, role.clone(), None, now)?;
            let mut changes = Changes::new();
            changes.set("member_id", membership.id.to_string());
            changes.set("role", role.as_str());
            changes.set("domain", domain.name.as_str());
            changes.set("policy_set_by", set_by.to_string());
            tx.append_audit(
                &record(org.id, &actor, caller, AuditAction::JoinedByDomain, request.id, now).with_changes(changes),
            )?;
            Ok(JoinOutcome::Joined(request, membership))
        })
    }

    fn admit(
        tx: &mut dyn Tx,
        request: &mut JoinRequest,
        role: RoleKey,
        decided_by: Option<crate::ids::UserId>,
        now: DateTime<Utc>,
    ) -> Result<Membership, JoinError> {
        let membership = Membership::new(request.org_id, request.user_id, role.clone(), now);
        tx.insert_membership(&membership)?;
        request.status = JoinRequestStatus::Approved;
        request.decided_by = decided_by;
        request.decided_at = Some(now);
        request.role = Some(role);
        request.member_id = Some(membership.id);
        tx.update_join_request(request)?;
        Ok(membership)
    }

    fn enter(
        tx: &mut dyn Tx,
        caller: &Caller,
        org: &OrgRef,
        now: DateTime<Utc>,
        lock: Lock,
    ) -> Result<OrgScope, JoinError> {
        let scope = enter_org::<JoinError>(tx, caller, org, now, lock)?;
        scope.grant.authorize(Permission::MembersUpdate)?;
        Ok(scope)
    }

    fn find_pending(tx: &mut dyn Tx, org: OrgId, id: JoinRequestId) -> Result<JoinRequest, JoinError> {
        let request = tx.find_join_request(org, id, true)?.ok_or(AccessError::NotFound("join request"))?;
        match request.status {
            JoinRequestStatus::Pending => Ok(request),
            decided => Err(JoinError::AlreadyDecided(decided.as_str())),
        }
    }

    /// Join requests of the organization, newest first.
    pub fn list(
        &self,
        caller: &Caller,
        org: &OrgRef,
        status: Option<JoinRequestStatus>,
        page: PageRequest,
    ) -> Result<Page<JoinRequest>, JoinError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::None)?;
            Ok(tx.list_join_requests(scope.org.id, status, page)?)
        })
    }

    /// Admits the requester with `role` (default: the domain's `auto` role, else
    /// `member`). The approver must be able to grant that role, and the requester must
    /// still have a verified email in a domain the organization holds verified.
    pub fn approve(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: JoinRequestId,
        role: Option<&str>,
    ) -> Result<(JoinRequest, Membership), JoinError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::Org)?;
            let approver = scope.user.clone().ok_or(AccessError::UserRequired)?;
            let mut request = Self::find_pending(tx, scope.org.id, id)?;
            let domain = tx.verified_domain(&request.domain)?.filter(|d| d.org_id == scope.org.id);
            let role = match role {
                Some(raw) => RoleKey::parse(raw).map_err(|e| Invalid::field("role", e.code, e.message))?,
                None => {
                    domain.as_ref().and_then(|d| d.join.role().cloned()).unwrap_or_else(|| SystemRole::Member.key())
                }
            };
            // As with invites: nobody joins as an owner; ownership is handed over later.
            if role.is_owner() {
                return Err(Invalid::field("role", "owner_not_allowed", "nobody joins as an owner").into());
            }
            let permissions =
                role_permissions(tx, scope.org.id, &role)?.ok_or_else(|| JoinError::UnknownRole(role.to_string()))?;
            scope.grant.may_change_role(None, Some(&RoleGrant { key: &role, permissions }))?;
            let requester = tx.find_user(request.user_id)?;
            let still_in_domain = requester.as_ref().and_then(verified_domain_of).as_ref() == Some(&request.domain);
            if domain.is_none() || !still_in_domain {
                return Err(JoinError::NoLongerEligible);
            }
            let membership = Self::admit(tx, &mut request, role.clone(), Some(approver.id), now)?;
            let mut changes = Changes::new();
            changes.set("member_id", membership.id.to_string());
            changes.set("role", role.as_str());
            changes.set("user_id", request.user_id.to_string());
            let audit = record(scope.org.id, &scope.actor, caller, AuditAction::JoinRequestApproved, request.id, now);
            tx.append_audit(&audit.with_changes(changes))?;
            tx.insert_notifications(&[notice(&request, &scope.org, NotificationKind::JoinRequestApproved, now)])?;
            Ok((request, membership))
        })
    }

    /// Declines the request; the requester is told, and may ask again.
    pub fn deny(&self, caller: &Caller, org: &OrgRef, id: JoinRequestId) -> Result<JoinRequest, JoinError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::Org)?;
            let denier = scope.user.clone().ok_or(AccessError::UserRequired)?;
            let mut request = Self::find_pending(tx, scope.org.id, id)?;
            request.status = JoinRequestStatus::Denied;
            request.decided_by = Some(denier.id);
            request.decided_at = Some(now);
            tx.update_join_request(&request)?;
            let mut changes = Changes::new();
            changes.set("user_id", request.user_id.to_string());
            let audit = record(scope.org.id, &scope.actor, caller, AuditAction::JoinRequestDenied, request.id, now);
            tx.append_audit(&audit.with_changes(changes))?;
            tx.insert_notifications(&[notice(&request, &scope.org, NotificationKind::JoinRequestDenied, now)])?;
            Ok(request)
        })
    }
}
