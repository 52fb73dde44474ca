-- Custom roles and organization API keys.

CREATE TABLE roles (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organizations (id),
    key          text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_-]{0,39}$' AND key <> 'owner'),
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 60),
    description  text,
    permissions  text[] NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT roles_org_key_key UNIQUE (org_id, key)
);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organizations (id),
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    permissions   text[] NOT NULL,
    -- HMAC-SHA256 of the secret under the server's key; the secret itself is never stored.
    lookup_hash   bytea NOT NULL CHECK (octet_length(lookup_hash) = 32),
    hint          text NOT NULL,
    created_by_type text NOT NULL,
    created_by_id   text NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    CONSTRAINT api_keys_lookup_hash_key UNIQUE (lookup_hash)
);
-- Keys of one organization, newest first.
CREATE INDEX api_keys_org_page ON api_keys (org_id, id DESC);
