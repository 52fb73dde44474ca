//! Use cases of a person's own notifications.

use std::sync::Arc;

use super::{Notification, NotificationCursor};
use crate::context::Caller;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::NotificationId;
use crate::pagination::{Page, PageRequest};
use crate::store::Store;
use crate::time::Clock;
use crate::user::sync_user;

/// Why a use case on notifications failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// The caller may not do this.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Use cases of a person's own notifications. Only a person has notifications: an API key
/// is refused (`UserRequired`).
#[derive(Clone)]
pub struct NotificationService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: Store> NotificationService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The caller's notifications: unread first, then read, newest first within each.
    pub fn list(
        &self,
        caller: &Caller,
        page: PageRequest<NotificationCursor>,
    ) -> Result<Page<Notification, NotificationCursor>, NotificationError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let user = sync_user(tx, caller.identity()?, &caller.meta, now)?;
            Ok(tx.list_notifications(user.id, page)?)
        })
    }

    /// Marks one of the caller's notifications read; reading it again changes nothing.
    /// Someone else's notification is not found, whatever its id.
    ///
    /// No audit record: the audit log records changes to an organization, and this changes
    /// only the caller's own inbox, which no one else sees.
    pub fn mark_read(&self, caller: &Caller, id: NotificationId) -> Result<Notification, NotificationError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let user = sync_user(tx, caller.identity()?, &caller.meta, now)?;
            tx.mark_notification_read(user.id, id, now)?
                .ok_or(NotificationError::Access(AccessError::NotFound("notification")))
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;
    use crate::ids::UserId;
    use crate::notification::NotificationKind;
    use crate::testing::{caller, identity, key_caller, InMemoryStore};
    use crate::time::SystemClock;
    use crate::user::sync_user;

    fn service() -> (InMemoryStore, NotificationService<InMemoryStore>) {
        let store = InMemoryStore::default();
        (store.clone(), NotificationService::new(store, Arc::new(SystemClock)))
    }

    fn user_of(store: &InMemoryStore, subject: &str) -> UserId {
        let who = identity(subject, &format!("{subject}@example.com"));
        store.transaction(|tx| sync_user(tx, &who, &crate::context::RequestMeta::default(), Utc::now())).unwrap().id
    }

    /// `count` notifications for `user`, oldest first.
    fn notify(store: &InMemoryStore, user: UserId, count: usize) -> Vec<Notification> {
        let notices: Vec<Notification> = (0..count)
            .map(|n| Notification {
                id: NotificationId::generate(),
                user_id: user,
                org_id: None,
                kind: NotificationKind::MfaReminder,
                title: format!("notice {n}"),
                body: String::new(),
                created_at: Utc::now(),
                read_at: None,
            })
            .collect();
        store.transaction(|tx| tx.insert_notifications(&notices)).unwrap();
        notices
    }

    fn titles(page: &Page<Notification, NotificationCursor>) -> Vec<&str> {
        page.items.iter().map(|n| n.title.as_str()).collect()
    }

    #[test]
    fn unread_come_first_then_read_newest_first_within_each_across_pages() {
        let (store, notifications) = service();
        let ada = user_of(&store, "ada");
        let sent = notify(&store, ada, 5);
        for n in [&sent[1], &sent[3]] {
            notifications.mark_read(&caller("ada"), n.id).unwrap();
        }
        let mut seen = Vec::new();
        let mut page = PageRequest { limit: 2, after: None };
        loop {
            let got = notifications.list(&caller("ada"), page).unwrap();
            seen.extend(titles(&got).into_iter().map(str::to_owned));
            match got.next_after {
                Some(after) => page.after = Some(after),
                None => break,
            }
        }
        assert_eq!(seen, ["notice 4", "notice 2", "notice 0", "notice 3", "notice 1"]);
    }

    #[test]
    fn a_page_continues_in_its_phase_even_when_read_ones_have_newer_ids() {
        let (store, notifications) = service();
        let ada = user_of(&store, "ada");
        let sent = notify(&store, ada, 3);
        notifications.mark_read(&caller("ada"), sent[2].id).unwrap();
        let first = notifications.list(&caller("ada"), PageRequest { limit: 1, after: None }).unwrap();
        assert_eq!(titles(&first), ["notice 1"]);
        let cursor = first.next_after.unwrap();
        assert!(!cursor.read, "the cursor says the page ended among unread ones");
        let rest = notifications.list(&caller("ada"), PageRequest { limit: 5, after: Some(cursor) }).unwrap();
        assert_eq!(titles(&rest), ["notice 0", "notice 2"]);
    }

    #[test]
    fn marking_read_is_idempotent_and_keeps_the_first_reading() {
        let (store, notifications) = service();
        let ada = user_of(&store, "ada");
        let sent = notify(&store, ada, 1);
        let first = notifications.mark_read(&caller("ada"), sent[0].id).unwrap();
        let read_at = first.read_at.unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let again = notifications.mark_read(&caller("ada"), sent[0].id).unwrap();
        assert_eq!(again.read_at, Some(read_at));
        assert!(read_at <= Utc::now() && read_at > Utc::now() - Duration::minutes(1));
    }

    #[test]
    fn another_persons_notification_is_not_found_and_keys_have_none() {
        let (store, notifications) = service();
        let ada = user_of(&store, "ada");
        let sent = notify(&store, ada, 1);
        assert_eq!(
            notifications.mark_read(&caller("bob"), sent[0].id).unwrap_err(),
            NotificationError::Access(AccessError::NotFound("notification"))
        );
        assert!(notifications.list(&caller("bob"), PageRequest { limit: 10, after: None }).unwrap().items.is_empty());
        assert_eq!(store.state().notifications[&sent[0].id].read_at, None);
        let key = key_caller("orgk_whatever");
        assert_eq!(
            notifications.list(&key, PageRequest { limit: 10, after: None }).unwrap_err(),
            NotificationError::Access(AccessError::UserRequired)
        );
        assert_eq!(
            notifications.mark_read(&key, sent[0].id).unwrap_err(),
            NotificationError::Access(AccessError::UserRequired)
        );
    }
}
