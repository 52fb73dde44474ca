//! Linking people an organization's identity provider provisioned over SCIM, before they
//! ever signed in, to their sign-in.
//!
//! A provisioned person is a user without a subject, holding the email the identity
//! provider sent. When someone signs in with that email *verified* by the platform's
//! identity provider, and the provisioning organization has verified the email's domain,
//! the provisioned membership becomes theirs. An unverified email links nothing (anyone can
//! claim an address), and neither does an address outside the organization's verified
//! domains: otherwise any organization could pull any person in by provisioning their
//! address, and read their profile.

use chrono::{DateTime, Utc};

use super::User;
use crate::audit::{Actor, AuditAction, AuditRecord, Changes, Target};
use crate::context::RequestMeta;
use crate::error::StoreError;
use crate::member::Membership;
use crate::store::Tx;
use crate::verified_domain::DomainName;

/// Links to `user` the memberships provisioned with `user`'s verified email by the
/// organization that verified its domain, recording each in that organization's audit
/// log. Returns those memberships.
pub fn link_provisioned(
    tx: &mut dyn Tx,
    user: &User,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<Vec<Membership>, StoreError> {
    let Some(email) = user.email.as_ref().filter(|_| user.email_verified && user.subject.is_some()) else {
        return Ok(Vec::new());
    };
    let Some(domain) = DomainName::of_email(email) else { return Ok(Vec::new()) };
    let Some(org) = tx.verified_domain(&domain)?.map(|d| d.org_id) else { return Ok(Vec::new()) };
    let mut linked = Vec::new();
    for provisioned in tx.find_unlinked_users(email)? {
        for membership in tx.provisioned_memberships(provisioned)?.into_iter().filter(|m| m.org_id == org) {
            // As every writer of the organization: the last-owner rule and SCIM writes see
            // the merge whole.
            tx.lock_org(org)?;
            let merged = tx.merge_provisioned_membership(org, membership.id, user.id, now)?;
            let mut changes = Changes::new();
            changes.set("user_id", user.id.to_string());
            changes.set("email", email.as_str());
            if let Some(replaced) = merged.replaced {
                changes.set("replaced_member", replaced.to_string());
                changes.set("role", merged.membership.role.as_str());
                changes.set("suspended", merged.membership.is_suspended());
            }
            let record = AuditRecord::new(
                org,
                &Actor::User(user.id),
                AuditAction::MemberLinked,
                Target::new("member", merged.membership.id),
                meta,
                now,
            );
            tx.append_audit(&record.with_changes(changes))?;
            linked.push(merged.membership);
        }
        tx.delete_user_if_unlinked_and_orphaned(provisioned)?;
    }
    Ok(linked)
}
