DROP TABLE notifications;
DROP TABLE org_policies;
ALTER TABLE memberships DROP COLUMN mfa_reminded_at;
ALTER TABLE api_keys DROP COLUMN last_used_ip;
ALTER TABLE users DROP COLUMN last_ip, DROP COLUMN last_seen_at, DROP COLUMN mfa_methods;
ALTER TABLE organizations DROP COLUMN plan;
