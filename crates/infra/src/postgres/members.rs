use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::authz::RoleKey;
use orgd_domain::ids::{MemberId, OrgId, UserId};
use orgd_domain::member::{Member, MemberFilter, MemberRepository, MemberWriteError, Membership};
use orgd_domain::org::Organization;
use orgd_domain::pagination::{Page, PageRequest};
use orgd_domain::user::Email;
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error, violated_unique};
use super::orgs::OrgRow;
use super::prepared::prepared;
use super::schema::{memberships, organizations, users};
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships, check_for_backend(diesel::pg::Pg))]
pub(super) struct MembershipRow {
    id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
    role: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    suspended_at: Option<DateTime<Utc>>,
    role_source: Option<String>,
    version: i64,
}

/// `memberships.role_source` of a role a SCIM group mapping gave.
const ROLE_FROM_GROUP: &str = "scim_group";

impl From<&Membership> for MembershipRow {
    fn from(m: &Membership) -> Self {
        MembershipRow {
            id: m.id.as_uuid(),
            org_id: m.org_id.as_uuid(),
            user_id: m.user_id.as_uuid(),
            role: m.role.as_str().to_owned(),
            created_at: m.joined_at,
            updated_at: m.updated_at,
            suspended_at: m.suspended_at,
            role_source: m.role_from_group.then(|| ROLE_FROM_GROUP.to_owned()),
            version: m.version,
        }
    }
}

impl TryFrom<MembershipRow> for Membership {
    type Error = StoreError;

    fn try_from(row: MembershipRow) -> Result<Self, Self::Error> {
        Ok(Membership {
            id: MemberId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            user_id: UserId::from_uuid(row.user_id),
            role: RoleKey::parse(&row.role).map_err(|e| corrupt("memberships", e))?,
            joined_at: row.created_at,
            updated_at: row.updated_at,
            suspended_at: row.suspended_at,
            role_from_group: row.role_source.as_deref() == Some(ROLE_FROM_GROUP),
            version: row.version,
        })
    }
}

pub(super) type MemberRow = (MembershipRow, Option<String>, Option<String>, bool);

pub(super) fn member_from_row((membership, name, email, email_verified): MemberRow) -> Result<Member, StoreError> {
    let email = email.as_deref().and_then(|e| Email::parse(e).ok());
    Ok(Member { membership: membership.try_into()?, name, email_verified: email_verified && email.is_some(), email })
}

/// `text` as a LIKE pattern matching it anywhere, with its own wildcards taken literally.
/// People a member search may match across the platform to be answered from its matches.
const NARROW_SEARCH: i64 = 1_000;

fn contains_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

