//! The schema stays ready to distribute tenants by `org_id` on Citus (docs/scaling.md): read
//! from the catalog of a migrated database, every table is either a tenant table, whose
//! primary key, unique constraints and unique indexes include `org_id` and whose foreign keys
//! to other tenant tables carry `org_id` on both sides, or one of the tables listed below with
//! the reason it is not distributed. A new table has to be classified to pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use diesel::pg::PgConnection;
use diesel::sql_types::{Array, Bool, Text};
use diesel::{QueryableByName, RunQueryDsl};
use infra::test_db::TestDatabase;

/// Where a table that is not distributed by `org_id` lives under Citus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Copied to every node: joinable with any shard, and a foreign key may point at it.
    Reference,
    /// A plain table on the coordinator: no shard may point at it, nor it at a shard.
    Coordinator,
}

/// Every table without `org_id` in its keys, and why. Any other table is a tenant table.
const NOT_DISTRIBUTED: &[(&str, Placement, &str)] = &[
    (
        "organizations",
        Placement::Reference,
        "the tenants themselves: names and slugs are unique across organizations, which a table \
         distributed by id could not keep, every shard joins its rows, and they change rarely",
    ),
    ("users", Placement::Reference, "a person belongs to many organizations; every member read joins it"),
    (
        "verified_domains",
        Placement::Reference,
        "one organization at most holds a domain verified: a guarantee across tenants, and the \
         lookup of a domain's organization when someone asks to join by email",
    ),
    (
        "idempotency_records",
        Placement::Coordinator,
        "kept per caller (a person or a secret), not per organization: creating an organization \
         is keyed before the organization exists",
    ),
    (
        "outbox_emails",
        Placement::Coordinator,
        "one queue of mail to send, polled across organizations; some mail belongs to none",
    ),
    ("notifications", Placement::Coordinator, "a person's notices, read by person across organizations"),
    (
        "platform_audit_events",
        Placement::Coordinator,
        "what platform staff did, read across organizations; some actions name none",
    ),
];

/// Secrets presented without their organization, found by their keyed hash: the hash cannot
/// be unique on a table distributed by `org_id`, so a plain index must serve the lookup (the
/// secrets are random and about 190 bits long: their hashes do not collide).
const LOOKUPS_BY_SECRET: &[(&str, &str)] =
    &[("api_keys", "lookup_hash"), ("invites", "lookup_hash"), ("scim_configs", "token_hash")];

const ORG_ID: &str = "org_id";

#[derive(QueryableByName)]
struct TableRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Bool)]
    has_org_id: bool,
    #[diesel(sql_type = Bool)]
    org_id_not_null: bool,
}

#[derive(QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Bool)]
    is_primary: bool,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    /// Key columns in order; an expression leaves no name.
    #[diesel(sql_type = Array<Text>)]
    key_columns: Vec<String>,
}

#[derive(QueryableByName)]
struct ForeignKeyRow {
    #[diesel(sql_type = Text)]
    constraint_name: String,
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    referenced_table: String,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    referenced_columns: Vec<String>,
}

struct Catalog {
    tables: Vec<TableRow>,
    indexes: Vec<IndexRow>,
    foreign_keys: Vec<ForeignKeyRow>,
}

fn read_catalog(conn: &mut PgConnection) -> Catalog {
    let tables = diesel::sql_query(
        "SELECT c.relname::text AS table_name, a.attname IS NOT NULL AS has_org_id,
                coalesce(a.attnotnull, false) AS org_id_not_null
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '__diesel_schema_migrations'
         ORDER BY 1",
    )
    .load(conn)
    .expect("tables");
    let indexes = diesel::sql_query(
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name, x.indisprimary AS is_primary,
                x.indisunique AS is_unique,
                ARRAY(SELECT coalesce(a.attname::text, '') FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                      LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                      WHERE k.ord <= x.indnkeyatts ORDER BY k.ord) AS key_columns
         FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = 'public' ORDER BY 1, 2",
    )
    .load(conn)
    .expect("indexes");
    let foreign_keys = diesel::sql_query(
        "SELECT con.conname::text AS constraint_name, t.relname::text AS table_name,
                r.relname::text AS referenced_table,
                ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
                ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord)
                    AS referenced_columns
         FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE con.contype = 'f' AND n.nspname = 'public' ORDER BY 2, 1",
    )
    .load(conn)
    .expect("foreign keys");
    Catalog { tables, indexes, foreign_keys }
}

/// How a table is placed: `None` for a tenant table, distributed by `org_id`.
fn placement(table: &str) -> Option<Placement> {
    NOT_DISTRIBUTED.iter().find(|(name, _, _)| *name == table).map(|(_, placement, _)| *placement)
}

