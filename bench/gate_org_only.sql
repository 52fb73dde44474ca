-- Entering an organization before the gate: the organization alone.
\set n random(1, 10000)
SELECT * FROM organizations WHERE id = md5(:n::text)::uuid AND deleted_at IS NULL;
