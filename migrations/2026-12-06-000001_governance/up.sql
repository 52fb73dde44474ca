-- LLM admission policy: one versioned document per organization.
CREATE TABLE llm_policies (
    org_id UUID PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    providers TEXT[] NOT NULL DEFAULT '{}',
    -- [{"provider": "openai" | null, "model": "gpt-4o*", "max_tokens": 8000 | null}, …]
    models JSONB NOT NULL DEFAULT '[]',
    default_model TEXT,
    self_hosted_only BOOLEAN NOT NULL DEFAULT FALSE,
    regions TEXT[] NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Budget limits: amounts are integer micro-units of the currency, never floats.
CREATE TABLE spend_limits (
    org_id UUID PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    currency TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    budget_window TEXT NOT NULL CHECK (budget_window IN ('daily', 'weekly', 'monthly')),
    budget_micros BIGINT CHECK (budget_micros >= 0),
    warning_percent INT NOT NULL CHECK (warning_percent BETWEEN 1 AND 100),
    max_overage_micros BIGINT NOT NULL CHECK (max_overage_micros >= 0),
    version BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Metered usage. Not audit records: recording usage never takes the audit chain's lock.
CREATE TABLE usage_events (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    amount_micros BIGINT NOT NULL CHECK (amount_micros >= 0),
    model TEXT,
    feature TEXT,
    occurred_at TIMESTAMPTZ NOT NULL,
    -- The calendar day of occurred_at in the organization's time zone when recorded.
    local_day DATE NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    recorded_by_type TEXT NOT NULL,
    recorded_by_id TEXT NOT NULL
);
CREATE UNIQUE INDEX usage_events_idempotency ON usage_events (org_id, idempotency_key);
CREATE INDEX usage_events_org_day ON usage_events (org_id, local_day);

-- Spend per organization, local day and shard: concurrent recorders of one organization
-- add to different rows instead of queueing on one. A window's spend is the sum of its days.
CREATE TABLE spend_days (
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day DATE NOT NULL,
    shard SMALLINT NOT NULL,
    amount_micros BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, shard)
);

-- The posture levels already announced in a budget window: each once per window.
CREATE TABLE spend_alerts (
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    budget_window TEXT NOT NULL,
    window_start DATE NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('warning', 'over_budget', 'blocked')),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, budget_window, window_start, level)
);

-- Members by role, kept by triggers so the dashboard never counts a million rows. Counted
-- under a lock that keeps memberships and users still until the triggers stand, so that no
-- write falls between the count and the first trigger.
LOCK TABLE memberships, users IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE org_member_stats (
    org_id UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    members BIGINT NOT NULL DEFAULT 0,
    suspended BIGINT NOT NULL DEFAULT 0,
    mfa_enrolled BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, role)
);

INSERT INTO org_member_stats (org_id, role, members, suspended, mfa_enrolled)
SELECT m.org_id, m.role, count(*), count(*) FILTER (WHERE m.suspended_at IS NOT NULL),
       count(*) FILTER (WHERE u.mfa_enrolled)
FROM memberships m JOIN users u ON u.id = m.user_id
GROUP BY m.org_id, m.role;

-- Adds `sign` times one membership to its (org, role) row.
CREATE FUNCTION org_member_stats_add(p_org UUID, p_role TEXT, p_sign BIGINT, p_suspended BOOLEAN, p_mfa BOOLEAN)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO org_member_stats AS s (org_id, role, members, suspended, mfa_enrolled)
    VALUES (p_org, p_role, p_sign, CASE WHEN p_suspended THEN p_sign ELSE 0 END, CASE WHEN p_mfa THEN p_sign ELSE 0 END)
    ON CONFLICT (org_id, role) DO UPDATE SET
        members = s.members + EXCLUDED.members,
        suspended = s.suspended + EXCLUDED.suspended,
        mfa_enrolled = s.mfa_enrolled + EXCLUDED.mfa_enrolled;
$$;

-- Whether a user has a second factor, read under a share lock: a concurrent change of the
-- flag either commits first (and is read here) or waits for this transaction (and then
-- counts this membership itself).
CREATE FUNCTION user_mfa_enrolled(p_user UUID) RETURNS BOOLEAN LANGUAGE sql AS $$
    SELECT coalesce((SELECT u.mfa_enrolled FROM users u WHERE u.id = p_user FOR SHARE), FALSE);
$$;

CREATE FUNCTION memberships_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM org_member_stats_add(NEW.org_id, NEW.role, 1, NEW.suspended_at IS NOT NULL, user_mfa_enrolled(NEW.user_id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM org_member_stats_add(OLD.org_id, OLD.role, -1, OLD.suspended_at IS NOT NULL, user_mfa_enrolled(OLD.user_id));
    -- Rows are touched in (org, role) order so two opposite changes cannot deadlock.
    ELSIF (OLD.org_id, OLD.role) <= (NEW.org_id, NEW.role) THEN
        PERFORM org_member_stats_add(OLD.org_id, OLD.role, -1, OLD.suspended_at IS NOT NULL, user_mfa_enrolled(OLD.user_id));
        PERFORM org_member_stats_add(NEW.org_id, NEW.role, 1, NEW.suspended_at IS NOT NULL, user_mfa_enrolled(NEW.user_id));
    ELSE
        PERFORM org_member_stats_add(NEW.org_id, NEW.role, 1, NEW.suspended_at IS NOT NULL, user_mfa_enrolled(NEW.user_id));
        PERFORM org_member_stats_add(OLD.org_id, OLD.role, -1, OLD.suspended_at IS NOT NULL, user_mfa_enrolled(OLD.user_id));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER memberships_count_insert_delete AFTER INSERT OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_count();
CREATE TRIGGER memberships_count_update AFTER UPDATE OF role, suspended_at, org_id, user_id ON memberships
    FOR EACH ROW
    -- A provisioned membership linked to the person who signed in changes its user.
    WHEN (OLD.role IS DISTINCT FROM NEW.role OR (OLD.suspended_at IS NULL) IS DISTINCT FROM (NEW.suspended_at IS NULL)
          OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION memberships_count();

CREATE FUNCTION users_count_mfa() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The user's counter rows, locked in (org, role) order first: two people of the same
    -- organizations changing their second factor at once cannot deadlock.
    PERFORM 1 FROM org_member_stats s
    WHERE (s.org_id, s.role) IN (SELECT org_id, role FROM memberships WHERE user_id = NEW.id)
    ORDER BY s.org_id, s.role FOR UPDATE;
    UPDATE org_member_stats s SET mfa_enrolled = s.mfa_enrolled + CASE WHEN NEW.mfa_enrolled THEN m.n ELSE -m.n END
    FROM (
        SELECT org_id, role, count(*) AS n FROM memberships WHERE user_id = NEW.id GROUP BY org_id, role
    ) m
    WHERE s.org_id = m.org_id AND s.role = m.role;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_count_mfa AFTER UPDATE OF mfa_enrolled ON users
    FOR EACH ROW WHEN (OLD.mfa_enrolled IS DISTINCT FROM NEW.mfa_enrolled)
    EXECUTE FUNCTION users_count_mfa();
