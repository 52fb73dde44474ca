-- GET /v1/orgs/{org}/members?cursor=…: the last page, after the member run.sh passes.
SELECT m.id, m.org_id, m.user_id, m.role, m.created_at, m.updated_at, m.mfa_reminded_at, m.suspended_at, m.role_source, m.version, u.name, u.email, u.email_verified
FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = :big_org::uuid AND m.id > :last_after::uuid
ORDER BY m.id LIMIT 26;
