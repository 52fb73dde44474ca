//! In-app notices for one person (2FA reminders, join decisions, spend postures), listed unread first, and marked
//! read by that person alone.

mod service;

use std::cmp::{Ordering, Reverse};

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::ids::{NotificationId, OrgId, UserId};
use crate::pagination::{Page, PageRequest};

pub use service::{NotificationError, NotificationService};

/// What a notification is about; clients may branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// An organization asks the person to set up a second factor.
    MfaReminder,
    /// An admin approved the person's request to join an organization.
    JoinRequestApproved,
    /// An admin declined it.
    JoinRequestDenied,
    /// The organization's spend reached a posture its owners are told of.
    SpendPosture,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 4] = [
        NotificationKind::MfaReminder,
        NotificationKind::JoinRequestApproved,
        NotificationKind::JoinRequestDenied,
        NotificationKind::SpendPosture,
    ];

    /// The name the HTTP API gives the kind, e.g. `mfa_reminder`.
    pub const fn as_str(self) -> &'static str {
        match self {
            NotificationKind::MfaReminder => "mfa_reminder",
            NotificationKind::JoinRequestApproved => "join_request_approved",
            NotificationKind::JoinRequestDenied => "join_request_denied",
            NotificationKind::SpendPosture => "spend_posture",
        }
    }

    /// Reads back a name [`NotificationKind::as_str`] gives; `None` for any other text.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

/// One notice for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notice's public id.
    pub id: NotificationId,
    /// The person it is for.
    pub user_id: UserId,
    /// The organization it comes from, if any.
    pub org_id: Option<OrgId>,
    /// What it is about.
    pub kind: NotificationKind,
    /// Plain text; clients escape it like any other text.
    pub title: String,
    /// Plain text; clients escape it like any other text.
    pub body: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the person marked it read; `None` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// Where this notification sits in its person's list.
    pub fn position(&self) -> NotificationCursor {
        NotificationCursor { read: self.read_at.is_some(), id: self.id }
    }
}

/// A position in a person's notifications, which list unread ones first, then read ones,
/// newest first within each. It holds the phase as well as the id: ids alone do not order
/// the list, so a cursor of only an id could not tell where a page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationCursor {
    /// The phase: unread notices come first, then read ones.
    pub read: bool,
    /// The last notice seen in that phase.
    pub id: NotificationId,
}

impl NotificationCursor {
    fn key(&self) -> (bool, Reverse<NotificationId>) {
        (self.read, Reverse(self.id))
    }
}

/// Listing order: a position is less than those listed after it.
impl Ord for NotificationCursor {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for NotificationCursor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The port notifications are stored through. Every read and write is scoped by person.
pub trait NotificationRepository {
    /// Stores new notices.
    fn insert_notifications(&mut self, notifications: &[Notification]) -> Result<(), StoreError>;

    /// The person's notifications in listing order ([`NotificationCursor`]), after
    /// `page.after`.
    fn list_notifications(
        &mut self,
        user: UserId,
        page: PageRequest<NotificationCursor>,
    ) -> Result<Page<Notification, NotificationCursor>, StoreError>;

    /// Marks the person's notification read at `at`, unless it was read already (the first
    /// reading is kept); `None` when the person has no notification with this id.
    fn mark_notification_read(
        &mut self,
        user: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<Option<Notification>, StoreError>;
}
