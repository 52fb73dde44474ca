//! How long one authorization decision takes in the domain: the check every use case makes.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use domain::authz::{Grant, Permission, PermissionSet, SystemRole};

fn decisions(c: &mut Criterion) {
    let admin = Grant::for_system_role(SystemRole::Admin);
    let member = Grant::for_system_role(SystemRole::Member);
    c.bench_function("authorize: allowed", |b| {
        b.iter(|| black_box(&admin).authorize(black_box(Permission::MembersUpdate)))
    });
    c.bench_function("authorize: denied (builds the error)", |b| {
        b.iter(|| black_box(&member).authorize(black_box(Permission::OrgDelete)))
    });
    let wanted = PermissionSet::of(&[Permission::OrgRead, Permission::MembersRead, Permission::AuditRead]);
    c.bench_function("may_grant: subset check", |b| b.iter(|| black_box(&admin).may_grant(black_box(wanted))));
    c.bench_function("permission map: all 31 permissions", |b| {
        b.iter(|| Permission::ALL.iter().filter(|p| black_box(&admin).permissions.contains(**p)).count())
    });
}

criterion_group!(benches, decisions);
criterion_main!(benches);
