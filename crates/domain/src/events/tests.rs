//! The feed over the in-memory store: every audited change is an event with the ids
//! involved, in order, filtered by type, for readers with `events:read` only.

use std::sync::Arc;

use super::*;
use crate::audit::AuditAction;
use crate::error::AccessError;
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::team::{CreateTeam, TeamService};
use crate::testing::{caller, join, InMemoryStore};
use crate::time::SystemClock;

struct World {
    events: EventService<InMemoryStore>,
    teams: TeamService<InMemoryStore>,
    org: OrgRef,
}

fn world() -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    let orgs = OrgService::new(store.clone(), clock.clone());
    let org = orgs.create(&caller("owner"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    join(&store, org, "plain", "member");
    World {
        events: EventService::new(store.clone(), clock.clone()),
        teams: TeamService::new(store, clock),
        org: OrgRef::Id(org),
    }
}

#[test]
fn every_audited_change_is_an_event_carrying_what_changed() {
    let w = world();
    let team =
        w.teams.create(&caller("owner"), &w.org, CreateTeam { name: "Core".into(), ..Default::default() }).unwrap();
    let (events, next) = w.events.list(&caller("owner"), &w.org, None, &[], 100).unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["organization.created", "team.created"]);
    let created = &events[1];
    assert_eq!(created.data["object"]["id"], team.team.id.to_string());
    assert_eq!(created.data["object"]["type"], "team");
    assert_eq!(created.data["actor"]["type"], "user");
    assert_eq!(created.data["changes"]["name"]["to"], "Core");
    assert_eq!(next, Some(EventCursor(created.seq)));
    // Nothing new after the cursor; the cursor stays.
    let (none, same) = w.events.list(&caller("owner"), &w.org, next, &[], 100).unwrap();
    assert!(none.is_empty());
    assert_eq!(same, next);
}

#[test]
fn readers_filter_by_type_or_prefix() {
    let w = world();
    w.teams.create(&caller("owner"), &w.org, CreateTeam { name: "Core".into(), ..Default::default() }).unwrap();
    let only = |types: &[&str]| {
        let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
        let (events, _) = w.events.list(&caller("owner"), &w.org, None, &types, 100).unwrap();
        events.into_iter().map(|e| e.event_type).collect::<Vec<_>>()
    };
    assert_eq!(only(&["team.*"]), ["team.created"]);
    assert_eq!(only(&["organization.created", "team.deleted"]), ["organization.created"]);
    assert!(only(&["organization.membership.*"]).is_empty());
    // What names no type matches nothing.
    for odd in ["", "Team.created", "team..x", ".team", "team.", "*", "team.*.x"] {
        assert!(only(&[odd]).is_empty(), "{odd:?}");
    }
    for bad in ["", "Team.created", "team..x", ".team", "team.", "*", "team.*.x"] {
        assert!(parse_types("event_types", &[bad.to_owned()]).is_err(), "{bad:?}");
    }
}

#[test]
fn the_feed_is_for_events_readers_only() {
    let w = world();
    assert!(matches!(
        w.events.list(&caller("plain"), &w.org, None, &[], 10),
        Err(EventError::Access(AccessError::Forbidden { .. }))
    ));
    assert!(matches!(
        w.events.list(&caller("stranger"), &w.org, None, &[], 10),
        Err(EventError::Access(AccessError::NotFound(_)))
    ));
}

#[test]
fn prefixes_match_whole_segments() {
    assert!(type_matches("team.*", "team.membership.created"));
    assert!(!type_matches("team.*", "teams.created"));
    assert!(!type_matches("team.*", "team"));
    assert!(type_matches("team.created", "team.created"));
}

#[test]
fn only_what_changes_something_a_consumer_keeps_is_an_event() {
    assert_eq!(event_type(AuditAction::StaffAccessed), None);
    assert_eq!(event_type(AuditAction::ScimUserDeactivated), Some("organization.membership.suspended"));
    assert_eq!(event_type(AuditAction::MemberRemoved), Some("organization.membership.deleted"));
}
