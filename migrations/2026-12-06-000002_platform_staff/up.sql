-- Platform staff: per-organization entitlement overrides, admin search, and the platform
-- audit log.

-- Features granted (true) or withheld (false) whatever the plan says: {"sso": true, …}.
ALTER TABLE organizations
    ADD COLUMN feature_overrides jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(feature_overrides) = 'object');

-- Staff search every organization, deleted ones included, by name, slug or domain.
CREATE INDEX organizations_admin_search_trgm ON organizations
    USING gin ((lower(name || ' ' || slug || ' ' || coalesce(domain, ''))) gin_trgm_ops);

-- What platform staff did: plan changes, restores, changes to organizations and every
-- look into one. Append-only like audit_events; `seq` orders it, newest first.
CREATE TABLE platform_audit_events (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    actor_type   text NOT NULL,
    actor_id     text NOT NULL,
    action       text NOT NULL,
    -- The organization acted on, if any (its own log holds the same record).
    org_id       uuid REFERENCES organizations (id),
    target_type  text NOT NULL,
    target_id    text NOT NULL,
    changes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    request_id   text,
    client_ip    inet,
    user_agent   text,
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX platform_audit_events_org ON platform_audit_events (org_id, seq);

CREATE FUNCTION platform_audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'platform_audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER platform_audit_events_append_only
    BEFORE UPDATE OR DELETE ON platform_audit_events
    FOR EACH ROW EXECUTE FUNCTION platform_audit_events_refuse_change();
CREATE TRIGGER platform_audit_events_no_truncate
    BEFORE TRUNCATE ON platform_audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION platform_audit_events_refuse_change();
