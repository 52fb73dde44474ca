use chrono::{DateTime, Utc};
use diesel::prelude::*;
use ipnetwork::IpNetwork;
use orgd_domain::authz::RoleKey;
use orgd_domain::ids::{ApiKeyId, MemberId, OrgId, UserId};
use orgd_domain::org::{OrgRepository, Organization};
use orgd_domain::policy::{
    KeyAccessFacts, MemberAccessFacts, MfaPolicy, OrgPolicies, PolicyRepository, SecurityPolicy, SignInMethod,
    SignInPolicy, Versioned,
};
use orgd_domain::verified_domain::DomainName;
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::orgs::OrgRow;
use super::prepared::prepared;
use super::schema::{api_keys, memberships, org_policies, organizations, users};
use super::store::PgTx;

#[derive(Queryable, Selectable)]
#[diesel(table_name = org_policies, check_for_backend(diesel::pg::Pg))]
struct PolicyRow {
    mfa_enforced: bool,
    mfa_grace_until: Option<DateTime<Utc>>,
    mfa_version: i64,
    mfa_updated_at: Option<DateTime<Utc>>,
    sign_in_methods: Vec<Option<String>>,
    sign_in_version: i64,
    sign_in_updated_at: Option<DateTime<Utc>>,
    ip_allowlist: Vec<Option<IpNetwork>>,
    max_session_age_secs: Option<i32>,
    mfa_max_age_secs: Option<i32>,
    security_version: i64,
    security_updated_at: Option<DateTime<Utc>>,
}

fn ipnet(net: IpNetwork) -> Result<ipnet::IpNet, StoreError> {
    ipnet::IpNet::new(net.ip(), net.prefix()).map_err(|e| corrupt("org_policies", e))
}

impl TryFrom<PolicyRow> for OrgPolicies {
    type Error = StoreError;

    fn try_from(row: PolicyRow) -> Result<Self, Self::Error> {
        let bad = |e: orgd_domain::error::ValueError| corrupt("org_policies", e);
        let methods = row
            .sign_in_methods
            .iter()
            .flatten()
            .map(|m| SignInMethod::parse(m).map_err(bad))
            .collect::<Result<_, _>>()?;
        let seconds = |s: Option<i32>| s.map(|s| chrono::Duration::seconds(i64::from(s)));
        Ok(OrgPolicies {
            mfa: Versioned {
                policy: MfaPolicy { enforced: row.mfa_enforced, grace_until: row.mfa_grace_until },
                version: row.mfa_version,
                updated_at: row.mfa_updated_at,
            },
            sign_in: Versioned {
                policy: SignInPolicy { allowed: methods },
                version: row.sign_in_version,
                updated_at: row.sign_in_updated_at,
            },
            security: Versioned {
                policy: SecurityPolicy {
                    ip_allowlist: row.ip_allowlist.into_iter().flatten().map(ipnet).collect::<Result<_, _>>()?,
                    max_session_age: seconds(row.max_session_age_secs),
                    mfa_max_age: seconds(row.mfa_max_age_secs),
                },
                version: row.security_version,
                updated_at: row.security_updated_at,
            },
            sso_domains: Default::default(),
        })
    }
}

/// The organization's verified domains held to its SSO (every one while SSO is enforced),
/// read in the same statement as its policies, so the gate stays one round trip.
fn sso_domains() -> diesel::expression::SqlLiteral<diesel::sql_types::Array<diesel::sql_types::Text>> {
    diesel::dsl::sql(
        "ARRAY(SELECT d.domain FROM org_domains d JOIN sso_configs s ON s.org_id = d.org_id AND s.enforced \
         WHERE d.org_id = organizations.id AND d.verified_at IS NOT NULL)",
    )
}

fn with_sso_domains(policies: Option<PolicyRow>, sso: Vec<String>) -> Result<OrgPolicies, StoreError> {
    let mut policies = policies.map(OrgPolicies::try_from).transpose()?.unwrap_or_default();
    policies.sso_domains = sso.into_iter().map(DomainName::from_stored).collect();
    Ok(policies)
}

fn seconds(duration: Option<chrono::Duration>) -> Option<i32> {
    duration.and_then(|d| i32::try_from(d.num_seconds()).ok())
}

impl PgTx<'_> {
    /// Makes sure the organization has its policy row, so each save below is one update.
    fn policy_row(&mut self, org: OrgId) -> Result<(), StoreError> {
        prepared(
            diesel::insert_into(org_policies::table)
                .values(org_policies::org_id.eq(org.as_uuid()))
                .on_conflict_do_nothing(),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }
}

