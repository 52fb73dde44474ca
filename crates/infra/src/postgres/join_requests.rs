use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::authz::RoleKey;
use orgd_domain::ids::{JoinRequestId, MemberId, OrgId, UserId};
use orgd_domain::join::{JoinRequest, JoinRequestRepository, JoinRequestStatus};
use orgd_domain::pagination::{Page, PageRequest};
use orgd_domain::user::Email;
use orgd_domain::verified_domain::DomainName;
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::join_requests;
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = join_requests, primary_key(org_id, id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct JoinRequestRow {
    id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
    email: String,
    domain: String,
    status: String,
    decided_by: Option<Uuid>,
    decided_at: Option<DateTime<Utc>>,
    role: Option<String>,
    member_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl From<&JoinRequest> for JoinRequestRow {
    fn from(r: &JoinRequest) -> Self {
        Self {
            id: r.id.as_uuid(),
            org_id: r.org_id.as_uuid(),
            user_id: r.user_id.as_uuid(),
            email: r.email.as_str().to_owned(),
            domain: r.domain.as_str().to_owned(),
            status: r.status.as_str().to_owned(),
            decided_by: r.decided_by.map(|u| u.as_uuid()),
            decided_at: r.decided_at,
            role: r.role.as_ref().map(|role| role.as_str().to_owned()),
            member_id: r.member_id.map(|m| m.as_uuid()),
            created_at: r.created_at,
        }
    }
}

impl TryFrom<JoinRequestRow> for JoinRequest {
    type Error = StoreError;

    fn try_from(row: JoinRequestRow) -> Result<Self, StoreError> {
        let bad = |what: &str| corrupt("join_requests", what);
        Ok(JoinRequest {
            id: JoinRequestId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            user_id: UserId::from_uuid(row.user_id),
            email: Email::parse(&row.email).map_err(|_| bad("email"))?,
            domain: DomainName::from_stored(row.domain),
            status: JoinRequestStatus::parse(&row.status).ok_or_else(|| bad("status"))?,
            decided_by: row.decided_by.map(UserId::from_uuid),
            decided_at: row.decided_at,
            role: row.role.as_deref().map(RoleKey::parse).transpose().map_err(|_| bad("role"))?,
            member_id: row.member_id.map(MemberId::from_uuid),
            created_at: row.created_at,
        })
    }
}

impl JoinRequestRepository for PgTx<'_> {
    fn insert_join_request(&mut self, request: &JoinRequest) -> Result<(), StoreError> {
        prepared(diesel::insert_into(join_requests::table).values(JoinRequestRow::from(request)))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn update_join_request(&mut self, request: &JoinRequest) -> Result<(), StoreError> {
        prepared(
            diesel::update(join_requests::table.find((request.org_id.as_uuid(), request.id.as_uuid())))
                .set(JoinRequestRow::from(request)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn find_join_request(
        &mut self,
        org: OrgId,
        id: JoinRequestId,
        lock: bool,
    ) -> Result<Option<JoinRequest>, StoreError> {
        let query = join_requests::table
            .filter(join_requests::org_id.eq(org.as_uuid()))
            .filter(join_requests::id.eq(id.as_uuid()))
            .select(JoinRequestRow::as_select());
        let row = if lock { query.for_update().first(self.conn) } else { query.first(self.conn) };
        row.optional().map_err(store_error)?.map(JoinRequest::try_from).transpose()
    }

    fn pending_join_request(&mut self, org: OrgId, user: UserId) -> Result<Option<JoinRequest>, StoreError> {
        let row = join_requests::table
            .filter(join_requests::org_id.eq(org.as_uuid()))
            .filter(join_requests::user_id.eq(user.as_uuid()))
            .filter(join_requests::status.eq(JoinRequestStatus::Pending.as_str()))
            .select(JoinRequestRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(JoinRequest::try_from).transpose()
    }

    fn list_join_requests(
        &mut self,
        org: OrgId,
        status: Option<JoinRequestStatus>,
        page: PageRequest,
    ) -> Result<Page<JoinRequest>, StoreError> {
        let mut query = join_requests::table
            .filter(join_requests::org_id.eq(org.as_uuid()))
            .order(join_requests::id.desc())
            .limit(page.fetch_limit())
            .select(JoinRequestRow::as_select())
            .into_boxed();
        if let Some(status) = status {
            query = query.filter(join_requests::status.eq(status.as_str()));
        }
        if let Some(after) = page.after {
            query = query.filter(join_requests::id.lt(after));
        }
        let rows: Vec<JoinRequestRow> = query.load(self.conn).map_err(store_error)?;
        let requests = rows.into_iter().map(JoinRequest::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(requests, page, |r| r.id.as_uuid()))
    }
}
