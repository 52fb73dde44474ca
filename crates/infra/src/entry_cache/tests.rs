use chrono::Utc;
use orgd_domain::access::{CacheEntry, EntryCache};
use orgd_domain::authz::{PermissionSet, RoleKey};
use orgd_domain::ids::{OrgId, UserId};
use orgd_domain::member::Membership;

use super::*;

fn listening_cache() -> MemoryEntryCache {
    let cache = MemoryEntryCache::new(EntryCacheSettings::default());
    cache.set_listening(true);
    cache
}

fn membership(org: OrgId) -> Membership {
    Membership::new(org, UserId::generate(), RoleKey::parse("admin").unwrap(), Utc::now())
}

/// Another organization in another slot than `org`.
fn elsewhere(org: OrgId) -> OrgId {
    loop {
        let other = OrgId::generate();
        if slot_of(other.as_uuid()) != slot_of(org.as_uuid()) {
            return other;
        }
    }
}

#[test]
fn a_kept_membership_is_served_until_its_organization_changes() {
    let cache = listening_cache();
    let org = OrgId::generate();
    let other = elsewhere(org);
    let (mine, theirs) = (membership(org), membership(other));
    cache.keep(cache.epoch(), CacheEntry::Membership(mine.clone()));
    cache.keep(cache.epoch(), CacheEntry::Membership(theirs.clone()));
    assert_eq!(cache.membership(org, mine.user_id), Some(mine.clone()));

    cache.invalidate(&Changed::Ids(vec![org.as_uuid()]));
    assert_eq!(cache.membership(org, mine.user_id), None, "the changed organization's entry is forgotten");
    assert_eq!(cache.membership(other, theirs.user_id), Some(theirs), "another organization's entry stays");

    cache.keep(cache.epoch(), CacheEntry::Membership(mine.clone()));
    assert_eq!(cache.membership(org, mine.user_id), Some(mine), "read again after the change, it is kept");
}

#[test]
fn an_entry_read_before_a_change_is_refused_even_when_kept_after_it() {
    let cache = listening_cache();
    let org = OrgId::generate();
    let stale = membership(org);
    let read_at = cache.epoch();
    cache.invalidate(&Changed::Ids(vec![org.as_uuid()]));
    cache.keep(read_at, CacheEntry::Membership(stale.clone()));
    assert_eq!(cache.membership(org, stale.user_id), None);
}

#[test]
fn role_permissions_follow_their_organization() {
    let cache = listening_cache();
    let org = OrgId::generate();
    let role = RoleKey::parse("auditor").unwrap();
    cache.keep(
        cache.epoch(),
        CacheEntry::RolePermissions { org, role: role.clone(), permissions: PermissionSet::all() },
    );
    assert_eq!(cache.role_permissions(org, &role), Some(PermissionSet::all()));
    cache.invalidate(&Changed::parse(&format!("{} {}", OrgId::generate().as_uuid(), org.as_uuid())));
    assert_eq!(cache.role_permissions(org, &role), None);
}

#[test]
fn everything_is_forgotten_on_request_and_on_an_unreadable_signal() {
    let cache = listening_cache();
    let org = OrgId::generate();
    let kept = membership(org);
    cache.keep(cache.epoch(), CacheEntry::Membership(kept.clone()));
    cache.invalidate(&Changed::parse("*"));
    assert_eq!(cache.membership(org, kept.user_id), None);

    cache.keep(cache.epoch(), CacheEntry::Membership(kept.clone()));
    assert_eq!(Changed::parse("not-an-id"), Changed::Everything);
    cache.invalidate(&Changed::parse("not-an-id"));
    assert_eq!(cache.membership(org, kept.user_id), None);
}

#[test]
fn nothing_is_served_or_kept_while_the_listener_is_away() {
    let cache = MemoryEntryCache::new(EntryCacheSettings::default());
    let org = OrgId::generate();
    let kept = membership(org);
    cache.keep(cache.epoch(), CacheEntry::Membership(kept.clone()));
    assert_eq!(cache.membership(org, kept.user_id), None, "never listened: nothing kept");

    cache.set_listening(true);
    cache.keep(cache.epoch(), CacheEntry::Membership(kept.clone()));
    assert_eq!(cache.membership(org, kept.user_id), Some(kept.clone()));
    cache.set_listening(false);
    assert_eq!(cache.membership(org, kept.user_id), None, "connection lost: nothing served");
    cache.set_listening(true);
    assert_eq!(cache.membership(org, kept.user_id), None, "back: what was kept before may have missed a signal");
}

#[test]
fn a_listener_that_stops_confirming_stops_the_cache_within_its_grace() {
    let cache = listening_cache();
    let org = OrgId::generate();
    let kept = membership(org);
    cache.keep(cache.epoch(), CacheEntry::Membership(kept.clone()));
    assert!(cache.membership(org, kept.user_id).is_some());
    std::thread::sleep(LISTENER_GRACE + Duration::from_millis(50));
    assert_eq!(cache.membership(org, kept.user_id), None);
    cache.confirm_listening();
    assert_eq!(cache.membership(org, kept.user_id), Some(kept));
}

#[test]
fn every_lookup_counts_as_a_hit_or_a_miss() {
    let cache = listening_cache();
    let org = OrgId::generate();
    let kept = membership(org);
    assert_eq!(cache.membership(org, kept.user_id), None);
    cache.keep(cache.epoch(), CacheEntry::Membership(kept.clone()));
    assert!(cache.membership(org, kept.user_id).is_some());
    assert!(cache.membership(org, kept.user_id).is_some());
    cache.invalidate(&Changed::Ids(vec![org.as_uuid()]));
    assert_eq!(cache.membership(org, kept.user_id), None, "a stale entry is a miss");
    assert_eq!(cache.lookups(), Lookups { hits: 2, misses: 2 });
}
