use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::authz::RoleKey;
use orgd_domain::ids::{OrgId, TeamId, UserId};
use orgd_domain::policy::Versioned;
use orgd_domain::scim::{GroupRole, ScimConfig, ScimRepository, StoredScimToken};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::{organizations, scim_configs, scim_group_roles};
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = scim_configs, primary_key(org_id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct ScimRow {
    org_id: Uuid,
    enabled: bool,
    token_hash: Option<Vec<u8>>,
    token_hint: Option<String>,
    token_created_at: Option<DateTime<Utc>>,
    version: i64,
    updated_at: DateTime<Utc>,
}

impl From<ScimRow> for Versioned<ScimConfig> {
    fn from(row: ScimRow) -> Self {
        let token = match (row.token_hash, row.token_hint, row.token_created_at) {
            (Some(lookup_hash), Some(hint), Some(created_at)) => {
                Some(StoredScimToken { lookup_hash, hint, created_at })
            }
            _ => None,
        };
        Versioned {
            policy: ScimConfig { enabled: row.enabled, token, group_roles: Vec::new() },
            version: row.version,
            updated_at: Some(row.updated_at),
        }
    }
}

impl ScimRepository for PgTx<'_> {
    fn find_scim_config(&mut self, org: OrgId) -> Result<Option<Versioned<ScimConfig>>, StoreError> {
        let row = scim_configs::table
            .find(org.as_uuid())
            .select(ScimRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        let Some(mut config) = row.map(Versioned::<ScimConfig>::from) else { return Ok(None) };
        let mappings: Vec<(Uuid, String, Uuid)> = scim_group_roles::table
            .filter(scim_group_roles::org_id.eq(org.as_uuid()))
            .order(scim_group_roles::position.asc())
            .select((scim_group_roles::team_id, scim_group_roles::role, scim_group_roles::set_by))
            .load(self.conn)
            .map_err(store_error)?;
        config.policy.group_roles = mappings
            .into_iter()
            .map(|(team, role, set_by)| {
                Ok(GroupRole {
                    team: TeamId::from_uuid(team),
                    role: RoleKey::parse(&role).map_err(|e| corrupt("scim_group_roles", e))?,
                    set_by: UserId::from_uuid(set_by),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(config))
    }

    fn save_scim_config(&mut self, org: OrgId, config: &Versioned<ScimConfig>) -> Result<(), StoreError> {
        let token = config.policy.token.as_ref();
        let row = ScimRow {
            org_id: org.as_uuid(),
            enabled: config.policy.enabled,
            token_hash: token.map(|t| t.lookup_hash.clone()),
            token_hint: token.map(|t| t.hint.clone()),
            token_created_at: token.map(|t| t.created_at),
            version: config.version,
            updated_at: config.updated_at.ok_or_else(|| corrupt("scim_configs", "a saved configuration has a time"))?,
        };
        prepared(
            diesel::insert_into(scim_configs::table)
                .values(&row)
                .on_conflict(scim_configs::org_id)
                .do_update()
                .set(&row),
        )
        .execute(self.conn)
        .map_err(store_error)?;
        diesel::delete(scim_group_roles::table.filter(scim_group_roles::org_id.eq(org.as_uuid())))
            .execute(self.conn)
            .map_err(store_error)?;
        let rows: Vec<_> = config
            .policy
            .group_roles
            .iter()
            .enumerate()
            .map(|(position, g)| {
                (
                    scim_group_roles::org_id.eq(org.as_uuid()),
                    scim_group_roles::team_id.eq(g.team.as_uuid()),
                    scim_group_roles::role.eq(g.role.as_str().to_owned()),
                    scim_group_roles::set_by.eq(g.set_by.as_uuid()),
                    scim_group_roles::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
                )
            })
            .collect();
        diesel::insert_into(scim_group_roles::table).values(rows).execute(self.conn).map(|_| ()).map_err(store_error)
    }

    fn rekey_scim_token(&mut self, from: &[u8], to: &[u8]) -> Result<(), StoreError> {
        prepared(
            diesel::update(scim_configs::table.filter(scim_configs::token_hash.eq(from)))
                .set(scim_configs::token_hash.eq(to)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn find_scim_org_by_token_hash(&mut self, lookup_hash: &[u8]) -> Result<Option<OrgId>, StoreError> {
        scim_configs::table
            .inner_join(organizations::table)
            .filter(scim_configs::token_hash.eq(lookup_hash))
            .filter(scim_configs::enabled.eq(true))
            .filter(organizations::deleted_at.is_null())
            .select(scim_configs::org_id)
            .first::<Uuid>(self.conn)
            .optional()
            .map(|org| org.map(OrgId::from_uuid))
            .map_err(store_error)
    }
}
