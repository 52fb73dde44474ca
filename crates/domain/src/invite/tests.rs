use std::sync::Arc;

use chrono::{Duration, Utc};

use super::*;
use crate::apikey::SecretMinter;
use crate::error::AccessError;
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::testing::{caller, identity, join, presented, CountingMinter, InMemoryStore};
use crate::time::SystemClock;
use crate::{Caller, RequestMeta};

struct World {
    store: InMemoryStore,
    invites: InviteService<InMemoryStore>,
    org: OrgRef,
}

fn world() -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    let orgs = OrgService::new(store.clone(), clock.clone());
    let org = orgs.create(&caller("owner"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    join(&store, org, "admin", "admin");
    let minter: Arc<dyn SecretMinter> = Arc::new(CountingMinter::default());
    World {
        invites: InviteService::new(store.clone(), clock, minter, InviteSettings::default()),
        store,
        org: OrgRef::Id(org),
    }
}

fn link(role: &str, max_uses: i32) -> CreateInvite {
    CreateInvite { role: role.into(), max_uses: Some(max_uses), ..Default::default() }
}

fn person(subject: &str, email: &str, verified: bool) -> Caller {
    let mut id = identity(subject, email);
    id.email_verified = verified;
    Caller::user(id, RequestMeta::default())
}

#[test]
fn a_link_admits_up_to_its_uses_and_never_the_same_person_twice() {
    let w = world();
    let issued = w.invites.create(&caller("owner"), &w.org, link("member", 2)).unwrap();
    let hash = issued.token.as_bytes();
    assert!(issued.accept_url.ends_with(&issued.token));
    w.invites.accept(&caller("ann"), &presented(hash)).unwrap();
    assert_eq!(
        w.invites.accept(&caller("ann"), &presented(hash)).unwrap_err(),
        InviteError::AlreadyMember,
        "uses are not consumed"
    );
    w.invites.accept(&caller("bob"), &presented(hash)).unwrap();
    assert_eq!(w.invites.accept(&caller("cyd"), &presented(hash)).unwrap_err(), InviteError::Exhausted);
    let listed = w.invites.list(&caller("owner"), &w.org, None, crate::pagination::PageRequest::first(10)).unwrap();
    assert_eq!(listed.items[0].status, InviteStatus::Exhausted);
    assert_eq!(listed.items[0].redemptions.len(), 2);
}

#[test]
fn invites_never_escalate_and_never_make_owners() {
    let w = world();
    assert_eq!(w.invites.create(&caller("admin"), &w.org, link("owner", 1)).unwrap_err(), InviteError::OwnerRole);
    assert!(w.invites.create(&caller("admin"), &w.org, link("admin", 1)).is_ok());
    assert_eq!(
        w.invites.create(&caller("admin"), &w.org, link("ghost", 1)).unwrap_err(),
        InviteError::UnknownRole("ghost".into())
    );
}

#[test]
fn an_email_invite_admits_only_its_verified_address_and_is_mailed() {
    let w = world();
    let input = CreateInvite { role: "member".into(), email: Some("Dana@Example.com".into()), ..Default::default() };
    let issued = w.invites.create(&caller("owner"), &w.org, input).unwrap();
    let mail = w.store.outbox();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to.as_str(), "dana@example.com");
    assert!(mail[0].text.contains(&issued.accept_url));
    let hash = issued.token.as_bytes();
    assert_eq!(
        w.invites.accept(&person("eve", "eve@example.com", true), &presented(hash)).unwrap_err(),
        InviteError::EmailMismatch
    );
    assert_eq!(
        w.invites.accept(&person("dana", "dana@example.com", false), &presented(hash)).unwrap_err(),
        InviteError::EmailMismatch,
        "unverified"
    );
    assert!(w.invites.accept(&person("dana", "dana@example.com", true), &presented(hash)).is_ok());
}

#[test]
fn revoked_expired_and_unknown_links_are_dead() {
    let w = world();
    let issued = w.invites.create(&caller("owner"), &w.org, link("member", 5)).unwrap();
    assert!(w.invites.preview(&presented(issued.token.as_bytes())).is_ok());
    w.invites.revoke(&caller("owner"), &w.org, issued.invite.id).unwrap();
    assert_eq!(
        w.invites.accept(&caller("ann"), &presented(issued.token.as_bytes())).unwrap_err(),
        InviteError::Revoked
    );
    assert_eq!(
        w.invites.preview(&presented(issued.token.as_bytes())).unwrap_err(),
        InviteError::Access(AccessError::NotFound("invite"))
    );
    assert_eq!(
        w.invites.preview(&presented(b"never issued")).unwrap_err(),
        InviteError::Access(AccessError::NotFound("invite"))
    );
    let too_long =
        CreateInvite { role: "member".into(), expires_at: Some(Utc::now() + Duration::days(90)), ..Default::default() };
    assert!(matches!(w.invites.create(&caller("owner"), &w.org, too_long), Err(InviteError::Invalid(_))));
}

#[test]
fn an_invite_dies_with_its_inviters_rights() {
    let w = world();
    let issued = w.invites.create(&caller("admin"), &w.org, link("admin", 1)).unwrap();
    let members = crate::member::MemberService::new(w.store.clone(), Arc::new(SystemClock));
    let all = members
        .list(
            &caller("owner"),
            &w.org,
            crate::member::MemberQuery::default(),
            crate::pagination::PageRequest::first(10),
        )
        .unwrap();
    let admin = all.items.iter().find(|m| m.name.as_deref() == Some("admin")).unwrap().membership.id;
    members.change_role(&caller("owner"), &w.org, admin, "member").unwrap();
    assert_eq!(
        w.invites.accept(&caller("ann"), &presented(issued.token.as_bytes())).unwrap_err(),
        InviteError::NoLongerValid
    );
}

#[test]
fn resending_rotates_the_secret_and_is_rate_limited() {
    let w = world();
    let input = CreateInvite { role: "member".into(), email: Some("dana@example.com".into()), ..Default::default() };
    let issued = w.invites.create(&caller("owner"), &w.org, input).unwrap();
    let too_soon = w.invites.resend(&caller("owner"), &w.org, issued.invite.id).unwrap_err();
    assert!(matches!(too_soon, InviteError::ResendTooSoon { retry_after_secs } if retry_after_secs > 0));
    let link_only = w.invites.create(&caller("owner"), &w.org, link("member", 1)).unwrap();
    assert_eq!(
        w.invites.resend(&caller("owner"), &w.org, link_only.invite.id).unwrap_err(),
        InviteError::NotAnEmailInvite
    );
}
