-- Member listing at scale: one organization with 1,000,000 members (1% admins), then the
-- queries the API runs for a first page, a deep page, a role filter and a search.
-- Run: make bench-members (creates and drops its own database).
\timing on
\set ON_ERROR_STOP 1
-- Per-row triggers (member counters, change signals) would cost more than the rows: the
-- plans below do not read what they maintain.
SET session_replication_role = replica;
INSERT INTO organizations (id, name, slug, created_at, updated_at)
VALUES ('01900000-0000-7000-8000-000000000001', 'Big Co', 'big-co', now(), now());
INSERT INTO users (id, subject, email, email_verified, name, created_at, updated_at)
SELECT ('01900000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, 'sub-' || n, 'user-' || n || '@big.example', true,
       'User Number ' || n, now(), now()
FROM generate_series(1, 1000000) AS n;
INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at)
SELECT ('01910000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, '01900000-0000-7000-8000-000000000001',
       ('01900000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, CASE WHEN n % 100 = 0 THEN 'admin' ELSE 'member' END, now(), now()
FROM generate_series(1, 1000000) AS n;
SET session_replication_role = origin;
ANALYZE;

\echo === first page
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF)
SELECT m.id, m.role, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = '01900000-0000-7000-8000-000000000001' ORDER BY m.id LIMIT 26;

\echo === deep page (after member 900,000)
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF)
SELECT m.id, m.role, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = '01900000-0000-7000-8000-000000000001' AND m.id > '01910000-0000-7000-8000-0000000dbba0'
ORDER BY m.id LIMIT 26;

\echo === role filter (1% admins), deep page
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF)
SELECT m.id, m.role, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = '01900000-0000-7000-8000-000000000001' AND m.role = 'admin' AND m.id > '01910000-0000-7000-8000-0000000dbba0'
ORDER BY m.id LIMIT 26;

\echo === search, selective
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF)
SELECT m.id, m.role, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = '01900000-0000-7000-8000-000000000001' AND u.search_text LIKE '%user-987654@%'
ORDER BY m.id LIMIT 26;

\echo === search, broad
EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF)
SELECT m.id, m.role, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = '01900000-0000-7000-8000-000000000001' AND u.search_text LIKE '%number 12%'
ORDER BY m.id LIMIT 26;
