use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::audit::Actor;
use orgd_domain::authz::RoleKey;
use orgd_domain::ids::{InviteId, MemberId, OrgId, TeamId, UserId};
use orgd_domain::invite::{Invite, InviteRepository, InviteStatus, Redemption};
use orgd_domain::pagination::{Page, PageRequest};
use orgd_domain::user::Email;
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::{invite_redemptions, invites};
use super::store::PgTx;

#[derive(Queryable, Selectable)]
#[diesel(table_name = invites, check_for_backend(diesel::pg::Pg))]
struct InviteRow {
    id: Uuid,
    org_id: Uuid,
    role: String,
    team_id: Option<Uuid>,
    email: Option<String>,
    max_uses: i32,
    uses: i32,
    expires_at: DateTime<Utc>,
    created_by_type: String,
    created_by_id: String,
    inviter_name: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    last_sent_at: Option<DateTime<Utc>>,
}

#[derive(Insertable)]
#[diesel(table_name = invites)]
struct NewInviteRow<'a> {
    id: Uuid,
    org_id: Uuid,
    role: &'a str,
    team_id: Option<Uuid>,
    email: Option<&'a str>,
    max_uses: i32,
    expires_at: DateTime<Utc>,
    created_by_type: &'a str,
    created_by_id: String,
    inviter_name: Option<&'a str>,
    lookup_hash: &'a [u8],
    created_at: DateTime<Utc>,
    last_sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<InviteRow> for Invite {
    type Error = StoreError;

    fn try_from(row: InviteRow) -> Result<Self, Self::Error> {
        let bad = |what: &str| corrupt("invites", what);
        let created_by = match row.created_by_type.as_str() {
            "user" => Actor::User(row.created_by_id.parse().map_err(|_| bad("creator"))?),
            "api_key" => Actor::ApiKey(row.created_by_id.parse().map_err(|_| bad("creator"))?),
            _ => return Err(bad("creator type")),
        };
        Ok(Invite {
            id: InviteId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            role: RoleKey::parse(&row.role).map_err(|_| bad("role"))?,
            team_id: row.team_id.map(TeamId::from_uuid),
            email: row.email.as_deref().map(Email::parse).transpose().map_err(|_| bad("email"))?,
            max_uses: row.max_uses,
            uses: row.uses,
            expires_at: row.expires_at,
            created_by,
            inviter_name: row.inviter_name,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            last_sent_at: row.last_sent_at,
        })
    }
}

fn one(row: Option<InviteRow>) -> Result<Option<Invite>, StoreError> {
    row.map(Invite::try_from).transpose()
}

