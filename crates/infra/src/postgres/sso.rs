use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::ids::OrgId;
use orgd_domain::policy::Versioned;
use orgd_domain::sso::{
    ClientSecret, Connection, OidcConnection, SamlConnection, Sealed, SigningCertificate, SsoConfig, SsoRepository,
};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::sso_configs;
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sso_configs, primary_key(org_id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct SsoRow {
    org_id: Uuid,
    enabled: bool,
    enforced: bool,
    protocol: Option<String>,
    saml_idp_entity_id: Option<String>,
    saml_sso_url: Option<String>,
    saml_certificate_pem: Option<String>,
    oidc_issuer: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<Vec<u8>>,
    oidc_client_secret_key_id: Option<String>,
    oidc_client_secret_last4: Option<String>,
    version: i64,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SsoRow> for Versioned<SsoConfig> {
    type Error = StoreError;

    fn try_from(row: SsoRow) -> Result<Self, StoreError> {
        let missing = |column: &str| corrupt("sso_configs", format!("{column} is missing"));
        let connection = match row.protocol.as_deref() {
            None => None,
            Some("saml") => {
                let pem = row.saml_certificate_pem.ok_or_else(|| missing("saml_certificate_pem"))?;
                Some(Connection::Saml(SamlConnection {
                    idp_entity_id: row.saml_idp_entity_id.ok_or_else(|| missing("saml_idp_entity_id"))?,
                    sso_url: row.saml_sso_url.ok_or_else(|| missing("saml_sso_url"))?,
                    certificate: SigningCertificate::parse(&pem).map_err(|e| corrupt("sso_configs", e))?,
                }))
            }
            Some("oidc") => {
                let client_secret = match (row.oidc_client_secret, row.oidc_client_secret_key_id) {
                    (Some(ciphertext), Some(key_id)) => Some(ClientSecret {
                        sealed: Sealed { key_id, ciphertext },
                        last_four: row.oidc_client_secret_last4,
                    }),
                    _ => None,
                };
                Some(Connection::Oidc(OidcConnection {
                    issuer: row.oidc_issuer.ok_or_else(|| missing("oidc_issuer"))?,
                    client_id: row.oidc_client_id.ok_or_else(|| missing("oidc_client_id"))?,
                    client_secret,
                }))
            }
            Some(other) => return Err(corrupt("sso_configs", format!("unknown protocol `{other}`"))),
        };
        Ok(Versioned {
            policy: SsoConfig { enabled: row.enabled, enforced: row.enforced, connection },
            version: row.version,
            updated_at: Some(row.updated_at),
        })
    }
}

impl SsoRow {
    fn new(org: OrgId, config: &Versioned<SsoConfig>) -> Result<Self, StoreError> {
        let updated_at = config.updated_at.ok_or_else(|| corrupt("sso_configs", "a saved configuration has a time"))?;
        let mut row = SsoRow {
            org_id: org.as_uuid(),
            enabled: config.policy.enabled,
            enforced: config.policy.enforced,
            protocol: config.policy.connection.as_ref().map(|c| c.protocol().to_owned()),
            saml_idp_entity_id: None,
            saml_sso_url: None,
            saml_certificate_pem: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_client_secret_key_id: None,
            oidc_client_secret_last4: None,
            version: config.version,
            updated_at,
        };
        match &config.policy.connection {
            None => {}
            Some(Connection::Saml(saml)) => {
                row.saml_idp_entity_id = Some(saml.idp_entity_id.clone());
                row.saml_sso_url = Some(saml.sso_url.clone());
                row.saml_certificate_pem = Some(saml.certificate.pem.clone());
            }
            Some(Connection::Oidc(oidc)) => {
                row.oidc_issuer = Some(oidc.issuer.clone());
                row.oidc_client_id = Some(oidc.client_id.clone());
                if let Some(secret) = &oidc.client_secret {
                    row.oidc_client_secret = Some(secret.sealed.ciphertext.clone());
                    row.oidc_client_secret_key_id = Some(secret.sealed.key_id.clone());
                    row.oidc_client_secret_last4 = secret.last_four.clone();
                }
            }
        }
        Ok(row)
    }
}

impl SsoRepository for PgTx<'_> {
    fn find_sso_config(&mut self, org: OrgId) -> Result<Option<Versioned<SsoConfig>>, StoreError> {
        let row = sso_configs::table
            .find(org.as_uuid())
            .select(SsoRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(Versioned::try_from).transpose()
    }

    fn save_sso_config(&mut self, org: OrgId, config: &Versioned<SsoConfig>) -> Result<(), StoreError> {
        let row = SsoRow::new(org, config)?;
        prepared(
            diesel::insert_into(sso_configs::table).values(&row).on_conflict(sso_configs::org_id).do_update().set(&row),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn sso_secrets_not_under(&mut self, key_id: &str, limit: i64) -> Result<Vec<(OrgId, Sealed)>, StoreError> {
        let rows: Vec<(Uuid, Option<Vec<u8>>, Option<String>)> = sso_configs::table
            .filter(sso_configs::oidc_client_secret_key_id.ne(key_id))
            .select((sso_configs::org_id, sso_configs::oidc_client_secret, sso_configs::oidc_client_secret_key_id))
            .order(sso_configs::org_id)
            .limit(limit)
            // Waits for a row an SSO write holds rather than skipping it: a skipped row would
            // stay under the key about to be retired.
            .for_update()
            .load(self.conn)
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(org, ciphertext, key_id)| match (ciphertext, key_id) {
                (Some(ciphertext), Some(key_id)) => Ok((OrgId::from_uuid(org), Sealed { key_id, ciphertext })),
                _ => Err(corrupt("sso_configs", "a client secret without its key id")),
            })
            .collect()
    }

    fn replace_sso_secret(&mut self, org: OrgId, sealed: &Sealed) -> Result<(), StoreError> {
        prepared(diesel::update(sso_configs::table.find(org.as_uuid())).set((
            sso_configs::oidc_client_secret.eq(&sealed.ciphertext),
            sso_configs::oidc_client_secret_key_id.eq(&sealed.key_id),
        )))
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }
}
