use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::ids::{NotificationId, OrgId, UserId};
use orgd_domain::notification::{Notification, NotificationCursor, NotificationKind, NotificationRepository};
use orgd_domain::pagination::{Page, PageRequest};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::notifications;
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications, check_for_backend(diesel::pg::Pg))]
struct NotificationRow {
    id: Uuid,
    user_id: Uuid,
    org_id: Option<Uuid>,
    kind: String,
    title: String,
    body: String,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

impl From<&Notification> for NotificationRow {
    fn from(n: &Notification) -> Self {
        Self {
            id: n.id.as_uuid(),
            user_id: n.user_id.as_uuid(),
            org_id: n.org_id.map(|o| o.as_uuid()),
            kind: n.kind.as_str().to_owned(),
            title: n.title.clone(),
            body: n.body.clone(),
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;

    fn try_from(row: NotificationRow) -> Result<Self, Self::Error> {
        Ok(Notification {
            id: NotificationId::from_uuid(row.id),
            user_id: UserId::from_uuid(row.user_id),
            org_id: row.org_id.map(OrgId::from_uuid),
            kind: NotificationKind::parse(&row.kind)
                .ok_or_else(|| corrupt("notifications", format!("unknown kind `{}`", row.kind)))?,
            title: row.title,
            body: row.body,
            created_at: row.created_at,
            read_at: row.read_at,
        })
    }
}

impl PgTx<'_> {
    /// The person's unread or read notifications, newest first, older than `before`.
    fn notification_rows(
        &mut self,
        user: UserId,
        read: bool,
        before: Option<NotificationId>,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let flag = notifications::read_at.is_not_null();
        let mut query = notifications::table.filter(notifications::user_id.eq(user.as_uuid())).into_boxed();
        // PostgreSQL rewrites `flag = false` as `read_at IS NULL`, which no longer matches the
        // index expression; `flag < true` selects the same rows and stays an index condition.
        query = if read { query.filter(flag.eq(true)) } else { query.filter(flag.lt(true)) };
        if let Some(before) = before {
            query = query.filter(notifications::id.lt(before.as_uuid()));
        }
        query
            .order(notifications::id.desc())
            .limit(limit)
            .select(NotificationRow::as_select())
            .load(self.conn)
            .map_err(store_error)
    }
}

/// Rows per INSERT: well under PostgreSQL's 65,535 bind parameters at 8 a row.
const INSERT_CHUNK: usize = 1_000;

impl NotificationRepository for PgTx<'_> {
    fn insert_notifications(&mut self, notifications: &[Notification]) -> Result<(), StoreError> {
        for chunk in notifications.chunks(INSERT_CHUNK) {
            let rows: Vec<NotificationRow> = chunk.iter().map(NotificationRow::from).collect();
            diesel::insert_into(notifications::table).values(&rows).execute(self.conn).map_err(store_error)?;
        }
        Ok(())
    }

    /// Reads the rest of the cursor's phase, then, when the cursor was among unread ones
    /// and the page is not full, read ones from the newest: each is one range of
    /// `notifications_user_page` (user, read, id DESC), however deep the page.
    fn list_notifications(
        &mut self,
        user: UserId,
        page: PageRequest<NotificationCursor>,
    ) -> Result<Page<Notification, NotificationCursor>, StoreError> {
        let limit = page.fetch_limit();
        let in_read_phase = page.after.is_some_and(|after| after.read);
        let mut rows = Vec::new();
        if !in_read_phase {
            rows = self.notification_rows(user, false, page.after.map(|after| after.id), limit)?;
        }
        let missing = limit - i64::try_from(rows.len()).unwrap_or(limit);
        if missing > 0 {
            let before = page.after.filter(|after| after.read).map(|after| after.id);
            rows.extend(self.notification_rows(user, true, before, missing)?);
        }
        let items = rows.into_iter().map(Notification::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page, Notification::position))
    }

    fn mark_notification_read(
        &mut self,
        user: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<Option<Notification>, StoreError> {
        let mine = notifications::table
            .filter(notifications::id.eq(id.as_uuid()))
            .filter(notifications::user_id.eq(user.as_uuid()));
        prepared(diesel::update(mine.filter(notifications::read_at.is_null())).set(notifications::read_at.eq(at)))
            .execute(self.conn)
            .map_err(store_error)?;
        let row = mine.select(NotificationRow::as_select()).first(self.conn).optional().map_err(store_error)?;
        row.map(Notification::try_from).transpose()
    }
}
