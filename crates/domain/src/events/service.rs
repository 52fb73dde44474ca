//! Reading the feed, and forgetting what it no longer keeps.

use std::sync::Arc;

use chrono::Duration;

use super::model::{Event, EventCursor, EventQuery, EVENT_RETENTION_DAYS};
use crate::access::{enter_org, Lock};
use crate::authz::Permission;
use crate::context::Caller;
use crate::error::{AccessError, Invalid, StoreError};
use crate::org::OrgRef;
use crate::store::Store;
use crate::time::Clock;

/// The most events a page holds.
pub const MAX_PAGE: u32 = 100;
/// The most types a reader may ask for at once.
pub const MAX_TYPES: usize = 50;

/// Why reading the event feed failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads an organization's event feed.
pub struct EventService<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
}

/// The longest type a webhook subscribes to.
pub const MAX_TYPE_CHARS: usize = 100;

/// An event type or a `prefix.*` pattern: lowercase letters, digits, `_` and `.`.
fn valid_pattern(pattern: &str) -> bool {
    let name = pattern.strip_suffix(".*").unwrap_or(pattern);
    !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// Checks the types a webhook subscribes to: at most [`MAX_TYPES`], each at most
/// [`MAX_TYPE_CHARS`].
pub fn parse_subscription(field: &str, types: &[String]) -> Result<Vec<String>, Invalid> {
    if types.len() > MAX_TYPES {
        return Err(Invalid::field(field, "too_many", format!("at most {MAX_TYPES} event types")));
    }
    if let Some(long) = types.iter().find(|t| t.chars().count() > MAX_TYPE_CHARS) {
        return Err(Invalid::field(field, "too_long", format!("`{long}` is longer than {MAX_TYPE_CHARS} characters")));
    }
    parse_types(field, types)
}

/// Checks the types a reader asks for (types, or prefixes ending in `.*`).
pub fn parse_types(field: &str, types: &[String]) -> Result<Vec<String>, Invalid> {
    if let Some(bad) = types.iter().find(|t| !valid_pattern(t)) {
        return Err(Invalid::field(
            field,
            "invalid_event_type",
            format!("`{bad}` is not an event type (e.g. `team.created`) nor a prefix of them (e.g. `team.*`)"),
        ));
    }
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    Ok(types)
}

impl<S: Store> EventService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The organization's events after `after`, oldest first (`events:read`). Answers the
    /// page and the cursor to read on from, which is `after` itself when nothing is new.
    pub fn list(
        &self,
        caller: &Caller,
        org: &OrgRef,
        after: Option<EventCursor>,
        types: &[String],
        limit: u32,
    ) -> Result<(Vec<Event>, Option<EventCursor>), EventError> {
        // A filter: what names no type matches nothing.
        let mut types = types.to_vec();
        types.sort();
        types.dedup();
        let query = EventQuery { after, types, limit: limit.clamp(1, MAX_PAGE) };
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<EventError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::EventsRead)?;
            let events = tx.list_events(scope.org.id, &query, now - Duration::days(EVENT_RETENTION_DAYS))?;
            let next = events.last().map(|e| EventCursor(e.seq)).or(after);
            Ok((events, next))
        })
    }

    /// Forgets events past the retention, and the ended deliveries of events that old,
    /// `batch` at a time; answers how many.
    pub fn sweep(&self, batch: u32) -> Result<usize, StoreError> {
        let before = self.clock.now() - Duration::days(EVENT_RETENTION_DAYS);
        let mut forgotten = 0;
        loop {
            let deleted = self.store.transaction(|tx| {
                Ok::<_, StoreError>(tx.delete_events(before, batch)? + tx.delete_ended_deliveries(before, batch)?)
            })?;
            forgotten += deleted;
            if deleted < batch as usize {
                return Ok(forgotten);
            }
        }
    }
}
