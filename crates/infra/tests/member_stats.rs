//! The per-role member counters the dashboard reads are kept by triggers: after any mix of
//! joins, role changes, suspensions, second factors and removals they equal a count of the
//! rows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use infra::test_db::TestDatabase;

/// Rows where the counters and a fresh count of the memberships disagree.
const DRIFT: &str = "
    SELECT count(*) FROM (
        SELECT m.org_id, m.role, count(*) AS members,
               count(*) FILTER (WHERE m.suspended_at IS NOT NULL) AS suspended,
               count(*) FILTER (WHERE u.mfa_enrolled) AS mfa_enrolled
        FROM memberships m JOIN users u ON u.id = m.user_id GROUP BY m.org_id, m.role
    ) actual
    FULL JOIN (SELECT * FROM org_member_stats WHERE members <> 0 OR suspended <> 0 OR mfa_enrolled <> 0) kept
      USING (org_id, role)
    WHERE (actual.members, actual.suspended, actual.mfa_enrolled)
          IS DISTINCT FROM (kept.members, kept.suspended, kept.mfa_enrolled)";

#[test]
fn counters_follow_every_change_of_membership_and_second_factor() {
    let db = TestDatabase::create();
    db.execute(
        "INSERT INTO organizations (id, name, slug, version, created_at, updated_at, plan)
           SELECT gen_random_uuid(), 'Org ' || i, 'org-' || i, 1, now(), now(), 'enterprise'
           FROM generate_series(1, 3) i;
         INSERT INTO users (id, email, email_verified, mfa_enrolled, created_at, updated_at)
           SELECT gen_random_uuid(), 'u' || i || '@example.com', true, i % 4 = 0, now(), now()
           FROM generate_series(1, 60) i;
         -- Every user in two of the three organizations.
         INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at)
           SELECT gen_random_uuid(), o.id, u.id,
                  CASE WHEN row_number() OVER () % 7 = 0 THEN 'admin' ELSE 'member' END, now(), now()
           FROM users u CROSS JOIN (SELECT id FROM organizations ORDER BY id LIMIT 2) o;",
    )
    .unwrap();
    assert_eq!(db.count(DRIFT), 0, "after joining");
    let steps = [
        "UPDATE memberships SET role = 'owner' WHERE id IN (SELECT id FROM memberships ORDER BY id LIMIT 5)",
        "UPDATE memberships SET suspended_at = now() WHERE id IN (SELECT id FROM memberships ORDER BY id DESC LIMIT 9)",
        "UPDATE memberships SET role = 'admin', suspended_at = NULL WHERE id IN (SELECT id FROM memberships ORDER BY id DESC LIMIT 4)",
        "UPDATE users SET mfa_enrolled = NOT mfa_enrolled WHERE id IN (SELECT id FROM users ORDER BY id LIMIT 20)",
        "UPDATE users SET name = 'renamed'",
        // Linking provisioned memberships to the people who signed in moves them to
        // another user, with or without a second factor.
        "INSERT INTO users (id, email, email_verified, mfa_enrolled, created_at, updated_at)
           SELECT gen_random_uuid(), 'linked' || i || '@example.com', true, i % 2 = 0, now(), now()
           FROM generate_series(1, 6) i",
        "UPDATE memberships m SET user_id = l.id
           FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users WHERE email LIKE 'linked%') l,
                (SELECT id, row_number() OVER (ORDER BY id) AS n FROM memberships
                  WHERE org_id = (SELECT id FROM organizations ORDER BY id LIMIT 1)) t
           WHERE m.id = t.id AND t.n = l.n",
        "DELETE FROM memberships WHERE id IN (SELECT id FROM memberships ORDER BY user_id LIMIT 15)",
        "INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at, suspended_at)
           SELECT gen_random_uuid(), (SELECT id FROM organizations ORDER BY id DESC LIMIT 1), id, 'member', now(), now(), now()
           FROM users LIMIT 10",
    ];
    for step in steps {
        db.execute(step).unwrap();
        assert_eq!(db.count(DRIFT), 0, "after {step}");
    }
}
