use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use ipnetwork::IpNetwork;
use orgd_domain::ids::{MemberId, OrgId, UserId};
use orgd_domain::member::Membership;
use orgd_domain::user::{Email, LinkedMembership, User, UserRepository};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::store_error;
use super::members::MembershipRow;
use super::prepared::prepared;
use super::schema::{memberships, users};
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
struct UserRow {
    id: Uuid,
    subject: Option<String>,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    mfa_enrolled: bool,
    last_sign_in_method: Option<String>,
    mfa_methods: Vec<Option<String>>,
    last_seen_at: Option<DateTime<Utc>>,
    last_ip: Option<IpNetwork>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId::from_uuid(row.id),
            subject: row.subject,
            email: row.email.as_deref().and_then(|e| Email::parse(e).ok()),
            email_verified: row.email_verified,
            name: row.name,
            mfa_enrolled: row.mfa_enrolled,
            last_sign_in_method: row.last_sign_in_method,
            mfa_methods: row.mfa_methods.into_iter().flatten().collect(),
            last_seen_at: row.last_seen_at,
            last_ip: row.last_ip.map(|net| net.ip()),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<&User> for UserRow {
    fn from(user: &User) -> Self {
        UserRow {
            id: user.id.as_uuid(),
            subject: user.subject.clone(),
            email: user.email.as_ref().map(|e| e.as_str().to_owned()),
            email_verified: user.email_verified,
            name: user.name.clone(),
            mfa_enrolled: user.mfa_enrolled,
            last_sign_in_method: user.last_sign_in_method.clone(),
            mfa_methods: user.mfa_methods.iter().cloned().map(Some).collect(),
            last_seen_at: user.last_seen_at,
            last_ip: user.last_ip.map(IpNetwork::from),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

impl UserRepository for PgTx<'_> {
    fn find_user_by_subject(&mut self, subject: &str) -> Result<Option<User>, StoreError> {
        users::table
            .filter(users::subject.eq(subject))
            .select(UserRow::as_select())
            .first(self.conn)
            .optional()
            .map(|row| row.map(User::from))
            .map_err(store_error)
    }

    fn find_user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        users::table
            .find(id.as_uuid())
            .select(UserRow::as_select())
            .first(self.conn)
            .optional()
            .map(|row| row.map(User::from))
            .map_err(store_error)
    }

    fn upsert_user(&mut self, user: &User) -> Result<User, StoreError> {
        prepared(
            diesel::insert_into(users::table)
                .values(UserRow::from(user))
                .on_conflict(users::subject)
                .do_update()
                .set((
                    users::email.eq(excluded(users::email)),
                    users::email_verified.eq(excluded(users::email_verified)),
                    users::name.eq(excluded(users::name)),
                    users::mfa_enrolled.eq(users::mfa_enrolled.or(excluded(users::mfa_enrolled))),
                    users::last_sign_in_method.eq(excluded(users::last_sign_in_method)),
                    users::mfa_methods.eq(excluded(users::mfa_methods)),
                    users::last_seen_at.eq(excluded(users::last_seen_at)),
                    users::last_ip.eq(excluded(users::last_ip)),
                    users::updated_at.eq(excluded(users::updated_at)),
                ))
                .returning(UserRow::as_returning()),
        )
        .get_result(self.conn)
        .map(User::from)
        .map_err(store_error)
    }

    fn save_provisioned_user(&mut self, user: &User) -> Result<(), StoreError> {
        let row = UserRow::from(user);
        prepared(diesel::insert_into(users::table).values(&row).on_conflict(users::id).do_update().set((
            users::email.eq(excluded(users::email)),
            users::name.eq(excluded(users::name)),
            users::updated_at.eq(excluded(users::updated_at)),
        )))
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn find_unlinked_users(&mut self, email: &Email) -> Result<Vec<UserId>, StoreError> {
        users::table
            .filter(users::email.eq(email.as_str()))
            .filter(users::subject.is_null())
            .select(users::id)
            .load::<Uuid>(self.conn)
            .map(|ids| ids.into_iter().map(UserId::from_uuid).collect())
            .map_err(store_error)
    }

    fn provisioned_memberships(&mut self, user: UserId) -> Result<Vec<Membership>, StoreError> {
        let rows: Vec<MembershipRow> = memberships::table
            .filter(memberships::user_id.eq(user.as_uuid()))
            .select(MembershipRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        rows.into_iter().map(Membership::try_from).collect()
    }

    fn merge_provisioned_membership(
        &mut self,
        org: OrgId,
        member: MemberId,
        into: UserId,
        at: DateTime<Utc>,
    ) -> Result<LinkedMembership, StoreError> {
        let own: Option<Uuid> = prepared(
            diesel::sql_query(
                "SELECT e.id AS id FROM memberships p JOIN memberships e ON e.org_id = p.org_id AND e.user_id = $2 \
             WHERE p.org_id = $3 AND p.id = $1",
            )
            .bind::<diesel::sql_types::Uuid, _>(member.as_uuid())
            .bind::<diesel::sql_types::Uuid, _>(into.as_uuid())
            .bind::<diesel::sql_types::Uuid, _>(org.as_uuid()),
        )
        .get_result::<OwnMembership>(self.conn)
        .optional()
        .map_err(store_error)?
        .map(|row| row.id);
        if let Some(own) = own {
            // The person's own membership decides role, suspension and seats: linking never
            // changes what they hold in the organization.
            prepared(diesel::sql_query(
                "UPDATE memberships p SET role = e.role, role_source = e.role_source, suspended_at = e.suspended_at \
                 FROM memberships e WHERE p.org_id = $3 AND p.id = $1 AND e.org_id = $3 AND e.id = $2",
            )
            .bind::<diesel::sql_types::Uuid, _>(member.as_uuid())
            .bind::<diesel::sql_types::Uuid, _>(own)
            .bind::<diesel::sql_types::Uuid, _>(org.as_uuid())).execute(self.conn)
            .map_err(store_error)?;
            prepared(diesel::sql_query(
                "INSERT INTO team_members (org_id, team_id, member_id, is_manager, created_at) \
                 SELECT org_id, team_id, $1, is_manager, created_at FROM team_members WHERE org_id = $3 AND member_id = $2 \
                 ON CONFLICT (org_id, team_id, member_id) \
                 DO UPDATE SET is_manager = team_members.is_manager OR excluded.is_manager",
            )
            .bind::<diesel::sql_types::Uuid, _>(member.as_uuid())
            .bind::<diesel::sql_types::Uuid, _>(own)
            .bind::<diesel::sql_types::Uuid, _>(org.as_uuid())).execute(self.conn)
            .map_err(store_error)?;
            diesel::delete(memberships::table.find((org.as_uuid(), own))).execute(self.conn).map_err(store_error)?;
        }
        let row: MembershipRow = prepared(
            diesel::update(memberships::table.find((org.as_uuid(), member.as_uuid())))
                .set((memberships::user_id.eq(into.as_uuid()), memberships::updated_at.eq(at)))
                .returning(MembershipRow::as_returning()),
        )
        .get_result(self.conn)
        .map_err(store_error)?;
        Ok(LinkedMembership { membership: row.try_into()?, replaced: own.map(MemberId::from_uuid) })
    }
}

#[derive(QueryableByName)]
struct OwnMembership {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}
