-- Email domains organizations claim and prove by DNS, and people's requests to join by
-- the domain of their verified email.

CREATE TABLE org_domains (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES organizations (id),
    -- ASCII (punycode), lower case, no trailing dot.
    domain           text NOT NULL CHECK (domain = lower(domain) AND char_length(domain) BETWEEN 3 AND 253),
    -- Published as `orgd-domain-verification=<challenge>` at `_orgd-challenge.<domain>`.
    challenge        text NOT NULL,
    verified_at      timestamptz,
    -- When an unverified claim lapses; a verified one does not.
    expires_at       timestamptz,
    last_checked_at  timestamptz,
    -- When the daily check first found the record gone; unverified only if still gone later.
    missing_since    timestamptz,
    join_policy      text NOT NULL DEFAULT 'off' CHECK (join_policy IN ('off', 'suggest', 'auto')),
    -- Under `auto`: the role people join with, and who chose it (whose rights bound it).
    join_role        text CHECK (join_role <> 'owner'),
    join_role_set_by uuid REFERENCES users (id),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT org_domains_org_domain_key UNIQUE (org_id, domain),
    CHECK ((verified_at IS NULL) = (expires_at IS NOT NULL)),
    CHECK (missing_since IS NULL OR verified_at IS NOT NULL),
    CHECK ((join_policy = 'auto') = (join_role IS NOT NULL)),
    CHECK ((join_role IS NULL) = (join_role_set_by IS NULL))
);
-- Many organizations may claim a domain; only one may hold it verified.
CREATE UNIQUE INDEX org_domains_verified_once ON org_domains (domain) WHERE verified_at IS NOT NULL;
-- The daily re-verification walks verified domains, least recently checked first.
CREATE INDEX org_domains_recheck ON org_domains (last_checked_at, id) WHERE verified_at IS NOT NULL;

CREATE TABLE join_requests (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations (id),
    user_id     uuid NOT NULL REFERENCES users (id),
    -- The verified address, and its domain, the request was made with.
    email       text NOT NULL,
    domain      text NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    -- Who decided: a user id, or NULL when the domain's `auto` policy admitted at once.
    decided_by  uuid REFERENCES users (id),
    decided_at  timestamptz,
    role        text,
    member_id   uuid,
    created_at  timestamptz NOT NULL,
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK ((status = 'approved') = (member_id IS NOT NULL AND role IS NOT NULL))
);
-- At most one open request per person and organization.
CREATE UNIQUE INDEX join_requests_one_pending ON join_requests (org_id, user_id) WHERE status = 'pending';
CREATE INDEX join_requests_org_page ON join_requests (org_id, status, id);
