use chrono::{DateTime, Utc};

use super::State;
use crate::error::StoreError;
use crate::events::{Event, EventQuery, EventRepository, NewEvent};
use crate::ids::OrgId;

impl State {
    /// Appends to the feed, as the database's sequence does.
    pub(super) fn publish(&mut self, event: NewEvent) {
        let seq = self.events.last().map_or(1, |e| e.seq + 1);
        let event = Event {
            seq,
            id: event.id,
            org_id: event.org_id,
            event_type: event.event_type.to_owned(),
            data: event.data,
            occurred_at: event.occurred_at,
        };
        self.fan_out(&event);
        self.events.push(event);
    }
}

impl EventRepository for State {
    fn list_events(&mut self, org: OrgId, query: &EventQuery, since: DateTime<Utc>) -> Result<Vec<Event>, StoreError> {
        let after = query.after.map_or(0, |c| c.0);
        Ok(self
            .events
            .iter()
            .filter(|e| e.org_id == org && e.seq > after && e.occurred_at >= since && query.wants(&e.event_type))
            .take(query.limit as usize)
            .cloned()
            .collect())
    }

    fn delete_events(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StoreError> {
        let old: Vec<i64> =
            self.events.iter().filter(|e| e.occurred_at < before).map(|e| e.seq).take(limit as usize).collect();
        self.events.retain(|e| !old.contains(&e.seq));
        Ok(old.len())
    }
}
