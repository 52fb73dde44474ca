-- Entering an organization with the gate: the organization and its policies, one statement.
\set n random(1, 10000)
SELECT o.*, p.* FROM organizations o LEFT JOIN org_policies p ON p.org_id = o.id
WHERE o.id = md5(:n::text)::uuid AND o.deleted_at IS NULL;
