use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::authz::{Permission, PermissionSet, RoleKey};
use orgd_domain::ids::{OrgId, RoleId};
use orgd_domain::role::{CustomRole, RoleName, RoleRepository, RoleWriteError};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error, violated_unique};
use super::prepared::prepared;
use super::schema::{memberships, roles};
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = roles, primary_key(org_id, id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct RoleRow {
    id: Uuid,
    org_id: Uuid,
    key: String,
    name: String,
    description: Option<String>,
    permissions: Vec<Option<String>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

/// Permission names as stored: the catalogue's names, in catalogue order.
pub(super) fn permission_names(set: PermissionSet) -> Vec<Option<String>> {
    set.iter().map(|p| Some(p.as_str().to_owned())).collect()
}

/// Reads stored permission names. A name the catalogue no longer has grants nothing.
pub(super) fn permission_set(names: &[Option<String>]) -> PermissionSet {
    names.iter().flatten().filter_map(|n| n.parse::<Permission>().ok()).collect()
}

impl From<&CustomRole> for RoleRow {
    fn from(role: &CustomRole) -> Self {
        RoleRow {
            id: role.id.as_uuid(),
            org_id: role.org_id.as_uuid(),
            key: role.key.as_str().to_owned(),
            name: role.name.as_str().to_owned(),
            description: role.description.clone(),
            permissions: permission_names(role.permissions),
            created_at: role.created_at,
            updated_at: role.updated_at,
            version: role.version,
        }
    }
}

impl TryFrom<RoleRow> for CustomRole {
    type Error = StoreError;

    fn try_from(row: RoleRow) -> Result<Self, Self::Error> {
        Ok(CustomRole {
            id: RoleId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            key: RoleKey::parse(&row.key).map_err(|e| corrupt("roles", e))?,
            name: RoleName::parse(&row.name).map_err(|e| corrupt("roles", e))?,
            description: row.description,
            permissions: permission_set(&row.permissions),
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

impl RoleRepository for PgTx<'_> {
    fn find_role_by_key(&mut self, org: OrgId, key: &RoleKey) -> Result<Option<CustomRole>, StoreError> {
        let row = roles::table
            .filter(roles::org_id.eq(org.as_uuid()))
            .filter(roles::key.eq(key.as_str()))
            .select(RoleRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(CustomRole::try_from).transpose()
    }

    fn find_role(&mut self, org: OrgId, id: RoleId) -> Result<Option<CustomRole>, StoreError> {
        let row = roles::table
            .filter(roles::org_id.eq(org.as_uuid()))
            .filter(roles::id.eq(id.as_uuid()))
            .select(RoleRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(CustomRole::try_from).transpose()
    }

    fn list_roles(&mut self, org: OrgId) -> Result<Vec<CustomRole>, StoreError> {
        let rows: Vec<RoleRow> = roles::table
            .filter(roles::org_id.eq(org.as_uuid()))
            .order(roles::id.asc())
            .select(RoleRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        rows.into_iter().map(CustomRole::try_from).collect()
    }

    fn insert_role(&mut self, role: &CustomRole) -> Result<(), RoleWriteError> {
        prepared(diesel::insert_into(roles::table).values(RoleRow::from(role))).execute(self.conn).map(|_| ()).map_err(
            |err| match violated_unique(&err) {
                Some("roles_org_key_key") => RoleWriteError::KeyTaken,
                _ => RoleWriteError::Store(store_error(err)),
            },
        )
    }

    fn update_role(&mut self, role: &CustomRole) -> Result<(), StoreError> {
        prepared(
            diesel::update(
                roles::table.filter(roles::org_id.eq(role.org_id.as_uuid())).filter(roles::id.eq(role.id.as_uuid())),
            )
            .set(RoleRow::from(role)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn delete_role(&mut self, org: OrgId, id: RoleId) -> Result<(), StoreError> {
        diesel::delete(roles::table.filter(roles::org_id.eq(org.as_uuid())).filter(roles::id.eq(id.as_uuid())))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn count_members_with_role(&mut self, org: OrgId, key: &RoleKey) -> Result<u64, StoreError> {
        let count: i64 = memberships::table
            .filter(memberships::org_id.eq(org.as_uuid()))
            .filter(memberships::role.eq(key.as_str()))
            .count()
            .get_result(self.conn)
            .map_err(store_error)?;
        Ok(count.unsigned_abs())
    }

    fn reassign_role(
        &mut self,
        org: OrgId,
        from: &RoleKey,
        to: &RoleKey,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        prepared(
            diesel::update(
                memberships::table
                    .filter(memberships::org_id.eq(org.as_uuid()))
                    .filter(memberships::role.eq(from.as_str())),
            )
            .set((memberships::role.eq(to.as_str()), memberships::updated_at.eq(at))),
        )
        .execute(self.conn)
        .map(|n| n as u64)
        .map_err(store_error)
    }
}