impl PolicyRepository for PgTx<'_> {
    fn find_org_for_entry(&mut self, id: OrgId, lock: bool) -> Result<Option<(Organization, OrgPolicies)>, StoreError> {
        if lock {
            // PostgreSQL locks no row on the nullable side of an outer join: lock the
            // organization, then read its policies (written only under that lock).
            let Some(org) = self.lock_org(id)? else { return Ok(None) };
            let row = prepared(
                organizations::table
                    .left_join(org_policies::table)
                    .filter(organizations::id.eq(id.as_uuid()))
                    .select((Option::<PolicyRow>::as_select(), sso_domains()))
                    .limit(1),
            )
            .get_result(self.conn)
            .optional()
            .map_err(store_error)?;
            let policies = match row {
                Some((policies, sso)) => with_sso_domains(policies, sso)?,
                None => OrgPolicies::default(),
            };
            return Ok(Some((org, policies)));
        }
        let row = prepared(
            organizations::table
                .left_join(org_policies::table)
                .filter(organizations::id.eq(id.as_uuid()))
                .filter(organizations::deleted_at.is_null())
                .select((OrgRow::as_select(), Option::<PolicyRow>::as_select(), sso_domains()))
                .limit(1),
        )
        .get_result(self.conn)
        .optional()
        .map_err(store_error)?;
        let Some((org, policies, sso)) = row else { return Ok(None) };
        Ok(Some((Organization::try_from(org)?, with_sso_domains(policies, sso)?)))
    }

    fn policies_of(&mut self, orgs: &[OrgId]) -> Result<Vec<(OrgId, OrgPolicies)>, StoreError> {
        let ids: Vec<Uuid> = orgs.iter().map(OrgId::as_uuid).collect();
        let rows: Vec<(Uuid, Option<PolicyRow>, Vec<String>)> = organizations::table
            .left_join(org_policies::table)
            .filter(organizations::id.eq_any(ids))
            .select((organizations::id, Option::<PolicyRow>::as_select(), sso_domains()))
            .load(self.conn)
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(id, policies, sso)| Ok((OrgId::from_uuid(id), with_sso_domains(policies, sso)?)))
            .collect()
    }

    fn save_mfa_policy(&mut self, org: OrgId, policy: &Versioned<MfaPolicy>) -> Result<(), StoreError> {
        self.policy_row(org)?;
        prepared(diesel::update(org_policies::table.find(org.as_uuid())).set((
            org_policies::mfa_enforced.eq(policy.policy.enforced),
            org_policies::mfa_grace_until.eq(policy.policy.grace_until),
            org_policies::mfa_version.eq(policy.version),
            org_policies::mfa_updated_at.eq(policy.updated_at),
        )))
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn save_sign_in_policy(&mut self, org: OrgId, policy: &Versioned<SignInPolicy>) -> Result<(), StoreError> {
        self.policy_row(org)?;
        let methods: Vec<Option<String>> = policy.policy.allowed.iter().map(|m| Some(m.as_str().to_owned())).collect();
        prepared(diesel::update(org_policies::table.find(org.as_uuid())).set((
            org_policies::sign_in_methods.eq(methods),
            org_policies::sign_in_version.eq(policy.version),
            org_policies::sign_in_updated_at.eq(policy.updated_at),
        )))
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn save_security_policy(&mut self, org: OrgId, policy: &Versioned<SecurityPolicy>) -> Result<(), StoreError> {
        self.policy_row(org)?;
        let cidrs: Vec<Option<IpNetwork>> = policy
            .policy
            .ip_allowlist
            .iter()
            .map(|net| IpNetwork::new(net.addr(), net.prefix_len()).map(Some).map_err(|e| corrupt("org_policies", e)))
            .collect::<Result<_, _>>()?;
        prepared(diesel::update(org_policies::table.find(org.as_uuid())).set((
            org_policies::ip_allowlist.eq(cidrs),
            org_policies::max_session_age_secs.eq(seconds(policy.policy.max_session_age)),
            org_policies::mfa_max_age_secs.eq(seconds(policy.policy.mfa_max_age)),
            org_policies::security_version.eq(policy.version),
            org_policies::security_updated_at.eq(policy.updated_at),
        )))
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn member_access_facts(
        &mut self,
        org: OrgId,
        role: Option<&RoleKey>,
        after: Option<MemberId>,
        limit: i64,
    ) -> Result<Vec<MemberAccessFacts>, StoreError> {
        let mut query = memberships::table
            .inner_join(users::table)
            .filter(memberships::org_id.eq(org.as_uuid()))
            .select((
                memberships::id,
                users::id,
                users::name,
                users::email,
                users::email_verified,
                memberships::role,
                users::mfa_enrolled,
                users::last_sign_in_method,
                users::last_ip,
            ))
            .order(memberships::id)
            .limit(limit)
            .into_boxed();
        if let Some(role) = role {
            query = query.filter(memberships::role.eq(role.as_str().to_owned()));
        }
        if let Some(after) = after {
            query = query.filter(memberships::id.gt(after.as_uuid()));
        }
        type Row = (Uuid, Uuid, Option<String>, Option<String>, bool, String, bool, Option<String>, Option<IpNetwork>);
        let rows: Vec<Row> = query.load(self.conn).map_err(store_error)?;
        rows.into_iter()
            .map(|(member, user, name, email, email_verified, role, mfa_enrolled, method, last_ip)| {
                Ok(MemberAccessFacts {
                    member_id: MemberId::from_uuid(member),
                    user_id: UserId::from_uuid(user),
                    name,
                    email,
                    email_verified,
                    role: RoleKey::parse(&role).map_err(|e| corrupt("memberships", e))?,
                    mfa_enrolled,
                    sign_in_method: method.as_deref().and_then(|m| SignInMethod::parse(m).ok()),
                    last_ip: last_ip.map(|net| net.ip()),
                })
            })
            .collect()
    }

    fn key_access_facts(&mut self, org: OrgId, now: DateTime<Utc>) -> Result<Vec<KeyAccessFacts>, StoreError> {
        let rows: Vec<(Uuid, String, Option<IpNetwork>)> = api_keys::table
            .filter(api_keys::org_id.eq(org.as_uuid()))
            .filter(api_keys::revoked_at.is_null())
            .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(now)))
            .select((api_keys::id, api_keys::name, api_keys::last_used_ip))
            .order(api_keys::id)
            .load(self.conn)
            .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, name, ip)| KeyAccessFacts {
                key_id: ApiKeyId::from_uuid(id),
                name,
                last_used_ip: ip.map(|n| n.ip()),
            })
            .collect())
    }
}
