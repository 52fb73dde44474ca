use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::ids::{MemberId, OrgId, TeamId};
use orgd_domain::pagination::{Page, PageRequest};
use orgd_domain::team::{Team, TeamMember, TeamName, TeamRepository, TeamSummary, TeamWriteError};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error, violated_unique};
use super::members::{member_from_row, MembershipRow};
use super::prepared::prepared;
use super::schema::{memberships, team_members, teams, users};
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = teams, primary_key(org_id, id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub(super) struct TeamRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    description: Option<String>,
    external_id: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl From<&Team> for TeamRow {
    fn from(team: &Team) -> Self {
        TeamRow {
            id: team.id.as_uuid(),
            org_id: team.org_id.as_uuid(),
            name: team.name.as_str().to_owned(),
            description: team.description.clone(),
            external_id: team.external_id.clone(),
            created_at: team.created_at,
            updated_at: team.updated_at,
            version: team.version,
        }
    }
}

impl TryFrom<TeamRow> for Team {
    type Error = StoreError;

    fn try_from(row: TeamRow) -> Result<Self, Self::Error> {
        Ok(Team {
            id: TeamId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            name: TeamName::parse(&row.name).map_err(|e| corrupt("teams", e))?,
            description: row.description,
            external_id: row.external_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

fn write_error(err: diesel::result::Error) -> TeamWriteError {
    match violated_unique(&err) {
        Some("teams_org_name_key") => TeamWriteError::NameTaken,
        Some("team_members_pkey") => TeamWriteError::AlreadyInTeam,
        Some("teams_org_external_id_key") => TeamWriteError::ExternalIdTaken,
        _ => TeamWriteError::Store(store_error(err)),
    }
}

type TeamMemberRow = (bool, DateTime<Utc>, MembershipRow, Option<String>, Option<String>, bool);

fn team_member(row: TeamMemberRow) -> Result<TeamMember, StoreError> {
    let (is_manager, added_at, membership, name, email, email_verified) = row;
    Ok(TeamMember { member: member_from_row((membership, name, email, email_verified))?, is_manager, added_at })
}

impl TeamRepository for PgTx<'_> {
    fn insert_team(&mut self, team: &Team) -> Result<(), TeamWriteError> {
        prepared(diesel::insert_into(teams::table).values(TeamRow::from(team)))
            .execute(self.conn)
            .map(|_| ())
            .map_err(write_error)
    }

    fn find_team(&mut self, org: OrgId, id: TeamId) -> Result<Option<Team>, StoreError> {
        let row = teams::table
            .filter(teams::org_id.eq(org.as_uuid()))
            .filter(teams::id.eq(id.as_uuid()))
            .select(TeamRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(Team::try_from).transpose()
    }

    fn count_team_members(&mut self, org: OrgId, team: TeamId) -> Result<u64, StoreError> {
        let count: i64 = team_members::table
            .filter(team_members::org_id.eq(org.as_uuid()))
            .filter(team_members::team_id.eq(team.as_uuid()))
            .count()
            .get_result(self.conn)
            .map_err(store_error)?;
        Ok(count.unsigned_abs())
    }

    fn list_teams(&mut self, org: OrgId, page: PageRequest) -> Result<Page<TeamSummary>, StoreError> {
        let mut query = teams::table.filter(teams::org_id.eq(org.as_uuid())).into_boxed();
        if let Some(after) = page.after {
            query = query.filter(teams::id.gt(after));
        }
        let rows: Vec<TeamRow> = query
            .order(teams::id.asc())
            .limit(page.fetch_limit())
            .select(TeamRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let counts: HashMap<Uuid, i64> = team_members::table
            .filter(team_members::org_id.eq(org.as_uuid()))
            .filter(team_members::team_id.eq_any(&ids))
            .group_by(team_members::team_id)
            .select((team_members::team_id, diesel::dsl::count_star()))
            .load::<(Uuid, i64)>(self.conn)
            .map_err(store_error)?
            .into_iter()
            .collect();
        let summaries = rows
            .into_iter()
            .map(|row| {
                let member_count = counts.get(&row.id).copied().unwrap_or(0).unsigned_abs();
                Team::try_from(row).map(|team| TeamSummary { team, member_count })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(summaries, page, |s| s.team.id.as_uuid()))
    }

    fn update_team(&mut self, team: &Team) -> Result<(), TeamWriteError> {
        prepared(
            diesel::update(
                teams::table.filter(teams::org_id.eq(team.org_id.as_uuid())).filter(teams::id.eq(team.id.as_uuid())),
            )
            .set(TeamRow::from(team)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(write_error)
    }

    fn delete_team(&mut self, org: OrgId, id: TeamId) -> Result<(), StoreError> {
        diesel::delete(teams::table.filter(teams::org_id.eq(org.as_uuid())).filter(teams::id.eq(id.as_uuid())))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn add_team_member(
        &mut self,
        org: OrgId,
        team: TeamId,
        member: MemberId,
        is_manager: bool,
        at: DateTime<Utc>,
    ) -> Result<(), TeamWriteError> {
        prepared(diesel::insert_into(team_members::table).values((
            team_members::org_id.eq(org.as_uuid()),
            team_members::team_id.eq(team.as_uuid()),
            team_members::member_id.eq(member.as_uuid()),
            team_members::is_manager.eq(is_manager),
            team_members::created_at.eq(at),
        )))
        .execute(self.conn)
        .map(|_| ())
        .map_err(write_error)
    }

    fn find_team_member(
        &mut self,
        org: OrgId,
        team: TeamId,
        member: MemberId,
    ) -> Result<Option<TeamMember>, StoreError> {
        let row: Option<TeamMemberRow> = team_members::table
            .inner_join(
                memberships::table
                    .on(memberships::org_id.eq(team_members::org_id).and(memberships::id.eq(team_members::member_id))),
            )
            .inner_join(users::table.on(users::id.eq(memberships::user_id)))
            .filter(team_members::org_id.eq(org.as_uuid()))
            .filter(team_members::team_id.eq(team.as_uuid()))
            .filter(team_members::member_id.eq(member.as_uuid()))
            .select((
                team_members::is_manager,
                team_members::created_at,
                MembershipRow::as_select(),
                users::name,
                users::email,
                users::email_verified,
            ))
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(team_member).transpose()
    }

    fn remove_team_member(&mut self, org: OrgId, team: TeamId, member: MemberId) -> Result<(), StoreError> {
        diesel::delete(
            team_members::table
                .filter(team_members::org_id.eq(org.as_uuid()))
                .filter(team_members::team_id.eq(team.as_uuid()))
                .filter(team_members::member_id.eq(member.as_uuid())),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn set_team_manager(
        &mut self,
        org: OrgId,
        team: TeamId,
        member: MemberId,
        is_manager: bool,
    ) -> Result<(), StoreError> {
        prepared(
            diesel::update(
                team_members::table
                    .filter(team_members::org_id.eq(org.as_uuid()))
                    .filter(team_members::team_id.eq(team.as_uuid()))
                    .filter(team_members::member_id.eq(member.as_uuid())),
            )
            .set(team_members::is_manager.eq(is_manager)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn list_team_members(
        &mut self,
        org: OrgId,
        team: TeamId,
        page: PageRequest,
    ) -> Result<Page<TeamMember>, StoreError> {
        let mut query = team_members::table
            .inner_join(
                memberships::table
                    .on(memberships::org_id.eq(team_members::org_id).and(memberships::id.eq(team_members::member_id))),
            )
            .inner_join(users::table.on(users::id.eq(memberships::user_id)))
            .filter(team_members::org_id.eq(org.as_uuid()))
            .filter(team_members::team_id.eq(team.as_uuid()))
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(team_members::member_id.gt(after));
        }
        let rows: Vec<TeamMemberRow> = query
            .order(team_members::member_id.asc())
            .limit(page.fetch_limit())
            .select((
                team_members::is_manager,
                team_members::created_at,
                MembershipRow::as_select(),
                users::name,
                users::email,
                users::email_verified,
            ))
            .load(self.conn)
            .map_err(store_error)?;
        let members = rows.into_iter().map(team_member).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(members, page, |m| m.member.membership.id.as_uuid()))
    }
}
