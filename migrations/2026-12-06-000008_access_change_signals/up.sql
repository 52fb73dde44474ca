-- Every instance keeps what entering an organization reads (the person, the organization
-- and its policies, memberships, role permissions, API keys) in memory. These triggers say
-- which organization or person changed: to every other instance through
-- NOTIFY orgd_access, and to the committing session through the transaction-local setting
-- orgd.access_changed, which it reads before COMMIT so that its own next request already
-- sees the change. A payload is space-separated ids, or `*` for "forget everything" when
-- one statement touched too many to list.

CREATE FUNCTION orgd_signal_access_change(changed text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    so_far text := coalesce(current_setting('orgd.access_changed', true), '');
BEGIN
    IF changed IS NULL OR changed = '' THEN
        RETURN;
    END IF;
    PERFORM pg_notify('orgd_access', changed);
    IF so_far = '*' OR changed = '*' OR length(so_far) + length(changed) > 4000 THEN
        PERFORM set_config('orgd.access_changed', '*', true);
    ELSE
        PERFORM set_config('orgd.access_changed', so_far || ' ' || changed, true);
    END IF;
END
$$;

-- Statement level, over the rows the statement changed (`changed_rows`): a bulk change
-- signals each organization once.
CREATE FUNCTION orgd_access_changed_by_org() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM orgd_signal_access_change((
        SELECT CASE WHEN count(DISTINCT org_id) > 100 THEN '*' ELSE string_agg(DISTINCT org_id::text, ' ') END
        FROM changed_rows));
    RETURN NULL;
END
$$;

CREATE FUNCTION orgd_access_changed_by_id() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM orgd_signal_access_change((
        SELECT CASE WHEN count(DISTINCT id) > 100 THEN '*' ELSE string_agg(DISTINCT id::text, ' ') END
        FROM changed_rows));
    RETURN NULL;
END
$$;

-- Row level, for API keys: recording a key's use (last_used_at, last_used_ip) changes
-- nothing a cache holds, and happens on busy keys once a minute.
CREATE FUNCTION orgd_api_key_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM orgd_signal_access_change(OLD.org_id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER organizations_access_updated AFTER UPDATE ON organizations
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_id();
CREATE TRIGGER organizations_access_deleted AFTER DELETE ON organizations
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_id();

CREATE TRIGGER users_access_updated AFTER UPDATE ON users
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_id();
CREATE TRIGGER users_access_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_id();

-- A new membership needs no signal: only memberships are kept, never their absence.
CREATE TRIGGER memberships_access_updated AFTER UPDATE ON memberships
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER memberships_access_deleted AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();

-- A new custom role may shadow a system role of the same key: inserts count too.
CREATE TRIGGER roles_access_inserted AFTER INSERT ON roles
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER roles_access_updated AFTER UPDATE ON roles
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER roles_access_deleted AFTER DELETE ON roles
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();

-- The gate's policies: the documents, and the SSO-enforced verified domains.
CREATE TRIGGER org_policies_access_inserted AFTER INSERT ON org_policies
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER org_policies_access_updated AFTER UPDATE ON org_policies
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER org_policies_access_deleted AFTER DELETE ON org_policies
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER sso_configs_access_inserted AFTER INSERT ON sso_configs
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER sso_configs_access_updated AFTER UPDATE ON sso_configs
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER sso_configs_access_deleted AFTER DELETE ON sso_configs
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER org_domains_access_inserted AFTER INSERT ON org_domains
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER org_domains_access_updated AFTER UPDATE ON org_domains
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();
CREATE TRIGGER org_domains_access_deleted AFTER DELETE ON org_domains
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION orgd_access_changed_by_org();

CREATE TRIGGER api_keys_access_updated AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
       OR OLD.permissions IS DISTINCT FROM NEW.permissions
       OR OLD.lookup_hash IS DISTINCT FROM NEW.lookup_hash
       OR OLD.created_by_type IS DISTINCT FROM NEW.created_by_type
       OR OLD.created_by_id IS DISTINCT FROM NEW.created_by_id
       OR OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION orgd_api_key_changed();
CREATE TRIGGER api_keys_access_deleted AFTER DELETE ON api_keys FOR EACH ROW
    EXECUTE FUNCTION orgd_api_key_changed();
