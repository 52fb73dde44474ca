use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz, Uuid as SqlUuid};
use orgd_domain::authz::RoleKey;
use orgd_domain::dashboard::{DashboardCounts, DashboardRepository, RoleFigures};
use orgd_domain::ids::OrgId;
use orgd_domain::StoreError;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::org_member_stats;
use super::store::PgTx;

#[derive(QueryableByName)]
struct Counts {
    #[diesel(sql_type = BigInt)]
    pending_invites: i64,
    #[diesel(sql_type = BigInt)]
    teams: i64,
    #[diesel(sql_type = BigInt)]
    active_api_keys: i64,
    #[diesel(sql_type = BigInt)]
    expiring_api_keys: i64,
    #[diesel(sql_type = BigInt)]
    audit_events_since: i64,
}

/// Every figure but the members in one round trip. Audit events are counted from the
/// chain: the head's sequence number less that of the first event in the period, two
/// index lookups whatever the size of the log.
const COUNTS: &str = "
    WITH head AS (SELECT coalesce((SELECT seq FROM audit_chain_heads WHERE org_id = $1), 0) AS seq)
    SELECT
        (SELECT count(*) FROM invites
          WHERE org_id = $1 AND revoked_at IS NULL AND uses < max_uses AND expires_at > $2) AS pending_invites,
        (SELECT count(*) FROM teams WHERE org_id = $1) AS teams,
        (SELECT count(*) FROM api_keys
          WHERE org_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)) AS active_api_keys,
        (SELECT count(*) FROM api_keys
          WHERE org_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND expires_at < $3) AS expiring_api_keys,
        head.seq + 1 - coalesce(
            (SELECT seq FROM audit_events WHERE org_id = $1 AND occurred_at >= $4 ORDER BY occurred_at, seq LIMIT 1),
            head.seq + 1) AS audit_events_since
    FROM head";

impl DashboardRepository for PgTx<'_> {
    fn dashboard_counts(
        &mut self,
        org: OrgId,
        now: DateTime<Utc>,
        expiring_before: DateTime<Utc>,
        audit_since: DateTime<Utc>,
    ) -> Result<DashboardCounts, StoreError> {
        let stats: Vec<(String, i64, i64, i64)> = org_member_stats::table
            .filter(org_member_stats::org_id.eq(org.as_uuid()))
            .filter(org_member_stats::members.gt(0))
            .order(org_member_stats::role.asc())
            .select((
                org_member_stats::role,
                org_member_stats::members,
                org_member_stats::suspended,
                org_member_stats::mfa_enrolled,
            ))
            .load(self.conn)
            .map_err(store_error)?;
        let by_role = stats
            .into_iter()
            .map(|(role, members, suspended, mfa_enrolled)| {
                let role = RoleKey::parse(&role).map_err(|e| corrupt("org_member_stats", e))?;
                Ok(RoleFigures { role, members, suspended, mfa_enrolled })
            })
            .collect::<Result<_, StoreError>>()?;
        let counts: Counts = prepared(
            diesel::sql_query(COUNTS)
                .bind::<SqlUuid, _>(org.as_uuid())
                .bind::<Timestamptz, _>(now)
                .bind::<Timestamptz, _>(expiring_before)
                .bind::<Timestamptz, _>(audit_since),
        )
        .get_result(self.conn)
        .map_err(store_error)?;
        Ok(DashboardCounts {
            by_role,
            pending_invites: counts.pending_invites,
            teams: counts.teams,
            active_api_keys: counts.active_api_keys,
            expiring_api_keys: counts.expiring_api_keys,
            audit_events_since: counts.audit_events_since,
        })
    }
}
