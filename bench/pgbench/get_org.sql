-- GET /v1/orgs/{org}: the organization's row.
\set k random(1, :write_orgs)
SELECT id, name, slug, domain, logo_url, timezone, address, version, created_at, updated_at, deleted_at, plan,
       feature_overrides
FROM organizations
WHERE id = ('01900000-0003-7000-8000-' || lpad(to_hex(1 + :k::bigint), 12, '0'))::uuid AND deleted_at IS NULL;
