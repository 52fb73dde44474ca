-- Security policies and what the gate and the 2FA dashboard need to know about people.

-- The plan whose features gate writing some settings; set at creation from the deployment's
-- default, changed by platform staff.
ALTER TABLE organizations
    ADD COLUMN plan text NOT NULL DEFAULT 'enterprise' CHECK (plan IN ('free', 'team', 'enterprise'));

ALTER TABLE users
    -- Second-factor methods (RFC 8176 `amr` names) seen in this person's tokens.
    ADD COLUMN mfa_methods  text[] NOT NULL DEFAULT '{}',
    ADD COLUMN last_seen_at timestamptz,
    -- Where the person last came from, for the lock-out preview of an IP allowlist.
    ADD COLUMN last_ip      inet;

ALTER TABLE api_keys ADD COLUMN last_used_ip inet;

-- When each member was last reminded to enrol a second factor (at most once a day).
ALTER TABLE memberships ADD COLUMN mfa_reminded_at timestamptz;

-- One row per organization that ever wrote a policy; each policy has its own version, its
-- ETag. No row reads as every policy off at version 0.
CREATE TABLE org_policies (
    org_id               uuid PRIMARY KEY REFERENCES organizations (id),
    mfa_enforced         boolean NOT NULL DEFAULT false,
    mfa_grace_until      timestamptz,
    mfa_version          bigint NOT NULL DEFAULT 0 CHECK (mfa_version >= 0),
    mfa_updated_at       timestamptz,
    sign_in_methods      text[] NOT NULL DEFAULT '{}',
    sign_in_version      bigint NOT NULL DEFAULT 0 CHECK (sign_in_version >= 0),
    sign_in_updated_at   timestamptz,
    ip_allowlist         cidr[] NOT NULL DEFAULT '{}',
    max_session_age_secs integer CHECK (max_session_age_secs > 0),
    mfa_max_age_secs     integer CHECK (mfa_max_age_secs > 0),
    security_version     bigint NOT NULL DEFAULT 0 CHECK (security_version >= 0),
    security_updated_at  timestamptz,
    CHECK (mfa_grace_until IS NULL OR mfa_enforced)
);

-- In-app notices for a person, newest first; unread ones are listed before read ones.
CREATE TABLE notifications (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    org_id      uuid REFERENCES organizations (id),
    kind        text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    read_at     timestamptz
);
CREATE INDEX notifications_user_page ON notifications (user_id, (read_at IS NOT NULL), id DESC);
