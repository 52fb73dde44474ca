-- Entering an organization with the gate: the organization, its policies and the verified
-- domains its SSO enforcement covers, one statement (as the adapter issues it).
\set n random(1, 10000)
SELECT o.*, p.*,
       ARRAY(SELECT d.domain FROM org_domains d JOIN sso_configs s ON s.org_id = d.org_id AND s.enforced
             WHERE d.org_id = o.id AND d.verified_at IS NOT NULL) AS sso_domains
FROM organizations o LEFT JOIN org_policies p ON p.org_id = o.id
WHERE o.id = md5(:n::text)::uuid AND o.deleted_at IS NULL;
