-- Invitations, who used them, and the outbox of emails to deliver.

CREATE TABLE invites (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES organizations (id),
    role             text NOT NULL CHECK (role ~ '^[a-z][a-z0-9_-]{0,39}$' AND role <> 'owner'),
    team_id          uuid REFERENCES teams (id) ON DELETE SET NULL,
    email            text,
    max_uses         integer NOT NULL CHECK (max_uses BETWEEN 1 AND 1000),
    -- The database itself refuses a use beyond the maximum.
    uses             integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
    expires_at       timestamptz NOT NULL,
    created_by_type  text NOT NULL,
    created_by_id    text NOT NULL,
    inviter_name     text,
    -- HMAC-SHA256 of the invite's secret; the secret itself is never stored.
    lookup_hash      bytea NOT NULL CHECK (octet_length(lookup_hash) = 32),
    created_at       timestamptz NOT NULL,
    revoked_at       timestamptz,
    last_sent_at     timestamptz,
    CONSTRAINT invites_lookup_hash_key UNIQUE (lookup_hash),
    CONSTRAINT invites_email_single_use CHECK (email IS NULL OR max_uses = 1)
);
CREATE INDEX invites_org_page ON invites (org_id, id DESC);

CREATE TABLE invite_redemptions (
    invite_id    uuid NOT NULL REFERENCES invites (id),
    user_id      uuid NOT NULL REFERENCES users (id),
    -- The membership the invite created; kept after the member leaves, as history.
    member_id    uuid NOT NULL,
    redeemed_at  timestamptz NOT NULL,
    PRIMARY KEY (invite_id, member_id)
);

CREATE TABLE outbox_emails (
    id               uuid PRIMARY KEY,
    org_id           uuid REFERENCES organizations (id),
    recipient        text NOT NULL,
    subject          text NOT NULL,
    text_body        text NOT NULL,
    html_body        text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz
);
-- What the delivery workers poll: only pending mail, soonest first.
CREATE INDEX outbox_emails_due ON outbox_emails (next_attempt_at) WHERE status = 'pending';
