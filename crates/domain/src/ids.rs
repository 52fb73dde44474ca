//! Typed public identifiers.
//!
//! Every resource is keyed by a UUIDv7 (time-ordered, so B-tree indexes stay compact) and
//! shown to clients as an opaque prefixed string such as `org_0192f0c1a4e37b6c9d5e8f10a2b3c4d5`.
//! Sequential integers are never exposed.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A public id string that does not name a resource of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id (expected `{prefix}_` followed by 32 hex digits)")]
pub struct InvalidId {
    /// The kind of resource expected, e.g. `organization`.
    pub kind: &'static str,
    /// The prefix that kind's ids start with, e.g. `org`.
    pub prefix: &'static str,
    /// The text that was refused.
    pub value: String,
}

macro_rules! public_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// The prefix of the public form, before the `_` and 32 hex digits.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// The id of the resource stored under `uuid`.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID the resource is stored under.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.simple())
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                let invalid = || InvalidId { kind: $kind, prefix: $prefix, value: value.to_owned() };
                let hex = value
                    .strip_prefix(concat!($prefix, "_"))
                    .filter(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or_else(invalid)?;
                Uuid::try_parse(hex).map(Self).map_err(|_| invalid())
            }
        }
    };
}

public_id!(
    /// An organization.
    OrgId, "org", "organization"
);
public_id!(
    /// A user known to the service (provisioned from an identity-provider subject).
    UserId, "usr", "user"
);
public_id!(
    /// One user's membership of one organization.
    MemberId, "mem", "member"
);
public_id!(
    /// An organization's custom role.
    RoleId, "role", "role"
);
public_id!(
    /// A team inside an organization.
    TeamId, "team", "team"
);
public_id!(
    /// An invitation to join an organization.
    InviteId, "inv", "invite"
);
public_id!(
    /// An email waiting in, or sent from, the outbox.
    EmailId, "eml", "email"
);
public_id!(
    /// An organization API key.
    ApiKeyId, "key", "API key"
);
public_id!(
    /// An audit event.
    EventId, "evt", "audit event"
);
public_id!(
    /// An in-app notice for one person.
    NotificationId, "ntf", "notification"
);
public_id!(
    /// An email domain an organization claimed.
    DomainId, "dom", "domain"
);
public_id!(
    /// A person's request to join an organization by their email's domain.
    JoinRequestId, "jrq", "join request"
);
public_id!(
    /// One metered usage event.
    UsageEventId, "use", "usage event"
);
public_id!(
    /// An endpoint an organization's events are delivered to.
    WebhookId, "whk", "webhook"
);
public_id!(
    /// One event's delivery to one webhook, with its attempts.
    DeliveryId, "dlv", "webhook delivery"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_public_form() {
        let id = OrgId::generate();
        let shown = id.to_string();
        assert!(shown.starts_with("org_"));
        assert_eq!(shown.len(), 4 + 32);
        assert_eq!(shown.parse::<OrgId>(), Ok(id));
    }

    #[test]
    fn refuses_another_kinds_prefix() {
        let member = MemberId::generate().to_string();
        let err = member.parse::<OrgId>().unwrap_err();
        assert_eq!(err.kind, "organization");
    }

    #[test]
    fn refuses_malformed_bodies() {
        for bad in [
            "org_",
            "org_xyz",
            "org_0192f0c1-a4e3-7b6c-9d5e-8f10a2b3c4d5",
            "ORG_0192f0c1a4e37b6c9d5e8f10a2b3c4d5",
            "42",
        ] {
            assert!(bad.parse::<OrgId>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let first = MemberId::generate();
        let second = MemberId::generate();
        assert!(first < second);
    }
}
