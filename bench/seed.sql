-- Seeds a migrated database for `make bench` with set-based SQL (no HTTP, no row-by-row
-- triggers). Variables (psql -v): big_members (members of the big organization),
-- small_orgs (organizations of 10 members), write_orgs (the first small organizations the
-- bench owner also owns), teams (in the big organization), audit_records (the big
-- organization's audit chain).
--
-- Ids are UUIDv7-shaped and ordered by their number, so seeded rows sort like generated
-- ones: 01900000-KKKK-7000-8000-NNNNNNNNNNNN, KKKK the kind, N the number in hex.
--   0001 users (0 the bench owner, 1..big_members the big organization's people,
--        then 10 per small organization)
--   0002 memberships (numbered like their user in the big and small organizations)
--   0003 organizations (1 the big one, 1 + k the small organization k)
--   0004 teams, 0005 audit events, 0006 the bench owner's memberships of small organizations
\set ON_ERROR_STOP 1
\timing off
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.bench_id(kind int, n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT ('01900000-' || lpad(to_hex(kind), 4, '0') || '-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid
$$;

-- Secondary indexes are built once after the load rather than maintained row by row; their
-- definitions are read back from the catalog, so the schema stays exactly the migrated one.
CREATE TEMP TABLE bench_deferred_indexes AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname IN ('users', 'memberships', 'audit_events', 'teams', 'team_members', 'organizations')
  AND t.relnamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT name FROM bench_deferred_indexes LOOP
        EXECUTE format('DROP INDEX %s', r.name);
    END LOOP;
END $$;

-- Triggers (member counters) and foreign-key checks are off for the load; the counters
-- are filled in one pass below, as the migration that introduced them does.
SET session_replication_role = replica;

BEGIN;
INSERT INTO users (id, subject, email, email_verified, name, created_at, updated_at)
VALUES (pg_temp.bench_id(1, 0), 'bench-owner', 'owner@bench.example', true, 'Bench Owner', now(), now());

INSERT INTO organizations (id, name, slug, created_at, updated_at)
SELECT pg_temp.bench_id(3, n), CASE n WHEN 1 THEN 'Bench Big' ELSE 'Bench Small ' || (n - 1) END,
       CASE n WHEN 1 THEN 'bench-big' ELSE 'bench-small-' || (n - 1) END, now(), now()
FROM generate_series(1, :small_orgs + 1) AS n;

-- The big organization: the owner, then big_members people (1% admins).
INSERT INTO users (id, subject, email, email_verified, name, created_at, updated_at)
SELECT pg_temp.bench_id(1, n), 'bench-' || n, 'member-' || n || '@big.example', true, 'Member ' || n, now(), now()
FROM generate_series(1, :big_members) AS n;
INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at)
VALUES (pg_temp.bench_id(2, 0), pg_temp.bench_id(3, 1), pg_temp.bench_id(1, 0), 'owner', now(), now());
INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at)
SELECT pg_temp.bench_id(2, n), pg_temp.bench_id(3, 1), pg_temp.bench_id(1, n),
       CASE WHEN n % 100 = 0 THEN 'admin' ELSE 'member' END, now(), now()
FROM generate_series(1, :big_members) AS n;

-- Small organizations: 10 people each (an owner, an admin, 8 members); the bench owner
-- also owns the first write_orgs of them.
INSERT INTO users (id, subject, email, email_verified, name, created_at, updated_at)
SELECT pg_temp.bench_id(1, :big_members + n), 'bench-' || (:big_members + n),
       'person-' || n || '@small.example', true, 'Person ' || n, now(), now()
FROM generate_series(1, :small_orgs * 10) AS n;
INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at)
SELECT pg_temp.bench_id(2, :big_members + n), pg_temp.bench_id(3, 2 + (n - 1) / 10), pg_temp.bench_id(1, :big_members + n),
       CASE (n - 1) % 10 WHEN 0 THEN 'owner' WHEN 1 THEN 'admin' ELSE 'member' END, now(), now()
