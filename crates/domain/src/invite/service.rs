use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::email::render_invite_email;
use super::model::{
    AcceptedInvite, CreateInvite, Invite, InviteError, InvitePreview, InviteStatus, InviteView, IssuedInvite,
    Redemption,
};
use crate::access::{authorize_team_membership_change, enter_org, member_grant, role_permissions, Lock, OrgScope};
use crate::apikey::SecretMinter;
use crate::audit::{Actor, AuditAction, AuditRecord, Changes, Target};
use crate::authz::{Grant, Permission, RoleGrant, RoleKey};
use crate::context::Caller;
use crate::error::{AccessError, Invalid};
use crate::ids::{InviteId, OrgId, TeamId};
use crate::mail::OutgoingEmail;
use crate::member::Membership;
use crate::org::{OrgRef, Organization};
use crate::pagination::{Page, PageRequest};
use crate::store::{Store, Tx};
use crate::time::Clock;
use crate::token::LookupHashes;
use crate::user::{sync_user, Email};

/// How invites behave; deployment-specific.
#[derive(Debug, Clone)]
pub struct InviteSettings {
    /// The invite's token is appended to this to make the link people click, e.g.
    /// `https://app.example.com/invites/`.
    pub accept_url_base: String,
    /// How long an invite lasts when the client names no expiry (7 days by default).
    pub default_ttl: Duration,
    /// The longest lifetime a client may give an invite (30 days by default).
    pub max_ttl: Duration,
    /// The most uses a link invite may allow (1,000 by default).
    pub max_uses: i32,
    /// The least time between two sends of one invite's email.
    pub resend_interval: Duration,
}

impl Default for InviteSettings {
    fn default() -> Self {
        Self {
            accept_url_base: "http://127.0.0.1:8080/invites/".to_owned(),
            default_ttl: Duration::days(7),
            max_ttl: Duration::days(30),
            max_uses: 1_000,
            resend_interval: Duration::seconds(60),
        }
    }
}

/// Use cases of invitations.
#[derive(Clone)]
pub struct InviteService<S> {
    store: S,
    clock: Arc<dyn Clock>,
    minter: Arc<dyn SecretMinter>,
    settings: InviteSettings,
}

fn record(
    org: OrgId,
    actor: &Actor,
    caller: &Caller,
    action: AuditAction,
    invite: InviteId,
    changes: Changes,
    at: DateTime<Utc>,
) -> AuditRecord {
    AuditRecord::new(org, actor, action, Target::new("invite", invite), &caller.meta, at).with_changes(changes)
}

/// What an inviter must hold to hand out an invite: `invites:create`, every permission of
/// its role (and, for an owner's role, to be an owner), and for a team invite the right to
/// add members to that team, since a team seat is a team membership.
fn authorize_inviter(
    tx: &mut dyn Tx,
    org: OrgId,
    grant: &Grant,
    membership: Option<&Membership>,
    role: &RoleKey,
    team: Option<TeamId>,
) -> Result<(), InviteError> {
    grant.authorize(Permission::InvitesCreate)?;
    let permissions = role_permissions(tx, org, role)?.ok_or_else(|| InviteError::UnknownRole(role.to_string()))?;
    grant.may_change_role(None, Some(&RoleGrant { key: role, permissions }))?;
    if let Some(team) = team {
        tx.find_team(org, team)?.ok_or(AccessError::NotFound("team"))?;
        authorize_team_membership_change::<InviteError>(tx, org, grant, membership, team)?;
    }
    Ok(())
}

impl<S: Store> InviteService<S> {
    /// The service over `store`, minting secrets with `minter`, reading time from `clock`,
    /// behaving as `settings` say.
    pub fn new(store: S, clock: Arc<dyn Clock>, minter: Arc<dyn SecretMinter>, settings: InviteSettings) -> Self {
        Self { store, clock, minter, settings }
    }

