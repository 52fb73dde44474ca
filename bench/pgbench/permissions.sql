-- GET /v1/orgs/{org}/permissions: the caller's membership with its custom role, if any.
\set k random(1, :write_orgs)
SELECT m.role, m.suspended_at, r.permissions
FROM memberships m LEFT JOIN roles r ON r.org_id = m.org_id AND r.key = m.role
WHERE m.org_id = ('01900000-0003-7000-8000-' || lpad(to_hex(1 + :k::bigint), 12, '0'))::uuid
  AND m.user_id = '01900000-0001-7000-8000-000000000000';
