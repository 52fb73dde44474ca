-- Seeds the database side of the policy-gate benchmark (`make bench-gate`): 10,000
-- organizations, each with a policy row (a three-network allowlist, 2FA enforced), every
-- tenth with SSO enforced and two verified domains.
INSERT INTO organizations (id, name, slug, created_at, updated_at)
SELECT md5(n::text)::uuid, 'Org ' || n, 'org-' || n, now(), now() FROM generate_series(1, 10000) AS n;
INSERT INTO org_policies (org_id, mfa_enforced, ip_allowlist, max_session_age_secs, security_version, mfa_version)
SELECT md5(n::text)::uuid, true, ARRAY['203.0.113.0/24', '2001:db8::/32', '10.0.0.0/8']::cidr[], 86400, 1, 1
FROM generate_series(1, 10000) AS n;
INSERT INTO sso_configs (org_id, enabled, enforced, protocol, oidc_issuer, oidc_client_id, version, updated_at)
SELECT md5(n::text)::uuid, true, true, 'oidc', 'https://idp.example.com', 'orgd', 1, now()
FROM generate_series(10, 10000, 10) AS n;
INSERT INTO org_domains (id, org_id, domain, challenge, verified_at, created_at, updated_at)
SELECT md5('d' || n || k)::uuid, md5(n::text)::uuid, 'org-' || n || '-' || k || '.example.com', md5(n::text), now(), now(), now()
FROM generate_series(10, 10000, 10) AS n, generate_series(1, 2) AS k;
INSERT INTO verified_domains (domain, org_id, domain_id)
SELECT domain, org_id, id FROM org_domains WHERE verified_at IS NOT NULL;
ANALYZE;