    fn queue_email(
        &self,
        tx: &mut dyn Tx,
        org: &Organization,
        invite: &Invite,
        to: &Email,
        accept_url: &str,
    ) -> Result<(), InviteError> {
        let content = render_invite_email(
            org.name.as_str(),
            invite.inviter_name.as_deref(),
            invite.role.as_str(),
            accept_url,
            invite.expires_at,
        );
        tx.enqueue_email(&OutgoingEmail::new(Some(org.id), to.clone(), content))?;
        Ok(())
    }

    /// Creates a link or email-bound invite. The caller must hold every permission of the
    /// role it hands out; no invite makes an owner. An email invite is queued for delivery
    /// in the same transaction.
    pub fn create(&self, caller: &Caller, org: &OrgRef, input: CreateInvite) -> Result<IssuedInvite, InviteError> {
        let now = self.clock.now();
        let mut invalid = Invalid::default();
        let role = invalid.check("role", RoleKey::parse(&input.role));
        let email = input.email.as_deref().and_then(|e| invalid.check("email", Email::parse(e)));
        let max_uses = input.max_uses.unwrap_or(1);
        if !(1..=self.settings.max_uses).contains(&max_uses) {
            invalid.0.push(crate::FieldError::new(
                "max_uses",
                "out_of_range",
                format!("1 to {}", self.settings.max_uses),
            ));
        } else if email.is_some() && max_uses != 1 {
            invalid.0.push(crate::FieldError::new(
                "max_uses",
                "email_invite_single_use",
                "an email invite is for one person",
            ));
        }
        let expires_at = input.expires_at.unwrap_or(now + self.settings.default_ttl);
        if expires_at <= now || expires_at > now + self.settings.max_ttl {
            let days = self.settings.max_ttl.num_days();
            invalid.0.push(crate::FieldError::new(
                "expires_at",
                "out_of_range",
                format!("between now and {days} days from now"),
            ));
        }
        invalid.into_result()?;
        let Some(role) = role else { return Err(Invalid::field("role", "required", "a role is required").into()) };
        if role.is_owner() {
            return Err(InviteError::OwnerRole);
        }

        self.store.transaction(|tx| {
            let scope = enter_org::<InviteError>(tx, caller, org, now, Lock::None)?;
            caller.identity()?;
            authorize_inviter(tx, scope.org.id, &scope.grant, scope.membership.as_ref(), &role, input.team_id)?;
            let secret = self.minter.mint_invite();
            let accept_url = format!("{}{}", self.settings.accept_url_base, secret.token);
            let invite = Invite {
                id: InviteId::generate(),
                org_id: scope.org.id,
                role,
                team_id: input.team_id,
                max_uses,
                uses: 0,
                expires_at,
                created_by: scope.actor.clone(),
                inviter_name: scope.user.as_ref().and_then(|u| u.name.clone()),
                created_at: now,
                revoked_at: None,
                last_sent_at: email.as_ref().map(|_| now),
                email,
            };
            tx.insert_invite(&invite, &secret.lookup_hash)?;
            if let Some(to) = &invite.email {
                self.queue_email(tx, &scope.org, &invite, to, &accept_url)?;
            }
            let mut changes = Changes::new();
            changes.set("role", invite.role.as_str());
            changes.set("email", invite.email.as_ref().map(|e| e.as_str().to_owned()));
            changes.set("max_uses", invite.max_uses);
            changes.set("expires_at", invite.expires_at.to_rfc3339());
            changes.set("team_id", invite.team_id.map(|t| t.to_string()));
            tx.append_audit(&record(
                scope.org.id,
                &scope.actor,
                caller,
                AuditAction::InviteCreated,
                invite.id,
                changes,
                now,
            ))?;
            Ok(IssuedInvite { invite, token: secret.token, accept_url })
        })
    }

