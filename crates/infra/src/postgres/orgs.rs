use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::ids::OrgId;
use orgd_domain::org::{
    DomainName, LogoUrl, OrgName, OrgRepository, OrgWriteError, Organization, PostalAddress, PostalAddressInput, Slug,
    TimeZone,
};
use orgd_domain::policy::{Entitlements, Feature, Plan};
use orgd_domain::StoreError;
use serde_json::{json, Value};
use uuid::Uuid;

use super::errors::{corrupt, store_error, violated_unique};
use super::prepared::prepared;
use super::schema::organizations;
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub(super) struct OrgRow {
    id: Uuid,
    name: String,
    slug: String,
    domain: Option<String>,
    logo_url: Option<String>,
    timezone: Option<String>,
    address: Option<Value>,
    version: i64,
    plan: String,
    feature_overrides: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Organization> for OrgRow {
    fn from(org: &Organization) -> Self {
        OrgRow {
            id: org.id.as_uuid(),
            name: org.name.as_str().to_owned(),
            slug: org.slug.as_str().to_owned(),
            domain: org.domain.as_ref().map(|d| d.as_str().to_owned()),
            logo_url: org.logo_url.as_ref().map(|u| u.as_str().to_owned()),
            timezone: org.timezone.map(|t| t.as_str().to_owned()),
            address: org.address.as_ref().map(|a| {
                json!({
                    "line1": a.line1, "line2": a.line2, "city": a.city, "region": a.region,
                    "postal_code": a.postal_code, "country": a.country,
                })
            }),
            version: org.version,
            plan: org.entitlements.plan.as_str().to_owned(),
            feature_overrides: overrides_to_json(&org.entitlements),
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// Entitlement overrides as stored: `{"sso": true, "scim": false}`.
pub(super) fn overrides_to_json(entitlements: &Entitlements) -> Value {
    Value::Object(entitlements.overrides.iter().map(|(f, on)| (f.as_str().to_owned(), Value::Bool(*on))).collect())
}

pub(super) fn overrides_from_json(value: &Value) -> Result<std::collections::BTreeMap<Feature, bool>, StoreError> {
    let bad = |detail: &str| corrupt("organizations", format!("feature_overrides: {detail}"));
    let object = value.as_object().ok_or_else(|| bad("not an object"))?;
    object
        .iter()
        .map(|(name, on)| {
            let feature = Feature::parse(name).map_err(|e| bad(&e.message))?;
            Ok((feature, on.as_bool().ok_or_else(|| bad("not a boolean"))?))
        })
        .collect()
}

fn address_from_json(value: &Value) -> Result<PostalAddress, StoreError> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let input = PostalAddressInput {
        line1: text("line1").unwrap_or_default(),
        line2: text("line2"),
        city: text("city").unwrap_or_default(),
        region: text("region"),
        postal_code: text("postal_code"),
        country: text("country").unwrap_or_default(),
    };
    PostalAddress::parse("address", input).map_err(|e| corrupt("organizations", e))
}

impl TryFrom<OrgRow> for Organization {
    type Error = StoreError;

    fn try_from(row: OrgRow) -> Result<Self, Self::Error> {
        let bad = |e: orgd_domain::error::ValueError| corrupt("organizations", e);
        Ok(Organization {
            id: OrgId::from_uuid(row.id),
            name: OrgName::parse(&row.name).map_err(bad)?,
            slug: Slug::parse(&row.slug).map_err(bad)?,
            domain: row.domain.as_deref().map(DomainName::parse).transpose().map_err(bad)?,
            logo_url: row.logo_url.as_deref().map(LogoUrl::parse).transpose().map_err(bad)?,
            timezone: row.timezone.as_deref().map(TimeZone::parse).transpose().map_err(bad)?,
            address: row.address.as_ref().map(address_from_json).transpose()?,
            version: row.version,
            entitlements: Entitlements {
                plan: Plan::parse(&row.plan).map_err(bad)?,
                overrides: overrides_from_json(&row.feature_overrides)?,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn write_error(err: diesel::result::Error) -> OrgWriteError {
    match violated_unique(&err) {
        Some("organizations_name_live_key") => OrgWriteError::NameTaken,
        Some("organizations_slug_live_key") => OrgWriteError::SlugTaken,
        _ => OrgWriteError::Store(store_error(err)),
    }
}

impl OrgRepository for PgTx<'_> {
    fn insert_org(&mut self, org: &Organization) -> Result<(), OrgWriteError> {
        prepared(diesel::insert_into(organizations::table).values(OrgRow::from(org)))
            .execute(self.conn)
            .map(|_| ())
            .map_err(write_error)
    }

    fn find_org(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        let row = organizations::table
            .filter(organizations::id.eq(id.as_uuid()))
            .filter(organizations::deleted_at.is_null())
            .select(OrgRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(Organization::try_from).transpose()
    }

    fn lock_org(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        // Not `FOR UPDATE`: that also blocks the key-share lock every insert of a row
        // referencing the organization takes, so a transaction holding the audit chain head
        // and inserting its record would deadlock with one holding this lock and waiting for
        // the head.
        let row = organizations::table
            .filter(organizations::id.eq(id.as_uuid()))
            .filter(organizations::deleted_at.is_null())
            .select(OrgRow::as_select())
            .for_no_key_update()
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(Organization::try_from).transpose()
    }

    fn update_org(&mut self, org: &Organization) -> Result<(), OrgWriteError> {
        prepared(
            diesel::update(organizations::table.filter(organizations::id.eq(org.id.as_uuid()))).set(OrgRow::from(org)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(write_error)
    }

    fn soft_delete_org(&mut self, id: OrgId, at: DateTime<Utc>) -> Result<(), StoreError> {
        prepared(
            diesel::update(
                organizations::table
                    .filter(organizations::id.eq(id.as_uuid()))
                    .filter(organizations::deleted_at.is_null()),
            )
            .set((
                organizations::deleted_at.eq(at),
                organizations::updated_at.eq(at),
                organizations::version.eq(organizations::version + 1),
            )),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn org_slug_taken(&mut self, slug: &Slug) -> Result<bool, StoreError> {
        diesel::select(diesel::dsl::exists(
            organizations::table
                .filter(organizations::slug.eq(slug.as_str()))
                .filter(organizations::deleted_at.is_null()),
        ))
        .get_result(self.conn)
        .map_err(store_error)
    }
}
