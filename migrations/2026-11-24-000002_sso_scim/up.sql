-- SSO federation and SCIM provisioning settings: one row per organization that wrote them;
-- no row reads as disabled at version 0. `version` is each document's ETag.

CREATE TABLE sso_configs (
    org_id                   uuid PRIMARY KEY REFERENCES organizations (id),
    enabled                  boolean NOT NULL,
    -- Stored now, enforced once verified domains exist.
    enforced                 boolean NOT NULL,
    protocol                 text CHECK (protocol IN ('saml', 'oidc')),
    saml_idp_entity_id       text,
    saml_sso_url             text,
    saml_certificate_pem     text,
    oidc_issuer              text,
    oidc_client_id           text,
    -- The client secret, encrypted (nonce ‖ ciphertext ‖ tag) under the key named by
    -- `oidc_client_secret_key_id`; never stored in clear.
    oidc_client_secret       bytea,
    oidc_client_secret_key_id text,
    oidc_client_secret_last4 text CHECK (char_length(oidc_client_secret_last4) = 4),
    version                  bigint NOT NULL CHECK (version > 0),
    updated_at               timestamptz NOT NULL,
    CHECK (enabled OR NOT enforced),
    CHECK (protocol IS NOT NULL OR NOT enabled),
    -- A SAML connection has every SAML field; no connection (NULL) is not SAML.
    CONSTRAINT sso_configs_saml_complete CHECK ((protocol IS NOT DISTINCT FROM 'saml') =
           (saml_idp_entity_id IS NOT NULL AND saml_sso_url IS NOT NULL AND saml_certificate_pem IS NOT NULL)),
    CHECK (protocol = 'saml' OR (saml_idp_entity_id IS NULL AND saml_sso_url IS NULL AND saml_certificate_pem IS NULL)),
    CHECK (protocol = 'oidc' OR (oidc_issuer IS NULL AND oidc_client_id IS NULL AND oidc_client_secret IS NULL)),
    CHECK (protocol <> 'oidc' OR (oidc_issuer IS NOT NULL AND oidc_client_id IS NOT NULL)),
    CHECK ((oidc_client_secret IS NULL) = (oidc_client_secret_key_id IS NULL)),
    CHECK (oidc_client_secret IS NOT NULL OR oidc_client_secret_last4 IS NULL)
);
-- Finds what is still sealed under an earlier key after a rotation.
CREATE INDEX sso_configs_secret_key ON sso_configs (oidc_client_secret_key_id) WHERE oidc_client_secret IS NOT NULL;

CREATE TABLE scim_configs (
    org_id           uuid PRIMARY KEY REFERENCES organizations (id),
    enabled          boolean NOT NULL,
    -- HMAC of the bearer token, the lookup of a SCIM request; the token is never stored.
    token_hash       bytea UNIQUE,
    token_hint       text,
    token_created_at timestamptz,
    version          bigint NOT NULL CHECK (version > 0),
    updated_at       timestamptz NOT NULL,
    CHECK ((token_hash IS NULL) = (token_hint IS NULL) AND (token_hash IS NULL) = (token_created_at IS NULL)),
    -- Disabling drops the token: a disabled organization's token can never come back.
    CHECK (enabled OR token_hash IS NULL)
);