    /// The organization's invites, newest first, optionally of one status, each with its
    /// redemptions; needs `invites:read`.
    pub fn list(
        &self,
        caller: &Caller,
        org: &OrgRef,
        status: Option<InviteStatus>,
        page: PageRequest,
    ) -> Result<Page<InviteView>, InviteError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<InviteError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::InvitesRead)?;
            let invites = tx.list_invites(scope.org.id, status, now, page)?;
            let ids: Vec<InviteId> = invites.items.iter().map(|i| i.id).collect();
            let mut by_invite: std::collections::HashMap<InviteId, Vec<Redemption>> = std::collections::HashMap::new();
            for redemption in tx.list_redemptions(scope.org.id, &ids)? {
                by_invite.entry(redemption.invite_id).or_default().push(redemption);
            }
            Ok(invites.map(|invite| {
                let own = by_invite.remove(&invite.id).unwrap_or_default();
                InviteView { status: invite.status(now), invite, redemptions: own }
            }))
        })
    }

    fn find(tx: &mut dyn Tx, scope: &OrgScope, id: InviteId) -> Result<Invite, InviteError> {
        Ok(tx.find_invite(scope.org.id, id)?.ok_or(AccessError::NotFound("invite"))?)
    }

    /// Sends an email invite's message again, at most once per `resend_interval`. Only a
    /// hash of the secret is stored, so the email carries a fresh secret and the previous
    /// link stops working.
    pub fn resend(&self, caller: &Caller, org: &OrgRef, id: InviteId) -> Result<(), InviteError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<InviteError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::InvitesCreate)?;
            let invite = Self::find(tx, &scope, id)?;
            let Some(to) = invite.email.clone() else { return Err(InviteError::NotAnEmailInvite) };
            match invite.status(now) {
                InviteStatus::Pending => {}
                InviteStatus::Expired => return Err(InviteError::Expired),
                InviteStatus::Revoked => return Err(InviteError::Revoked),
                InviteStatus::Accepted | InviteStatus::Exhausted => return Err(InviteError::Exhausted),
            }
            if let Some(sent) = invite.last_sent_at.filter(|sent| now - *sent < self.settings.resend_interval) {
                let wait = (self.settings.resend_interval - (now - sent)).num_seconds().max(1);
                return Err(InviteError::ResendTooSoon { retry_after_secs: u32::try_from(wait).unwrap_or(u32::MAX) });
            }
            let secret = self.minter.mint_invite();
            let link = format!("{}{}", self.settings.accept_url_base, secret.token);
            tx.reissue_invite(invite.org_id, invite.id, &secret.lookup_hash, now)?;
            self.queue_email(tx, &scope.org, &invite, &to, &link)?;
            tx.append_audit(&record(
                scope.org.id,
                &scope.actor,
                caller,
                AuditAction::InviteResent,
                invite.id,
                Changes::new(),
                now,
            ))?;
            Ok(())
        })
    }

    /// Revokes an invite: its link is dead at once. Revoking twice changes nothing.
    pub fn revoke(&self, caller: &Caller, org: &OrgRef, id: InviteId) -> Result<(), InviteError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<InviteError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::InvitesRevoke)?;
            let invite = Self::find(tx, &scope, id)?;
            if invite.revoked_at.is_some() {
                return Ok(());
            }
            tx.revoke_invite(scope.org.id, invite.id, now)?;
            tx.append_audit(&record(
                scope.org.id,
                &scope.actor,
                caller,
                AuditAction::InviteRevoked,
                invite.id,
                Changes::new(),
                now,
            ))?;
            Ok(())
        })
    }

    /// What a link's holder may see: only for a usable invite of a live organization;
    /// anything else is the same not-found.
    pub fn preview(&self, secret: &LookupHashes) -> Result<InvitePreview, InviteError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let not_found = || InviteError::Access(AccessError::NotFound("invite"));
            let invite = secret
                .find(tx, |tx, hash| tx.find_invite_by_hash(hash, false), |tx, from, to| tx.rekey_invite(from, to))?
                .filter(|i| i.status(now) == InviteStatus::Pending)
                .ok_or_else(not_found)?;
            let org = tx.find_org(invite.org_id)?.ok_or_else(not_found)?;
            Ok(InvitePreview {
                org_name: org.name.as_str().to_owned(),
                role: invite.role,
                inviter_name: invite.inviter_name,
                expires_at: invite.expires_at,
                email_bound: invite.email.is_some(),
            })
        })
    }

    /// An invite hands out its inviter's rights, so it works only while the inviter, as
    /// they are now, could still make it: a member holding `invites:create`, every
    /// permission of its role, and the right to seat someone in its team. Demoting or
    /// removing the inviter, editing their custom role or taking their team-manager flag
    /// away stops their invites.
    fn still_grantable(tx: &mut dyn Tx, invite: &Invite) -> Result<(), InviteError> {
        let Actor::User(inviter) = invite.created_by else { return Err(InviteError::NoLongerValid) };
        let membership = tx
            .find_membership_of_user(invite.org_id, inviter)?
            .filter(|m| !m.is_suspended())
            .ok_or(InviteError::NoLongerValid)?;
        let grant = member_grant(tx, invite.org_id, &membership.role)?;
        authorize_inviter(tx, invite.org_id, &grant, Some(&membership), &invite.role, invite.team_id).map_err(|e| {
            match e {
                InviteError::Store(e) => InviteError::Store(e),
                _ => InviteError::NoLongerValid,
            }
        })
    }

    /// Joins the invite's organization with its role (and team). The invite row is locked
    /// first, so however many people accept at once, no more than `max_uses` succeed.
    pub fn accept(&self, caller: &Caller, secret: &LookupHashes) -> Result<AcceptedInvite, InviteError> {
        let now = self.clock.now();
        let identity = caller.identity()?.clone();
        self.store.transaction(|tx| {
            let not_found = || InviteError::Access(AccessError::NotFound("invite"));
            let invite = secret
                .find(tx, |tx, hash| tx.find_invite_by_hash(hash, true), |tx, from, to| tx.rekey_invite(from, to))?
                .ok_or_else(not_found)?;
            let (org, policies) = tx.find_org_for_entry(invite.org_id, false)?.ok_or_else(not_found)?;
            match invite.status(now) {
                InviteStatus::Pending => {}
                InviteStatus::Expired => return Err(InviteError::Expired),
                InviteStatus::Revoked => return Err(InviteError::Revoked),
                InviteStatus::Accepted | InviteStatus::Exhausted => return Err(InviteError::Exhausted),
            }
            let user = sync_user(tx, &identity, &caller.meta, now)?;
            if let Some(invited) = &invite.email {
                if !(user.email_verified && user.email.as_ref() == Some(invited)) {
                    return Err(InviteError::EmailMismatch);
                }
            }
            if tx.find_membership_of_user(org.id, user.id)?.is_some() {
                return Err(InviteError::AlreadyMember);
            }
            // Joining is a way into the organization: its policies apply as on any request.
            policies.admit(&caller.presented(), now).map_err(AccessError::Policy)?;
            Self::still_grantable(tx, &invite)?;
            let membership = Membership::new(org.id, user.id, invite.role.clone(), now);
            tx.insert_membership(&membership)?;
            if let Some(team) = invite.team_id {
                if tx.find_team(org.id, team)?.is_some() {
                    tx.add_team_member(org.id, team, membership.id, false, now)?;
                }
            }
            tx.redeem_invite(
                org.id,
                &Redemption { invite_id: invite.id, member_id: membership.id, user_id: user.id, redeemed_at: now },
            )?;
            let mut changes = Changes::new();
            changes.set("member_id", membership.id.to_string());
            changes.set("role", membership.role.as_str());
            changes.set("team_id", invite.team_id.map(|t| t.to_string()));
            tx.append_audit(&record(
                org.id,
                &Actor::User(user.id),
                caller,
                AuditAction::InviteAccepted,
                invite.id,
                changes,
                now,
            ))?;
            Ok(AcceptedInvite { org, membership })
        })
    }
}
