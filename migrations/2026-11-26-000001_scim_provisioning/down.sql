DROP TABLE scim_group_roles;
DROP TABLE scim_users;
DROP INDEX memberships_org_active_owner;
ALTER TABLE memberships DROP COLUMN role_source;
ALTER TABLE memberships DROP COLUMN suspended_at;
DROP INDEX users_email;
DELETE FROM users WHERE subject IS NULL;
ALTER TABLE users ALTER COLUMN subject SET NOT NULL;
