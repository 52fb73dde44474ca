use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::apikey::{ApiKey, ApiKeyRepository};
use orgd_domain::audit::Actor;
use orgd_domain::ids::{ApiKeyId, OrgId};
use orgd_domain::pagination::{Page, PageRequest};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::roles::{permission_names, permission_set};
use super::schema::api_keys;
use super::store::PgTx;

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
struct ApiKeyRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    permissions: Vec<Option<String>>,
    hint: String,
    created_by_type: String,
    created_by_id: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_ip: Option<ipnetwork::IpNetwork>,
}

#[derive(Insertable)]
#[diesel(table_name = api_keys)]
struct NewApiKeyRow<'a> {
    id: Uuid,
    org_id: Uuid,
    name: &'a str,
    permissions: Vec<Option<String>>,
    lookup_hash: &'a [u8],
    hint: &'a str,
    created_by_type: &'a str,
    created_by_id: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

pub(super) fn actor(kind: &str, id: &str) -> Result<Actor, StoreError> {
    let bad = || corrupt("api_keys", format!("creator {kind}:{id}"));
    match kind {
        "user" => id.parse().map(Actor::User).map_err(|_| bad()),
        "api_key" => id.parse().map(Actor::ApiKey).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;

    fn try_from(row: ApiKeyRow) -> Result<Self, Self::Error> {
        Ok(ApiKey {
            id: ApiKeyId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            name: row.name,
            permissions: permission_set(&row.permissions),
            hint: row.hint,
            created_by: actor(&row.created_by_type, &row.created_by_id)?,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            last_used_ip: row.last_used_ip.map(|net| net.ip()),
            revoked_at: row.revoked_at,
        })
    }
}

fn one(row: Option<ApiKeyRow>) -> Result<Option<ApiKey>, StoreError> {
    row.map(ApiKey::try_from).transpose()
}

impl ApiKeyRepository for PgTx<'_> {
    fn insert_api_key(&mut self, key: &ApiKey, lookup_hash: &[u8]) -> Result<(), StoreError> {
        let row = NewApiKeyRow {
            id: key.id.as_uuid(),
            org_id: key.org_id.as_uuid(),
            name: &key.name,
            permissions: permission_names(key.permissions),
            lookup_hash,
            hint: &key.hint,
            created_by_type: key.created_by.kind(),
            created_by_id: key.created_by.id(),
            created_at: key.created_at,
            expires_at: key.expires_at,
        };
        prepared(diesel::insert_into(api_keys::table).values(row)).execute(self.conn).map(|_| ()).map_err(store_error)
    }

    fn rekey_api_key(&mut self, from: &[u8], to: &[u8]) -> Result<(), StoreError> {
        prepared(
            diesel::update(api_keys::table.filter(api_keys::lookup_hash.eq(from))).set(api_keys::lookup_hash.eq(to)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn find_api_key_by_hash(&mut self, lookup_hash: &[u8]) -> Result<Option<ApiKey>, StoreError> {
        let row = api_keys::table
            .filter(api_keys::lookup_hash.eq(lookup_hash))
            .select(ApiKeyRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        one(row)
    }

    fn find_api_key(&mut self, org: OrgId, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        let row = api_keys::table
            .filter(api_keys::org_id.eq(org.as_uuid()))
            .filter(api_keys::id.eq(id.as_uuid()))
            .select(ApiKeyRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        one(row)
    }

    fn list_api_keys(&mut self, org: OrgId, page: PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let mut query = api_keys::table.filter(api_keys::org_id.eq(org.as_uuid())).into_boxed();
        if let Some(after) = page.after {
            query = query.filter(api_keys::id.lt(after));
        }
        let rows: Vec<ApiKeyRow> = query
            .order(api_keys::id.desc())
            .limit(page.fetch_limit())
            .select(ApiKeyRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        let keys = rows.into_iter().map(ApiKey::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(keys, page, |k| k.id.as_uuid()))
    }

    fn revoke_api_key(&mut self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        prepared(
            diesel::update(
                api_keys::table
                    .filter(api_keys::org_id.eq(org.as_uuid()))
                    .filter(api_keys::id.eq(id.as_uuid()))
                    .filter(api_keys::revoked_at.is_null()),
            )
            .set(api_keys::revoked_at.eq(at)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn touch_api_key(
        &mut self,
        org: OrgId,
        id: ApiKeyId,
        at: DateTime<Utc>,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), StoreError> {
        let key = api_keys::table.filter(api_keys::org_id.eq(org.as_uuid())).filter(api_keys::id.eq(id.as_uuid()));
        let updated = match ip {
            Some(ip) => prepared(
                diesel::update(key)
                    .set((api_keys::last_used_at.eq(at), api_keys::last_used_ip.eq(ipnetwork::IpNetwork::from(ip)))),
            )
            .execute(self.conn),
            None => prepared(diesel::update(key).set(api_keys::last_used_at.eq(at))).execute(self.conn),
        };
        updated.map(|_| ()).map_err(store_error)
    }
}
