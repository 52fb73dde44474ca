-- GET /v1/orgs/{org}/members?q=member-N@big: one person's email in the big organization.
\set n random(1, :big_members)
SELECT m.id, m.org_id, m.user_id, m.role, m.created_at, m.updated_at, m.mfa_reminded_at, m.suspended_at, m.role_source, m.version, u.name, u.email, u.email_verified
FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = :big_org::uuid AND u.search_text LIKE '%member-' || :n || '@big%'
ORDER BY m.id LIMIT 26;
