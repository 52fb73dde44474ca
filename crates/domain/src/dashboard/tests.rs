//! The dashboard over the in-memory store: sections follow the caller's permissions.

use std::sync::Arc;

use super::*;
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::role::{CreateRole, RoleService};
use crate::testing::{caller, join, InMemoryStore};
use crate::time::SystemClock;

#[test]
fn each_section_shows_only_to_who_may_read_its_source() {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    let orgs = OrgService::new(store.clone(), clock.clone());
    let org = orgs.create(&caller("owner"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    let org_ref = OrgRef::Id(org);
    join(&store, org, "admin", "admin");
    join(&store, org, "plain", "member");
    let roles = RoleService::new(store.clone(), clock.clone());
    let input = CreateRole {
        name: "Billing".into(),
        key: Some("billing".into()),
        permissions: vec!["org:read".into(), "billing:read".into()],
        description: None,
    };
    roles.create(&caller("owner"), &org_ref, input).unwrap();
    join(&store, org, "accountant", "billing");
    let dashboards = DashboardService::new(store, clock);

    let full = dashboards.get(&caller("owner"), &org_ref).unwrap();
    let members = full.members.unwrap();
    assert_eq!((members.total, members.suspended), (4, 0));
    let by_role: Vec<_> = members.by_role.iter().map(|r| (r.role.as_str().to_owned(), r.members)).collect();
    assert_eq!(by_role.len(), 4);
    assert!(by_role.contains(&("owner".into(), 1)) && by_role.contains(&("billing".into(), 1)));
    assert!(full.mfa.is_some() && full.invites.is_some() && full.teams.is_some());
    assert!(full.api_keys.is_some() && full.audit.is_some() && full.spend.is_some());
    assert!(full.audit.unwrap().events_last_30_days >= 2);

    let plain = dashboards.get(&caller("plain"), &org_ref).unwrap();
    assert!(plain.members.is_some() && plain.teams.is_some());
    assert!(plain.mfa.is_none() && plain.invites.is_none() && plain.api_keys.is_none());
    assert!(plain.audit.is_none() && plain.spend.is_none());

    let accountant = dashboards.get(&caller("accountant"), &org_ref).unwrap();
    assert!(accountant.spend.is_some());
    assert!(accountant.members.is_none() && accountant.teams.is_none());

    assert!(matches!(
        dashboards.get(&caller("stranger"), &org_ref).unwrap_err(),
        DashboardError::Access(crate::AccessError::NotFound(_))
    ));
}
