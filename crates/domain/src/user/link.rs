//! Linking people an organization's identity provider provisioned over SCIM, before they
//! ever signed in, to their sign-in.
//!
//! A provisioned person is a user without a subject, holding the email the identity
//! provider sent. The first time someone signs in with that email *verified* by the
//! platform's identity provider, the provisioned memberships become theirs. An unverified
//! email links nothing: anyone can claim an address they do not own.

use chrono::{DateTime, Utc};

use super::User;
use crate::audit::{Actor, AuditAction, AuditRecord, Changes, Target};
use crate::context::RequestMeta;
use crate::error::StoreError;
use crate::member::Membership;
use crate::store::Tx;

/// Links to `user` every provisioned person holding `user`'s verified email, recording
/// each membership gained in its organization's audit log. Returns those memberships.
pub fn link_provisioned(
    tx: &mut dyn Tx,
    user: &User,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<Vec<Membership>, StoreError> {
    let Some(email) = user.email.as_ref().filter(|_| user.email_verified && user.subject.is_some()) else {
        return Ok(Vec::new());
    };
    let mut linked = Vec::new();
    for provisioned in tx.find_unlinked_users(email)? {
        for membership in tx.merge_provisioned_user(provisioned, user.id, now)? {
            let mut changes = Changes::new();
            changes.set("user_id", user.id.to_string());
            changes.set("email", email.as_str());
            let record = AuditRecord::new(
                membership.org_id,
                &Actor::User(user.id),
                AuditAction::MemberLinked,
                Target::new("member", membership.id),
                meta,
                now,
            );
            tx.append_audit(&record.with_changes(changes))?;
            linked.push(membership);
        }
    }
    Ok(linked)
}
