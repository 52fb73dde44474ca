//! How long one authorization decision takes in the domain: the check every use case makes.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use orgd_domain::authz::{Grant, Permission, PermissionSet, SystemRole};

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

/// The policy gate every request into an organization passes, next to the decision above.
fn gate(c: &mut Criterion) {
    use chrono::Utc;
    use orgd_domain::policy::{
        MfaPolicy, OrgPolicies, Presented, Presenter, SecurityPolicy, SignInMethod, SignInPolicy,
    };
    let now = Utc::now();
    let person = Presented {
        presenter: Presenter::Person {
            mfa: true,
            sign_in_method: Some(SignInMethod::Sso),
            auth_time: Some(now),
            verified_email: Some("alice@acme.com".to_owned()),
        },
        client_ip: "2001:db8:ffff::1".parse().ok(),
    };
    let open = OrgPolicies::default();
    c.bench_function("gate: no policy set", |b| b.iter(|| black_box(&open).admit(black_box(&person), now)));
    // The worst case: the caller matches the last of 200 networks.
    let mut cidrs: Vec<String> = (0..199).map(|n| format!("10.{n}.0.0/16")).collect();
    cidrs.push("2001:db8::/32".to_owned());
    let mut strict = OrgPolicies::default();
    strict.mfa.policy = MfaPolicy { enforced: true, grace_until: None };
    strict.sign_in.policy = SignInPolicy::parse(&["sso".to_owned(), "password".to_owned()]).unwrap_or_default();
    strict.security.policy = SecurityPolicy::parse(&cidrs, Some(3_600), Some(3_600)).unwrap_or_default();
    c.bench_function("gate: every policy, 200-network allowlist", |b| {
        b.iter(|| black_box(&strict).admit(black_box(&person), now))
    });
    // SSO enforced for 50 verified domains: the caller's address is parsed and looked up.
    let sso = OrgPolicies {
        sso_domains: (0..49)
            .map(|n| format!("domain-{n}.example.com"))
            .chain(["acme.com".to_owned()])
            .filter_map(|d| orgd_domain::verified_domain::DomainName::parse(&d).ok())
            .collect(),
        ..Default::default()
    };
    // A password sign-in, so the address is judged (and refused).
    let mut by_password = person.clone();
    if let Presenter::Person { sign_in_method, .. } = &mut by_password.presenter {
        *sign_in_method = Some(SignInMethod::Password);
    }
    c.bench_function("gate: SSO enforced for 50 verified domains", |b| {
        b.iter(|| black_box(&sso).admit(black_box(&by_password), now))
    });
}

criterion_group!(benches, decisions, gate);
criterion_main!(benches);