impl InviteRepository for PgTx<'_> {
    fn insert_invite(&mut self, invite: &Invite, lookup_hash: &[u8]) -> Result<(), StoreError> {
        let row = NewInviteRow {
            id: invite.id.as_uuid(),
            org_id: invite.org_id.as_uuid(),
            role: invite.role.as_str(),
            team_id: invite.team_id.map(|t| t.as_uuid()),
            email: invite.email.as_ref().map(Email::as_str),
            max_uses: invite.max_uses,
            expires_at: invite.expires_at,
            created_by_type: invite.created_by.kind(),
            created_by_id: invite.created_by.id(),
            inviter_name: invite.inviter_name.as_deref(),
            lookup_hash,
            created_at: invite.created_at,
            last_sent_at: invite.last_sent_at,
        };
        prepared(diesel::insert_into(invites::table).values(row)).execute(self.conn).map(|_| ()).map_err(store_error)
    }

    fn find_invite(&mut self, org: OrgId, id: InviteId) -> Result<Option<Invite>, StoreError> {
        let row = invites::table
            .filter(invites::org_id.eq(org.as_uuid()))
            .filter(invites::id.eq(id.as_uuid()))
            .select(InviteRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        one(row)
    }

    fn rekey_invite(&mut self, from: &[u8], to: &[u8]) -> Result<(), StoreError> {
        prepared(diesel::update(invites::table.filter(invites::lookup_hash.eq(from))).set(invites::lookup_hash.eq(to)))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn find_invite_by_hash(&mut self, lookup_hash: &[u8], lock: bool) -> Result<Option<Invite>, StoreError> {
        let query = invites::table.filter(invites::lookup_hash.eq(lookup_hash)).select(InviteRow::as_select());
        let row = if lock { query.for_update().first(self.conn).optional() } else { query.first(self.conn).optional() };
        one(row.map_err(store_error)?)
    }

    fn list_invites(
        &mut self,
        org: OrgId,
        status: Option<InviteStatus>,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<Invite>, StoreError> {
        let mut query = invites::table.filter(invites::org_id.eq(org.as_uuid())).into_boxed();
        if let Some(after) = page.after {
            query = query.filter(invites::id.lt(after));
        }
        let used_up = invites::uses.ge(invites::max_uses);
        query = match status {
            None => query,
            Some(InviteStatus::Revoked) => query.filter(invites::revoked_at.is_not_null()),
            Some(InviteStatus::Accepted) => {
                query.filter(invites::revoked_at.is_null()).filter(used_up).filter(invites::max_uses.eq(1))
            }
            Some(InviteStatus::Exhausted) => {
                query.filter(invites::revoked_at.is_null()).filter(used_up).filter(invites::max_uses.gt(1))
            }
            Some(InviteStatus::Expired) => query
                .filter(invites::revoked_at.is_null())
                .filter(invites::uses.lt(invites::max_uses))
                .filter(invites::expires_at.le(now)),
            Some(InviteStatus::Pending) => query
                .filter(invites::revoked_at.is_null())
                .filter(invites::uses.lt(invites::max_uses))
                .filter(invites::expires_at.gt(now)),
        };
        let rows: Vec<InviteRow> = query
            .order(invites::id.desc())
            .limit(page.fetch_limit())
            .select(InviteRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        let items = rows.into_iter().map(Invite::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page, |i| i.id.as_uuid()))
    }

    fn list_redemptions(&mut self, org: OrgId, ids: &[InviteId]) -> Result<Vec<Redemption>, StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(InviteId::as_uuid).collect();
        let rows: Vec<(Uuid, Uuid, Uuid, DateTime<Utc>)> = invite_redemptions::table
            .filter(invite_redemptions::org_id.eq(org.as_uuid()))
            .filter(invite_redemptions::invite_id.eq_any(ids))
            .order(invite_redemptions::redeemed_at.asc())
            .select((
                invite_redemptions::invite_id,
                invite_redemptions::member_id,
                invite_redemptions::user_id,
                invite_redemptions::redeemed_at,
            ))
            .load(self.conn)
            .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(invite, member, user, at)| Redemption {
                invite_id: InviteId::from_uuid(invite),
                member_id: MemberId::from_uuid(member),
                user_id: UserId::from_uuid(user),
                redeemed_at: at,
            })
            .collect())
    }

    fn redeem_invite(&mut self, org: OrgId, r: &Redemption) -> Result<(), StoreError> {
        prepared(diesel::insert_into(invite_redemptions::table).values((
            invite_redemptions::org_id.eq(org.as_uuid()),
            invite_redemptions::invite_id.eq(r.invite_id.as_uuid()),
            invite_redemptions::user_id.eq(r.user_id.as_uuid()),
            invite_redemptions::member_id.eq(r.member_id.as_uuid()),
            invite_redemptions::redeemed_at.eq(r.redeemed_at),
        )))
        .execute(self.conn)
        .map_err(store_error)?;
        prepared(
            diesel::update(
                invites::table.filter(invites::org_id.eq(org.as_uuid())).filter(invites::id.eq(r.invite_id.as_uuid())),
            )
            .set(invites::uses.eq(invites::uses + 1)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn revoke_invite(&mut self, org: OrgId, id: InviteId, at: DateTime<Utc>) -> Result<(), StoreError> {
        prepared(
            diesel::update(
                invites::table.filter(invites::org_id.eq(org.as_uuid())).filter(invites::id.eq(id.as_uuid())),
            )
            .set(invites::revoked_at.eq(at)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn reissue_invite(
        &mut self,
        org: OrgId,
        id: InviteId,
        lookup_hash: &[u8],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        prepared(
            diesel::update(
                invites::table.filter(invites::org_id.eq(org.as_uuid())).filter(invites::id.eq(id.as_uuid())),
            )
            .set((invites::lookup_hash.eq(lookup_hash), invites::last_sent_at.eq(at))),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }
}
