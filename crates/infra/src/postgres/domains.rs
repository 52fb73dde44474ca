use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use orgd_domain::authz::RoleKey;
use orgd_domain::ids::{DomainId, OrgId, UserId};
use orgd_domain::verified_domain::{
    DomainName, DomainRef, DomainRepository, DomainWriteError, JoinPolicy, OrgDomain, MAX_DOMAINS_PER_ORG,
};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error, violated_unique};
use super::prepared::prepared;
use super::schema::{org_domains, organizations, verified_domains};
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = org_domains, primary_key(org_id, id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct DomainRow {
    id: Uuid,
    org_id: Uuid,
    domain: String,
    challenge: String,
    verified_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    last_checked_at: Option<DateTime<Utc>>,
    missing_since: Option<DateTime<Utc>>,
    join_policy: String,
    join_role: Option<String>,
    join_role_set_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Moved by the `org_domains_bump_version` trigger on update.
    version: i64,
}

impl From<&OrgDomain> for DomainRow {
    fn from(d: &OrgDomain) -> Self {
        let (join_role, join_role_set_by) = match &d.join {
            JoinPolicy::Auto { role, set_by } => (Some(role.as_str().to_owned()), Some(set_by.as_uuid())),
            _ => (None, None),
        };
        Self {
            id: d.id.as_uuid(),
            org_id: d.org_id.as_uuid(),
            domain: d.name.as_str().to_owned(),
            challenge: d.challenge.clone(),
            verified_at: d.verified_at,
            expires_at: d.expires_at,
            last_checked_at: d.last_checked_at,
            missing_since: d.missing_since,
            join_policy: d.join.name().to_owned(),
            join_role,
            join_role_set_by,
            created_at: d.created_at,
            updated_at: d.updated_at,
            version: d.version,
        }
    }
}

impl TryFrom<DomainRow> for OrgDomain {
    type Error = StoreError;

    fn try_from(row: DomainRow) -> Result<Self, StoreError> {
        let bad = |what: &str| corrupt("org_domains", what);
        let join = match (row.join_policy.as_str(), row.join_role, row.join_role_set_by) {
            ("off", None, None) => JoinPolicy::Off,
            ("suggest", None, None) => JoinPolicy::Suggest,
            ("auto", Some(role), Some(set_by)) => JoinPolicy::Auto {
                role: RoleKey::parse(&role).map_err(|_| bad("join_role"))?,
                set_by: UserId::from_uuid(set_by),
            },
            _ => return Err(bad("join policy")),
        };
        Ok(OrgDomain {
            id: DomainId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            name: DomainName::from_stored(row.domain),
            challenge: row.challenge,
            verified_at: row.verified_at,
            expires_at: row.expires_at,
            last_checked_at: row.last_checked_at,
            missing_since: row.missing_since,
            join,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn write_error(err: diesel::result::Error) -> DomainWriteError {
    match violated_unique(&err) {
        Some("org_domains_org_domain_key") => DomainWriteError::AlreadyClaimed,
        _ => DomainWriteError::Store(store_error(err)),
    }
}

fn rows(rows: Vec<DomainRow>) -> Result<Vec<OrgDomain>, StoreError> {
    rows.into_iter().map(OrgDomain::try_from).collect()
}

impl PgTx<'_> {
    /// Holds the domain's name in `verified_domains` while the domain is verified, and lets
    /// it go otherwise: one organization at most holds a name verified. Of two organizations
    /// verifying the same name at once, the second waits for the first to commit and is
    /// refused.
    fn hold_verified_name(&mut self, domain: &OrgDomain) -> Result<(), DomainWriteError> {
        let (org, id) = (domain.org_id.as_uuid(), domain.id.as_uuid());
        let store = |err| DomainWriteError::Store(store_error(err));
        if domain.verified_at.is_none() {
            diesel::delete(
                verified_domains::table
                    .filter(verified_domains::org_id.eq(org))
                    .filter(verified_domains::domain_id.eq(id)),
            )
            .execute(self.conn)
            .map_err(store)?;
            return Ok(());
        }
        prepared(
            diesel::insert_into(verified_domains::table)
                .values((
                    verified_domains::domain.eq(domain.name.as_str()),
                    verified_domains::org_id.eq(org),
                    verified_domains::domain_id.eq(id),
                ))
                .on_conflict(verified_domains::domain)
                .do_nothing(),
        )
        .execute(self.conn)
        .map_err(store)?;
        let holder: Option<(Uuid, Uuid)> = verified_domains::table
            .find(domain.name.as_str())
            .select((verified_domains::org_id, verified_domains::domain_id))
            .first(self.conn)
            .optional()
            .map_err(store)?;
        if holder == Some((org, id)) {
            Ok(())
        } else {
            Err(DomainWriteError::VerifiedElsewhere)
        }
    }
}

impl DomainRepository for PgTx<'_> {
    fn insert_domain(&mut self, domain: &OrgDomain) -> Result<(), DomainWriteError> {
        prepared(diesel::insert_into(org_domains::table).values(DomainRow::from(domain)))
            .execute(self.conn)
            .map_err(write_error)?;
        self.hold_verified_name(domain)
    }

    fn update_domain(&mut self, domain: &OrgDomain) -> Result<(), DomainWriteError> {
        prepared(
            diesel::update(org_domains::table.find((domain.org_id.as_uuid(), domain.id.as_uuid())))
                .set(DomainRow::from(domain)),
        )
        .execute(self.conn)
        .map_err(write_error)?;
        self.hold_verified_name(domain)
    }

    fn find_domain(&mut self, org: OrgId, domain: &DomainRef, lock: bool) -> Result<Option<OrgDomain>, StoreError> {
        type Predicate = Box<dyn BoxableExpression<org_domains::table, Pg, SqlType = Bool>>;
        let named: Predicate = match domain {
            DomainRef::Id(id) => Box::new(org_domains::id.eq(id.as_uuid())),
            DomainRef::Name(name) => Box::new(org_domains::domain.eq(name.as_str().to_owned())),
        };
        let query = org_domains::table
            .filter(org_domains::org_id.eq(org.as_uuid()))
            .filter(named)
            .select(DomainRow::as_select());
        let row = if lock { query.for_update().first(self.conn) } else { query.first(self.conn) };
        row.optional().map_err(store_error)?.map(OrgDomain::try_from).transpose()
    }

    fn list_domains(&mut self, org: OrgId) -> Result<Vec<OrgDomain>, StoreError> {
        let limit = i64::try_from(MAX_DOMAINS_PER_ORG).unwrap_or(i64::MAX);
        rows(
            org_domains::table
                .filter(org_domains::org_id.eq(org.as_uuid()))
                .order(org_domains::domain)
                .limit(limit)
                .select(DomainRow::as_select())
                .load(self.conn)
                .map_err(store_error)?,
        )
    }

    fn delete_domain(&mut self, org: OrgId, id: DomainId) -> Result<(), StoreError> {
        diesel::delete(
            verified_domains::table
                .filter(verified_domains::org_id.eq(org.as_uuid()))
                .filter(verified_domains::domain_id.eq(id.as_uuid())),
        )
        .execute(self.conn)
        .map_err(store_error)?;
        diesel::delete(org_domains::table.find((org.as_uuid(), id.as_uuid())))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn delete_domains_of_org(&mut self, org: OrgId) -> Result<Vec<DomainName>, StoreError> {
        diesel::delete(verified_domains::table.filter(verified_domains::org_id.eq(org.as_uuid())))
            .execute(self.conn)
            .map_err(store_error)?;
        let names: Vec<String> = diesel::delete(org_domains::table.filter(org_domains::org_id.eq(org.as_uuid())))
            .returning(org_domains::domain)
            .get_results(self.conn)
            .map_err(store_error)?;
        Ok(names.into_iter().map(DomainName::from_stored).collect())
    }

    fn verified_domain(&mut self, name: &DomainName) -> Result<Option<OrgDomain>, StoreError> {
        // The holder first, then its row: one shard, not every organization's domains.
        let row = verified_domains::table
            .inner_join(org_domains::table.on(
                org_domains::org_id.eq(verified_domains::org_id).and(org_domains::id.eq(verified_domains::domain_id)),
            ))
            .inner_join(organizations::table.on(organizations::id.eq(org_domains::org_id)))
            .filter(verified_domains::domain.eq(name.as_str()))
            .filter(org_domains::verified_at.is_not_null())
            .filter(organizations::deleted_at.is_null())
            .select(DomainRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(OrgDomain::try_from).transpose()
    }

    fn domains_due_for_recheck(&mut self, before: DateTime<Utc>, limit: i64) -> Result<Vec<OrgDomain>, StoreError> {
        rows(
            org_domains::table
                .filter(org_domains::verified_at.is_not_null())
                .filter(org_domains::last_checked_at.is_null().or(org_domains::last_checked_at.lt(before)))
                .order((org_domains::last_checked_at.asc().nulls_first(), org_domains::id))
                .limit(limit)
                .select(DomainRow::as_select())
                .load(self.conn)
                .map_err(store_error)?,
        )
    }
}