/// Everything in the catalog that would keep a table from distributing, one line each,
/// naming the table and the constraint.
fn distribution_problems(catalog: &Catalog) -> Vec<String> {
    let mut problems = Vec::new();
    let existing: HashMap<&str, &TableRow> = catalog.tables.iter().map(|t| (t.table_name.as_str(), t)).collect();
    for (listed, _, _) in NOT_DISTRIBUTED {
        if !existing.contains_key(listed) {
            problems.push(format!("{listed}: listed as not distributed but no such table exists"));
        }
    }
    for table in &catalog.tables {
        let name = &table.table_name;
        if placement(name).is_some() {
            continue;
        }
        if !table.has_org_id {
            problems.push(format!(
                "{name}: has no org_id and is not listed as a reference or coordinator table: classify it"
            ));
            continue;
        }
        if !table.org_id_not_null {
            problems.push(format!("{name}: org_id may be NULL, and a distribution column cannot be"));
        }
        if !catalog.indexes.iter().any(|i| i.table_name == *name && i.is_primary) {
            problems.push(format!("{name}: has no primary key"));
        }
    }
    // An unclassified table was reported above; its keys say nothing yet.
    let tenant = |table: &str| existing.get(table).is_some_and(|t| t.has_org_id) && placement(table).is_none();

    for index in catalog.indexes.iter().filter(|i| i.is_unique && tenant(&i.table_name)) {
        if !index.key_columns.iter().any(|c| c == ORG_ID) {
            let kind = if index.is_primary { "primary key" } else { "unique index" };
            problems.push(format!(
                "{}: {kind} {} on ({}) does not include org_id",
                index.table_name,
                index.index_name,
                index
                    .key_columns
                    .iter()
                    .map(|c| if c.is_empty() { "<expression>" } else { c })
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }

    for fk in &catalog.foreign_keys {
        let (from, to) = (fk.table_name.as_str(), fk.referenced_table.as_str());
        let named = format!(
            "{from}: foreign key {} ({}) → {to} ({})",
            fk.constraint_name,
            fk.columns.join(", "),
            fk.referenced_columns.join(", ")
        );
        match (placement(from), placement(to)) {
            (None, None) if tenant(from) && tenant(to) => {
                let org_to_org = fk.columns.iter().zip(&fk.referenced_columns).any(|(c, r)| c == ORG_ID && r == ORG_ID);
                if !org_to_org {
                    problems.push(format!("{named} does not match org_id to org_id: it would cross shards"));
                }
            }
            (None, Some(Placement::Coordinator)) if tenant(from) => {
                problems.push(format!("{named} points from a distributed table at a coordinator table"));
            }
            (Some(Placement::Reference), target) if target != Some(Placement::Reference) => {
                problems.push(format!("{named} points from a reference table at one that is not"));
            }
            (Some(Placement::Coordinator), None) if tenant(to) => {
                problems.push(format!("{named} points from a coordinator table into a distributed one"));
            }
            _ => {}
        }
    }

    for (table, column) in LOOKUPS_BY_SECRET {
        let served = catalog
            .indexes
            .iter()
            .any(|i| i.table_name == *table && i.key_columns.first().is_some_and(|c| c == column));
        if !served {
            problems.push(format!(
                "{table}: no index leads with {column}, which finds a secret before its organization is known"
            ));
        }
    }
    problems
}

#[test]
fn every_tenant_table_would_distribute_by_org_id() {
    let db = TestDatabase::create();
    let catalog = read_catalog(&mut db.connect());
    assert!(catalog.tables.len() > NOT_DISTRIBUTED.len(), "the catalog lists the tables");
    assert!(catalog.tables.iter().any(|t| t.table_name == "memberships" && t.has_org_id));
    let problems = distribution_problems(&catalog);
    assert!(problems.is_empty(), "tables that would not distribute by org_id:\n{}", problems.join("\n"));
}

#[test]
fn the_check_names_each_table_and_constraint_that_would_not_distribute() {
    let db = TestDatabase::create();
    db.execute(
        "CREATE TABLE gadgets (
             id uuid PRIMARY KEY,
             org_id uuid REFERENCES organizations (id),
             serial text,
             member_id uuid,
             CONSTRAINT gadgets_member_fkey FOREIGN KEY (member_id, org_id) REFERENCES memberships (org_id, id)
         );
         CREATE UNIQUE INDEX gadgets_serial_key ON gadgets (lower(serial));
         CREATE TABLE gadget_kinds (name text PRIMARY KEY);
         CREATE TABLE gadget_mail (
             org_id uuid NOT NULL, id uuid NOT NULL, email_id uuid REFERENCES outbox_emails (id),
             PRIMARY KEY (org_id, id)
         );
         ALTER TABLE users ADD COLUMN favourite_org uuid, ADD COLUMN favourite_team uuid,
             ADD CONSTRAINT users_favourite_team_fkey FOREIGN KEY (favourite_org, favourite_team)
                 REFERENCES teams (org_id, id);
         DROP INDEX api_keys_lookup_hash;",
    )
    .expect("tables that would not distribute");
    let problems = distribution_problems(&read_catalog(&mut db.connect()));
    let expected = [
        "gadgets: org_id may be NULL",
        "gadgets: primary key gadgets_pkey on (id) does not include org_id",
        "gadgets: unique index gadgets_serial_key on (<expression>) does not include org_id",
        "gadgets: foreign key gadgets_member_fkey (member_id, org_id) → memberships (org_id, id) does not match org_id to org_id",
        "gadget_kinds: has no org_id and is not listed",
        "gadget_mail: foreign key gadget_mail_email_id_fkey (email_id) → outbox_emails (id) points from a distributed table at a coordinator table",
        "users: foreign key users_favourite_team_fkey (favourite_org, favourite_team) → teams (org_id, id) points from a reference table",
        "api_keys: no index leads with lookup_hash",
    ];
    for line in expected {
        assert!(problems.iter().any(|p| p.starts_with(line)), "missing {line:?} in:\n{}", problems.join("\n"));
    }
    assert_eq!(problems.len(), expected.len(), "{}", problems.join("\n"));
}
