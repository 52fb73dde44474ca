DROP TRIGGER memberships_bump_version ON memberships;
DROP TRIGGER teams_bump_version ON teams;
DROP TRIGGER roles_bump_version ON roles;
DROP FUNCTION bump_version();
ALTER TABLE memberships DROP COLUMN version;
ALTER TABLE teams DROP COLUMN version;
ALTER TABLE roles DROP COLUMN version;