FROM generate_series(1, :small_orgs * 10) AS n;
INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at)
SELECT pg_temp.bench_id(6, k), pg_temp.bench_id(3, 1 + k), pg_temp.bench_id(1, 0), 'owner', now(), now()
FROM generate_series(1, :write_orgs) AS k;

-- Teams in the big organization, 10 members each.
INSERT INTO teams (id, org_id, name, created_at, updated_at)
SELECT pg_temp.bench_id(4, n), pg_temp.bench_id(3, 1), 'Team ' || n, now(), now()
FROM generate_series(1, :teams) AS n;
INSERT INTO team_members (org_id, team_id, member_id, is_manager, created_at)
SELECT pg_temp.bench_id(3, 1), pg_temp.bench_id(4, 1 + (n - 1) / 10), pg_temp.bench_id(2, n), (n - 1) % 10 = 0, now()
FROM generate_series(1, least(:teams * 10, :big_members)) AS n;

INSERT INTO org_member_stats (org_id, role, members, suspended, mfa_enrolled)
SELECT m.org_id, m.role, count(*), count(*) FILTER (WHERE m.suspended_at IS NOT NULL),
       count(*) FILTER (WHERE u.mfa_enrolled)
FROM memberships m JOIN users u ON u.id = m.user_id
GROUP BY m.org_id, m.role;
COMMIT;

-- The big organization's audit chain. Each record's hash is
-- SHA-256(prev_hash || canonical(record)) (crates/domain/src/audit/chain.rs); a running
-- aggregate over seq computes the chain in one pass.
CREATE FUNCTION pg_temp.bench_chain_step(prev bytea, canonical bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN sha256(prev || canonical);
END
$$;
CREATE AGGREGATE pg_temp.bench_chain(bytea) (
    SFUNC = pg_temp.bench_chain_step,
    STYPE = bytea,
    INITCOND = '\x0000000000000000000000000000000000000000000000000000000000000000'
);

BEGIN;
INSERT INTO audit_events (id, org_id, seq, actor_type, actor_id, action, target_type, target_id, changes,
                          request_id, client_ip, user_agent, occurred_at, prev_hash, hash)
WITH records AS (
    SELECT n AS seq, pg_temp.bench_id(5, n) AS id, pg_temp.bench_id(3, 1) AS org_id,
           'usr_' || replace(pg_temp.bench_id(1, 0)::text, '-', '') AS actor_id,
           timestamptz '2026-01-01 00:00:00+00' + n * interval '1 millisecond' AS occurred_at,
           '{"version":{"from":' || n || ',"to":' || (n + 1) || '}}' AS changes
    FROM generate_series(1, :audit_records) AS n
), canonical AS (
    SELECT r.*, 'org_' || replace(org_id::text, '-', '') AS target_id, convert_to(
               '["orgd.audit.v1",' || seq || ',"evt_' || replace(id::text, '-', '') || '","org_'
               || replace(org_id::text, '-', '') || '","'
               || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '","user","'
               || actor_id || '","org.updated","organization","org_' || replace(org_id::text, '-', '') || '",'
               || changes || ',"bench","10.0.0.1","bench/1"]', 'UTF8') AS body
    FROM records r
), chained AS (
    SELECT c.*, pg_temp.bench_chain(body) OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS hash
    FROM canonical c
)
SELECT id, org_id, seq, 'user', actor_id, 'org.updated', 'organization', target_id, changes::jsonb,
       'bench', '10.0.0.1', 'bench/1', occurred_at,
       coalesce(lag(hash) OVER (ORDER BY seq), '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
       hash
FROM chained;

INSERT INTO audit_chain_heads (org_id, seq, hash, base_seq, base_hash)
SELECT org_id, seq, hash, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
FROM audit_events WHERE org_id = pg_temp.bench_id(3, 1) ORDER BY seq DESC LIMIT 1;
COMMIT;

SET session_replication_role = origin;

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT definition FROM bench_deferred_indexes LOOP
        EXECUTE r.definition;
    END LOOP;
END $$;

VACUUM ANALYZE;
