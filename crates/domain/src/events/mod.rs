//! Events: what changed in an organization, for other services to react to — pulled from
//! the feed or pushed by webhooks. Every audited change is also an event, derived from its
//! audit record and written in the same transaction, so an event exists exactly when the
//! change committed.

mod model;
mod service;

pub use model::{
    event_type, type_matches, Event, EventCursor, EventQuery, EventRepository, NewEvent, EVENT_RETENTION_DAYS,
};
pub use service::{parse_subscription, parse_types, EventError, EventService, MAX_PAGE, MAX_TYPES, MAX_TYPE_CHARS};

#[cfg(test)]
mod tests;
