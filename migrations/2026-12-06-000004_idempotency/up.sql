-- Responses kept for retries sent with an Idempotency-Key, for a day. Written in the
-- transaction of the request's effect, so the effect and its response commit together.
CREATE TABLE idempotency_records (
    -- Whose key: `user:<subject>`, `api_key:<lookup hash>`, `scim_token:<lookup hash>`.
    scope text NOT NULL CHECK (length(scope) BETWEEN 1 AND 600),
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of method, target and body.
    fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
    status smallint NOT NULL CHECK (status BETWEEN 200 AND 299),
    -- [[name, value], …]
    headers jsonb NOT NULL,
    -- Sealed: it may hold a secret shown once (a new API key, an invite link).
    body_key_id text NOT NULL,
    body bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

-- The sweeper deletes the oldest first.
CREATE INDEX idempotency_records_created_at ON idempotency_records (created_at);
