-- GET /v1/orgs/{org}/members/{member}: the member joined to its user.
\set n random(1, :big_members)
SELECT m.id, m.org_id, m.user_id, m.role, m.created_at, m.updated_at, m.mfa_reminded_at, m.suspended_at, m.role_source, m.version, u.name, u.email, u.email_verified
FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = :big_org::uuid
  AND m.id = ('01900000-0002-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid;