impl MemberRepository for PgTx<'_> {
    fn insert_membership(&mut self, membership: &Membership) -> Result<(), MemberWriteError> {
        prepared(diesel::insert_into(memberships::table).values(MembershipRow::from(membership)))
            .execute(self.conn)
            .map(|_| ())
            .map_err(|err| match violated_unique(&err) {
                Some("memberships_org_user_key") => MemberWriteError::AlreadyMember,
                _ => MemberWriteError::Store(store_error(err)),
            })
    }

    fn find_membership_of_user(&mut self, org: OrgId, user: UserId) -> Result<Option<Membership>, StoreError> {
        let row = memberships::table
            .filter(memberships::org_id.eq(org.as_uuid()))
            .filter(memberships::user_id.eq(user.as_uuid()))
            .select(MembershipRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(Membership::try_from).transpose()
    }

    fn default_org_of_user(&mut self, user: UserId) -> Result<Option<OrgId>, StoreError> {
        memberships::table
            .inner_join(organizations::table)
            .filter(memberships::user_id.eq(user.as_uuid()))
            .filter(memberships::suspended_at.is_null())
            .filter(organizations::deleted_at.is_null())
            .order(memberships::id.asc())
            .select(memberships::org_id)
            .first::<Uuid>(self.conn)
            .optional()
            .map(|id| id.map(OrgId::from_uuid))
            .map_err(store_error)
    }

    fn list_orgs_of_user(
        &mut self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<(Organization, Membership)>, StoreError> {
        let mut query = memberships::table
            .inner_join(organizations::table)
            .filter(memberships::user_id.eq(user.as_uuid()))
            .filter(organizations::deleted_at.is_null())
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(memberships::id.gt(after));
        }
        let rows: Vec<(OrgRow, MembershipRow)> = query
            .order(memberships::id.asc())
            .limit(page.fetch_limit())
            .select((OrgRow::as_select(), MembershipRow::as_select()))
            .load(self.conn)
            .map_err(store_error)?;
        let rows = rows
            .into_iter()
            .map(|(org, m)| Ok((Organization::try_from(org)?, Membership::try_from(m)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page::from_overfetch(rows, page, |(_, m)| m.id.as_uuid()))
    }

    fn find_member(&mut self, org: OrgId, member: MemberId) -> Result<Option<Member>, StoreError> {
        let row: Option<MemberRow> = memberships::table
            .inner_join(users::table)
            .filter(memberships::org_id.eq(org.as_uuid()))
            .filter(memberships::id.eq(member.as_uuid()))
            .select((MembershipRow::as_select(), users::name, users::email, users::email_verified))
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(member_from_row).transpose()
    }

    fn list_members(
        &mut self,
        org: OrgId,
        filter: &MemberFilter,
        page: PageRequest,
    ) -> Result<Page<Member>, StoreError> {
        let mut query =
            memberships::table.inner_join(users::table).filter(memberships::org_id.eq(org.as_uuid())).into_boxed();
        if let Some(after) = page.after {
            query = query.filter(memberships::id.gt(after));
        }
        if let Some(role) = &filter.role {
            query = query.filter(memberships::role.eq(role.as_str().to_owned()));
        }
        if let Some(search) = &filter.search {
            let pattern = contains_pattern(search.as_str());
            // A narrow search is answered from the few people it matches (trigram index),
            // joined to the organization's memberships; walking a large organization's
            // members in page order looking for them takes seconds. A broad one matches
            // so many people that walking finds a page at once.
            let matched: Vec<Uuid> = users::table
                .filter(users::search_text.like(&pattern))
                .select(users::id)
                .limit(NARROW_SEARCH + 1)
                .load(self.conn)
                .map_err(store_error)?;
            if matched.len() <= NARROW_SEARCH as usize {
                query = query.filter(memberships::user_id.eq_any(matched));
            } else {
                query = query.filter(users::search_text.like(pattern));
            }
        }
        // Ordered by the `(org_id, id)` index's own order, so that no plan walks every
        // organization's members by id to find the page of one.
        let rows: Vec<MemberRow> = query
            .order((memberships::org_id.asc(), memberships::id.asc()))
            .limit(page.fetch_limit())
            .select((MembershipRow::as_select(), users::name, users::email, users::email_verified))
            .load(self.conn)
            .map_err(store_error)?;
        let members = rows.into_iter().map(member_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(members, page, |m| m.membership.id.as_uuid()))
    }

    fn count_owners(&mut self, org: OrgId) -> Result<u64, StoreError> {
        let count: i64 = memberships::table
            .filter(memberships::org_id.eq(org.as_uuid()))
            .filter(memberships::role.eq(RoleKey::owner().as_str().to_owned()))
            .filter(memberships::suspended_at.is_null())
            .count()
            .get_result(self.conn)
            .map_err(store_error)?;
        Ok(count.unsigned_abs())
    }

    fn set_member_role(
        &mut self,
        org: OrgId,
        member: MemberId,
        role: &RoleKey,
        from_group: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        prepared(
            diesel::update(
                memberships::table
                    .filter(memberships::org_id.eq(org.as_uuid()))
                    .filter(memberships::id.eq(member.as_uuid())),
            )
            .set((
                memberships::role.eq(role.as_str()),
                memberships::role_source.eq(from_group.then_some(ROLE_FROM_GROUP)),
                memberships::updated_at.eq(at),
            )),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn delete_membership(&mut self, org: OrgId, member: MemberId) -> Result<bool, StoreError> {
        diesel::delete(
            memberships::table
                .filter(memberships::org_id.eq(org.as_uuid()))
                .filter(memberships::id.eq(member.as_uuid())),
        )
        .execute(self.conn)
        .map(|n| n > 0)
        .map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn wildcards_in_a_search_are_literal() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
