-- The event feed: one row per audited change a consumer cares about, written with its audit
-- record in the same transaction. Within an organization `seq` grows in commit order, since
-- every audited change of an organization holds its audit chain head while it writes.
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The audit record's id.
    id UUID NOT NULL UNIQUE,
    org_id UUID NOT NULL REFERENCES organizations (id),
    type TEXT NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
    data JSONB NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX events_org_seq ON events (org_id, seq);
-- Retention: the sweeper deletes the oldest first.
CREATE INDEX events_occurred_at ON events (occurred_at);
