//! The caller's own notifications: `/v1/me/notifications`.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::ids::NotificationId;
use orgd_domain::notification::{Notification, NotificationCursor, NotificationError};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::common::{page, path_id, PageParams};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::Errors;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_notifications).service(mark_notification_read);
}

/// An in-app notice for the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationResponse {
    #[schema(example = "ntf_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    /// What it is about: `mfa_reminder` (an organization asks the person to set up a
    /// second factor). More kinds will come; show unknown ones by their title and body.
    #[schema(example = "mfa_reminder")]
    pub kind: &'static str,
    /// The organization it comes from, if any.
    pub org_id: Option<String>,
    /// Plain text: escape it like any other text.
    #[schema(example = "Turn on two-factor authentication")]
    pub title: String,
    /// Plain text: escape it like any other text.
    #[schema(
        example = "Acme, Inc. requires two-factor authentication from 2026-03-09. Set it up at your identity provider."
    )]
    pub body: String,
    #[schema(example = crate::openapi::example::at)]
    pub created_at: DateTime<Utc>,
    /// `null` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

impl From<Notification> for NotificationResponse {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id.to_string(),
            kind: n.kind.as_str(),
            org_id: n.org_id.map(|o| o.to_string()),
            title: n.title,
            body: n.body,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

page! {
    /// A page of the caller's notifications.
    NotificationPage of NotificationResponse
}

/// The caller's notifications: unread ones first, then read ones, newest first within
/// each. A person's only; an API key gets 403 `user_required`.
#[utoipa::path(
    tag = "notifications",
    params(PageParams<NotificationCursor>),
    responses((status = 200, body = NotificationPage), Errors<NotificationError>)
)]
#[get("/me/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    caller: Authenticated,
    page: PageParams<NotificationCursor>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request();
    let notifications = state.run(move |s| s.notifications.list(&caller.0, page)).await?;
    Ok(HttpResponse::Ok().json(NotificationPage::of(notifications, NotificationResponse::from)))
}

/// Mark one of the caller's notifications read. Marking it again changes nothing (the
/// first `read_at` stays); anyone else's notification is 404.
#[utoipa::path(
    tag = "notifications",
    params(("notification" = String, Path, description = "Notification id (`ntf_…`).")),
    responses((status = 200, body = NotificationResponse), Errors<NotificationError>)
)]
#[post("/me/notifications/{notification}/read")]
pub async fn mark_notification_read(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: NotificationId = path_id(&path, "notification")?;
    let notification = state.run(move |s| s.notifications.mark_read(&caller.0, id)).await?;
    Ok(HttpResponse::Ok().json(NotificationResponse::from(notification)))
}
