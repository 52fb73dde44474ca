-- Webhooks: endpoints an organization's events are pushed to, signed with a secret kept
-- sealed (as OIDC client secrets are); the previous secret signs beside it until it retires.
CREATE TABLE webhooks (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id),
    url TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    event_types TEXT[] NOT NULL,
    description TEXT CHECK (length(description) <= 200),
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    secret_key_id TEXT NOT NULL,
    secret BYTEA NOT NULL,
    previous_secret_key_id TEXT,
    previous_secret BYTEA,
    previous_secret_until TIMESTAMPTZ,
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX webhooks_org ON webhooks (org_id);

-- One event's delivery to one webhook, queued in the transaction that wrote the event.
CREATE TABLE webhook_deliveries (
    id UUID PRIMARY KEY,
    webhook_id UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    org_id UUID NOT NULL,
    event_id UUID NOT NULL,
    event_type TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    -- The last 50 attempts: [{at, status, detail, duration_ms}, …]
    attempts JSONB NOT NULL DEFAULT '[]',
    next_attempt_at TIMESTAMPTZ,
    -- The current run of attempts: since when it fails, and how many it made (a re-send
    -- starts a new run).
    retry_started_at TIMESTAMPTZ,
    retries INT NOT NULL DEFAULT 0,
    -- A worker holds it until then while attempting it; its write names this lease.
    leased_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);

-- Each endpoint gets its events in order: the dispatcher looks at each enabled webhook's
-- first pending delivery only.
CREATE INDEX webhook_deliveries_line ON webhook_deliveries (webhook_id, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, id);
