-- Versions of the resources clients patch (roles, teams, memberships), their ETags. Every
-- update bumps it, whichever path makes it (the API, SCIM, a group mapping, a link), so an
-- `If-Match` based on an older read is refused.
ALTER TABLE roles ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE teams ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE memberships ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

CREATE FUNCTION bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER roles_bump_version BEFORE UPDATE ON roles FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER teams_bump_version BEFORE UPDATE ON teams FOR EACH ROW EXECUTE FUNCTION bump_version();
-- Reminders and suspensions are changes of the membership too; a reminder alone is not
-- something a client patches, so it leaves the version alone.
CREATE TRIGGER memberships_bump_version BEFORE UPDATE ON memberships FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.suspended_at IS DISTINCT FROM NEW.suspended_at
          OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.role_source IS DISTINCT FROM NEW.role_source)
    EXECUTE FUNCTION bump_version();
