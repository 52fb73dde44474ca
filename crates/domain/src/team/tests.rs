use std::sync::Arc;

use super::*;
use crate::error::AccessError;
use crate::ids::MemberId;
use crate::member::{MemberQuery, MemberService};
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::pagination::PageRequest;
use crate::testing::{caller, join, InMemoryStore};
use crate::time::SystemClock;

struct World {
    teams: TeamService<InMemoryStore>,
    members: MemberService<InMemoryStore>,
    org: OrgRef,
    ids: std::collections::HashMap<&'static str, MemberId>,
}

fn world() -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    let orgs = OrgService::new(store.clone(), clock.clone());
    let org = orgs.create(&caller("owner"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    let mut ids = std::collections::HashMap::new();
    for name in ["lead", "dev", "other"] {
        ids.insert(name, join(&store, org, name, "member"));
    }
    World {
        teams: TeamService::new(store.clone(), clock.clone()),
        members: MemberService::new(store, clock),
        org: OrgRef::Id(org),
        ids,
    }
}

#[test]
fn a_manager_changes_their_teams_membership_but_nothing_else() {
    let w = world();
    let owner = caller("owner");
    let core = w.teams.create(&owner, &w.org, CreateTeam { name: "Core".into(), description: None }).unwrap().team;
    let infra = w.teams.create(&owner, &w.org, CreateTeam { name: "Infra".into(), description: None }).unwrap().team;
    w.teams.add_member(&owner, &w.org, core.id, w.ids["lead"], true).unwrap();

    let lead = caller("lead");
    w.teams.add_member(&lead, &w.org, core.id, w.ids["dev"], false).unwrap();
    w.teams.remove_member(&lead, &w.org, core.id, w.ids["dev"]).unwrap();
    let forbidden = |r: Result<_, TeamError>| matches!(r, Err(TeamError::Access(AccessError::Forbidden { .. })));
    assert!(
        forbidden(w.teams.add_member(&lead, &w.org, infra.id, w.ids["dev"], false).map(|_| ())),
        "not another team"
    );
    assert!(
        forbidden(w.teams.add_member(&lead, &w.org, core.id, w.ids["other"], true).map(|_| ())),
        "no appointing managers"
    );
    assert!(forbidden(
        w.teams
            .update(&lead, &w.org, core.id, UpdateTeam { name: Some("Mine".into()), ..Default::default() })
            .map(|_| ())
    ));
    assert!(forbidden(w.teams.delete(&lead, &w.org, core.id)));
    assert!(
        forbidden(w.teams.add_member(&caller("dev"), &w.org, core.id, w.ids["other"], false).map(|_| ())),
        "plain members cannot"
    );
}

#[test]
fn team_names_are_unique_per_org_and_members_unique_per_team() {
    let w = world();
    let owner = caller("owner");
    let core = w.teams.create(&owner, &w.org, CreateTeam { name: "Core".into(), description: None }).unwrap().team;
    assert_eq!(
        w.teams.create(&owner, &w.org, CreateTeam { name: "CORE".into(), description: None }).unwrap_err(),
        TeamError::NameTaken
    );
    w.teams.add_member(&owner, &w.org, core.id, w.ids["dev"], false).unwrap();
    assert_eq!(w.teams.add_member(&owner, &w.org, core.id, w.ids["dev"], false).unwrap_err(), TeamError::AlreadyInTeam);
}

#[test]
fn leaving_the_org_leaves_its_teams() {
    let w = world();
    let owner = caller("owner");
    let core = w.teams.create(&owner, &w.org, CreateTeam { name: "Core".into(), description: None }).unwrap().team;
    w.teams.add_member(&owner, &w.org, core.id, w.ids["dev"], false).unwrap();
    w.members.leave(&caller("dev"), &w.org).unwrap();
    let detail = w.teams.get(&owner, &w.org, core.id, PageRequest::first(10)).unwrap();
    assert_eq!(detail.summary.member_count, 0);
    assert!(w.members.list(&owner, &w.org, MemberQuery::default(), PageRequest::first(10)).unwrap().items.len() == 3);
}
