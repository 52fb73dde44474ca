//! The SCIM directory: members with their SCIM attributes, and teams with their members.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
use orgd_domain::ids::{MemberId, OrgId, TeamId, UserId};
use orgd_domain::scim::{DirectoryGroup, DirectoryRepository, DirectoryUser, Lookup, ScimUserRecord, Start};
use orgd_domain::user::Email;
use orgd_domain::StoreError;
use serde_json::Value;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::members::MembershipRow;
use super::prepared::prepared;
use super::schema::{memberships, scim_users, team_members, teams, users};
use super::store::PgTx;
use super::teams::TeamRow;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = scim_users, primary_key(org_id, member_id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct ScimUserRow {
    member_id: Uuid,
    org_id: Uuid,
    user_name: String,
    external_id: Option<String>,
    attributes: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ScimUserRow> for ScimUserRecord {
    type Error = StoreError;

    fn try_from(row: ScimUserRow) -> Result<Self, StoreError> {
        let Value::Object(attributes) = row.attributes else {
            return Err(corrupt("scim_users", "attributes is not an object"));
        };
        Ok(ScimUserRecord {
            member_id: MemberId::from_uuid(row.member_id),
            org_id: OrgId::from_uuid(row.org_id),
            user_name: row.user_name,
            external_id: row.external_id,
            attributes,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl From<&ScimUserRecord> for ScimUserRow {
    fn from(r: &ScimUserRecord) -> Self {
        ScimUserRow {
            member_id: r.member_id.as_uuid(),
            org_id: r.org_id.as_uuid(),
            user_name: r.user_name.clone(),
            external_id: r.external_id.clone(),
            attributes: Value::Object(r.attributes.clone()),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

type DirectoryRow = (MembershipRow, Option<String>, Option<String>, Option<ScimUserRow>);

fn directory_user((membership, email, name, scim): DirectoryRow) -> Result<DirectoryUser, StoreError> {
    Ok(DirectoryUser {
        membership: membership.try_into()?,
        email: email.as_deref().and_then(|e| Email::parse(e).ok()),
        name,
        scim: scim.map(ScimUserRecord::try_from).transpose()?,
    })
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Members whose person's email is `$2`.
const BY_PERSON_EMAIL: &str =
    "SELECT m.id FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.org_id = $1 AND u.email = lower($2)";

/// The members an index lookup narrows to: a superset of the matches (the filter
/// decides), each branch served by an index but the search of provisioned emails, which
/// reads the organization's SCIM records.
fn lookup_sql(lookup: &Lookup) -> Option<(String, &str)> {
    Some(match lookup {
        Lookup::UserName(value) => (
            format!(
                "SELECT member_id AS id FROM scim_users WHERE org_id = $1 AND lower(user_name) = lower($2) \
                 UNION {BY_PERSON_EMAIL}"
            ),
            value,
        ),
        Lookup::ExternalId(value) => {
            ("SELECT member_id AS id FROM scim_users WHERE org_id = $1 AND external_id = $2".to_owned(), value)
        }
        Lookup::Email(value) => (
            format!(
                "SELECT s.member_id AS id FROM scim_users s, jsonb_array_elements(\
                 CASE jsonb_typeof(s.attributes->'emails') WHEN 'array' THEN s.attributes->'emails' ELSE '[]' END) e \
                 WHERE s.org_id = $1 AND lower(e->>'value') = lower($2) UNION {BY_PERSON_EMAIL}"
            ),
            value,
        ),
        Lookup::DisplayName(_) => return None,
    })
}

impl DirectoryRepository for PgTx<'_> {
    fn find_directory_user(&mut self, org: OrgId, member: MemberId) -> Result<Option<DirectoryUser>, StoreError> {
        let row: Option<DirectoryRow> = memberships::table
            .inner_join(users::table)
            .left_join(
                scim_users::table
                    .on(scim_users::org_id.eq(memberships::org_id).and(scim_users::member_id.eq(memberships::id))),
            )
            .filter(memberships::org_id.eq(org.as_uuid()))
            .filter(memberships::id.eq(member.as_uuid()))
            .select((MembershipRow::as_select(), users::email, users::name, Option::<ScimUserRow>::as_select()))
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(directory_user).transpose()
    }

    fn list_directory_users(
        &mut self,
        org: OrgId,
        lookup: Option<&Lookup>,
        start: Start,
        limit: u64,
    ) -> Result<Vec<DirectoryUser>, StoreError> {
        // The page's ids first, from the (org_id, id) index alone, then their rows: the
        // planner never trades that index's order for a join over the rest of the directory.
        let mut ids = memberships::table.filter(memberships::org_id.eq(org.as_uuid())).into_boxed();
        if let Some((statement, value)) = lookup.and_then(lookup_sql) {
            let found: Vec<Uuid> =
                prepared(diesel::sql_query(statement).bind::<SqlUuid, _>(org.as_uuid()).bind::<Text, _>(value))
                    .load::<IdRow>(self.conn)
                    .map_err(store_error)?
                    .into_iter()
                    .map(|r| r.id)
                    .collect();
            ids = ids.filter(memberships::id.eq_any(found));
        }
        ids = match start {
            Start::After(after) => ids.filter(memberships::id.gt(after)),
            Start::Offset(skip) => ids.offset(i64::try_from(skip).unwrap_or(i64::MAX)),
        };
        let page: Vec<Uuid> = ids
            .order(memberships::id.asc())
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .select(memberships::id)
            .load(self.conn)
            .map_err(store_error)?;
        if page.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<DirectoryRow> = memberships::table
            .inner_join(users::table)
            .left_join(
                scim_users::table
                    .on(scim_users::org_id.eq(memberships::org_id).and(scim_users::member_id.eq(memberships::id))),
            )
            .filter(memberships::org_id.eq(org.as_uuid()))
            .filter(memberships::id.eq_any(page))
            .order(memberships::id.asc())
            .select((MembershipRow::as_select(), users::email, users::name, Option::<ScimUserRow>::as_select()))
            .load(self.conn)
            .map_err(store_error)?;
        rows.into_iter().map(directory_user).collect()
    }

    fn count_directory_users(&mut self, org: OrgId) -> Result<u64, StoreError> {
        let count: i64 = memberships::table
            .filter(memberships::org_id.eq(org.as_uuid()))
            .count()
            .get_result(self.conn)
            .map_err(store_error)?;
        Ok(count.unsigned_abs())
    }

    fn user_name_taken(&mut self, org: OrgId, user_name: &str, except: Option<MemberId>) -> Result<bool, StoreError> {
        let except = except.map_or(Uuid::nil(), |m| m.as_uuid());
        let provisioned: bool = diesel::select(diesel::dsl::exists(
            scim_users::table
                .filter(scim_users::org_id.eq(org.as_uuid()))
                .filter(
                    sql::<Bool>("lower(scim_users.user_name) = lower(").bind::<Text, _>(user_name.to_owned()).sql(")"),
                )
                .filter(scim_users::member_id.ne(except)),
        ))
        .get_result(self.conn)
        .map_err(store_error)?;
        if provisioned {
            return Ok(true);
        }
        diesel::select(diesel::dsl::exists(
            memberships::table
                .inner_join(users::table)
                .left_join(
                    scim_users::table
                        .on(scim_users::org_id.eq(memberships::org_id).and(scim_users::member_id.eq(memberships::id))),
                )
                .filter(memberships::org_id.eq(org.as_uuid()))
                .filter(scim_users::member_id.is_null())
                .filter(memberships::id.ne(except))
                .filter(sql::<Bool>("users.email = lower(").bind::<Text, _>(user_name.to_owned()).sql(")")),
        ))
        .get_result(self.conn)
        .map_err(store_error)
    }

    fn save_scim_user(&mut self, record: &ScimUserRecord) -> Result<(), StoreError> {
        let row = ScimUserRow::from(record);
        prepared(
            diesel::insert_into(scim_users::table)
                .values(&row)
                .on_conflict((scim_users::org_id, scim_users::member_id))
                .do_update()
                .set(&row),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn set_member_suspended(
        &mut self,
        org: OrgId,
        member: MemberId,
        suspended_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        prepared(
            diesel::update(
                memberships::table
                    .filter(memberships::org_id.eq(org.as_uuid()))
                    .filter(memberships::id.eq(member.as_uuid())),
            )
            .set((memberships::suspended_at.eq(suspended_at), memberships::updated_at.eq(at))),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn delete_user_if_unlinked_and_orphaned(&mut self, user: UserId) -> Result<(), StoreError> {
        diesel::delete(users::table.filter(users::id.eq(user.as_uuid())).filter(users::subject.is_null()).filter(
            diesel::dsl::not(diesel::dsl::exists(memberships::table.filter(memberships::user_id.eq(user.as_uuid())))),
        ))
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn find_directory_group(&mut self, org: OrgId, team: TeamId) -> Result<Option<DirectoryGroup>, StoreError> {
        let row: Option<TeamRow> = teams::table
            .filter(teams::org_id.eq(org.as_uuid()))
            .filter(teams::id.eq(team.as_uuid()))
            .select(TeamRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        let mut members = self.members_of(org, &[team.as_uuid()])?;
        Ok(Some(DirectoryGroup { team: row.try_into()?, members: members.remove(&team.as_uuid()).unwrap_or_default() }))
    }

    fn list_directory_groups(
        &mut self,
        org: OrgId,
        lookup: Option<&Lookup>,
        with_members: bool,
    ) -> Result<Vec<DirectoryGroup>, StoreError> {
        let mut query = teams::table.filter(teams::org_id.eq(org.as_uuid())).into_boxed();
        match lookup {
            Some(Lookup::DisplayName(name)) => {
                query = query.filter(sql::<Bool>("lower(teams.name) = lower(").bind::<Text, _>(name.clone()).sql(")"));
            }
            Some(Lookup::ExternalId(id)) => query = query.filter(teams::external_id.eq(id.clone())),
            _ => {}
        }
        let rows: Vec<TeamRow> =
            query.order(teams::id.asc()).select(TeamRow::as_select()).load(self.conn).map_err(store_error)?;
        let teams = rows.into_iter().map(orgd_domain::team::Team::try_from).collect::<Result<Vec<_>, _>>()?;
        let mut members = if with_members {
            self.members_of(org, &teams.iter().map(|t| t.id.as_uuid()).collect::<Vec<_>>())?
        } else {
            HashMap::new()
        };
        Ok(teams
            .into_iter()
            .map(|team| {
                let members = members.remove(&team.id.as_uuid()).unwrap_or_default();
                DirectoryGroup { team, members }
            })
            .collect())
    }

    fn set_team_members(
        &mut self,
        org: OrgId,
        team: TeamId,
        add: &[MemberId],
        remove: &[MemberId],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if !add.is_empty() {
            let rows: Vec<_> = add
                .iter()
                .map(|m| {
                    (
                        team_members::org_id.eq(org.as_uuid()),
                        team_members::team_id.eq(team.as_uuid()),
                        team_members::member_id.eq(m.as_uuid()),
                        team_members::is_manager.eq(false),
                        team_members::created_at.eq(at),
                    )
                })
                .collect();
            for chunk in rows.chunks(5000) {
                diesel::insert_into(team_members::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(self.conn)
                    .map_err(store_error)?;
            }
        }
        if !remove.is_empty() {
            let ids: Vec<Uuid> = remove.iter().map(|m| m.as_uuid()).collect();
            diesel::delete(
                team_members::table
                    .filter(team_members::org_id.eq(org.as_uuid()))
                    .filter(team_members::team_id.eq(team.as_uuid()))
                    .filter(team_members::member_id.eq_any(ids)),
            )
            .execute(self.conn)
            .map_err(store_error)?;
        }
        prepared(
            diesel::update(teams::table.filter(teams::org_id.eq(org.as_uuid())).filter(teams::id.eq(team.as_uuid())))
                .set(teams::updated_at.eq(at)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn existing_members(&mut self, org: OrgId, members: &[MemberId]) -> Result<Vec<MemberId>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = members.iter().map(|m| m.as_uuid()).collect();
        memberships::table
            .filter(memberships::org_id.eq(org.as_uuid()))
            .filter(memberships::id.eq_any(ids))
            .select(memberships::id)
            .load::<Uuid>(self.conn)
            .map(|ids| ids.into_iter().map(MemberId::from_uuid).collect())
            .map_err(store_error)
    }
}

/// A team member's id and name.
type GroupMember = (MemberId, Option<String>);

impl PgTx<'_> {
    /// The members of each of `teams`, by team, in join order, with their names.
    fn members_of(&mut self, org: OrgId, teams: &[Uuid]) -> Result<HashMap<Uuid, Vec<GroupMember>>, StoreError> {
        let mut out: HashMap<Uuid, Vec<GroupMember>> = HashMap::new();
        if teams.is_empty() {
            return Ok(out);
        }
        let rows: Vec<(Uuid, Uuid, Option<String>)> = team_members::table
            .inner_join(
                memberships::table
                    .on(memberships::org_id.eq(team_members::org_id).and(memberships::id.eq(team_members::member_id))),
            )
            .inner_join(users::table.on(users::id.eq(memberships::user_id)))
            .filter(team_members::org_id.eq(org.as_uuid()))
            .filter(team_members::team_id.eq_any(teams))
            .order((team_members::team_id.asc(), memberships::id.asc()))
            .select((team_members::team_id, memberships::id, users::name))
            .load(self.conn)
            .map_err(store_error)?;
        for (team, member, name) in rows {
            out.entry(team).or_default().push((MemberId::from_uuid(member), name));
        }
        Ok(out)
    }
}
