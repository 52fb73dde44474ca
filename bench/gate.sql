-- Seeds the database side of the policy-gate benchmark (`make bench-gate`): 10,000
-- organizations, each with a policy row (a three-network allowlist, 2FA enforced).
INSERT INTO organizations (id, name, slug, created_at, updated_at)
SELECT md5(n::text)::uuid, 'Org ' || n, 'org-' || n, now(), now() FROM generate_series(1, 10000) AS n;
INSERT INTO org_policies (org_id, mfa_enforced, ip_allowlist, max_session_age_secs, security_version, mfa_version)
SELECT md5(n::text)::uuid, true, ARRAY['203.0.113.0/24', '2001:db8::/32', '10.0.0.0/8']::cidr[], 86400, 1, 1
FROM generate_series(1, 10000) AS n;
ANALYZE;
