use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::authz::RoleKey;
use orgd_domain::ids::{MemberId, OrgId, UserId};
use orgd_domain::pagination::{Page, PageRequest};
use orgd_domain::policy::{MfaMember, MfaRepository, MfaTotals};
use orgd_domain::user::Email;
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::{memberships, org_member_stats, users};
use super::store::PgTx;

type MfaRow = (
    Uuid,
    Uuid,
    Option<String>,
    Option<String>,
    bool,
    String,
    bool,
    Vec<Option<String>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

fn member_from_row(row: MfaRow) -> Result<MfaMember, StoreError> {
    let (member, user, name, email, email_verified, role, mfa_enrolled, methods, last_seen_at, reminded) = row;
    let email = email.as_deref().and_then(|e| Email::parse(e).ok());
    Ok(MfaMember {
        member_id: MemberId::from_uuid(member),
        user_id: UserId::from_uuid(user),
        name,
        email_verified: email_verified && email.is_some(),
        email,
        role: RoleKey::parse(&role).map_err(|e| corrupt("memberships", e))?,
        mfa_enrolled,
        mfa_methods: methods.into_iter().flatten().collect(),
        last_seen_at,
        last_reminded_at: reminded,
    })
}

impl MfaRepository for PgTx<'_> {
    /// From the per-role counters the membership and user triggers keep
    /// (`org_member_stats`): a few rows whatever the organization's size.
    fn mfa_totals(&mut self, org: OrgId) -> Result<MfaTotals, StoreError> {
        let (members, enrolled): (i64, i64) = org_member_stats::table
            .filter(org_member_stats::org_id.eq(org.as_uuid()))
            .select((
                diesel::dsl::sql::<diesel::sql_types::BigInt>("coalesce(sum(members), 0)::bigint"),
                diesel::dsl::sql::<diesel::sql_types::BigInt>("coalesce(sum(mfa_enrolled), 0)::bigint"),
            ))
            .get_result(self.conn)
            .map_err(store_error)?;
        // Counters are never negative; were one ever to be, it reads as none rather than many.
        Ok(MfaTotals { members: u64::try_from(members).unwrap_or(0), enrolled: u64::try_from(enrolled).unwrap_or(0) })
    }

    fn list_mfa_members(
        &mut self,
        org: OrgId,
        enrolled: Option<bool>,
        page: PageRequest,
    ) -> Result<Page<MfaMember>, StoreError> {
        let mut query =
            memberships::table.inner_join(users::table).filter(memberships::org_id.eq(org.as_uuid())).into_boxed();
        if let Some(after) = page.after {
            query = query.filter(memberships::id.gt(after));
        }
        if let Some(enrolled) = enrolled {
            query = query.filter(users::mfa_enrolled.eq(enrolled));
        }
        let rows: Vec<MfaRow> = query
            .order(memberships::id.asc())
            .limit(page.fetch_limit())
            .select((
                memberships::id,
                users::id,
                users::name,
                users::email,
                users::email_verified,
                memberships::role,
                users::mfa_enrolled,
                users::mfa_methods,
                users::last_seen_at,
                memberships::mfa_reminded_at,
            ))
            .load(self.conn)
            .map_err(store_error)?;
        let members = rows.into_iter().map(member_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(members, page, |m| m.member_id.as_uuid()))
    }

    fn mark_mfa_reminded(&mut self, org: OrgId, members: &[MemberId], at: DateTime<Utc>) -> Result<(), StoreError> {
        if members.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = members.iter().map(MemberId::as_uuid).collect();
        prepared(
            diesel::update(
                memberships::table.filter(memberships::org_id.eq(org.as_uuid())).filter(memberships::id.eq_any(ids)),
            )
            .set(memberships::mfa_reminded_at.eq(at)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }
}
