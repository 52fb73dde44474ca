//! Delivering the outbox over SMTP, in a background worker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::Connection;
use lettre::message::{Mailbox, MultiPart};
use lettre::{Message, SmtpTransport, Transport};
use uuid::Uuid;

use crate::postgres::outbox::deliver_due;

/// An email as read back from the outbox.
#[derive(Debug, Clone)]
pub struct QueuedEmail {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Something that sends one email; an error says why it could not.
pub trait MailTransport: Send + Sync {
    fn send(&self, email: &QueuedEmail) -> Result<(), String>;
}

/// SMTP through lettre.
pub struct SmtpMailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl SmtpMailer {
    /// `url` like `smtp://host:25`, `smtp://user:pass@host:587?tls=required` or
    /// `smtps://host:465`; `from` like `Acme <no-reply@acme.com>`.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let from = from.parse::<Mailbox>().map_err(|e| format!("not a sender address ({e})"))?;
        let transport = SmtpTransport::from_url(url)
            .map_err(|e| format!("not an SMTP URL ({e})"))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        Ok(Self { transport, from })
    }
}

impl MailTransport for SmtpMailer {
    fn send(&self, email: &QueuedEmail) -> Result<(), String> {
        let to = email.recipient.parse::<Mailbox>().map_err(|e| format!("bad recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{}@orgd>", email.id)))
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport.send(&message).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub poll_interval: Duration,
    pub batch: i64,
    /// How long a claimed email is reserved for its worker; past it, another may retry.
    pub lease: Duration,
    /// After this many failed attempts an email is marked dead.
    pub max_attempts: i32,
    pub retry_base: Duration,
    pub retry_max: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        // Backoff 5 s, 10 s, … capped at an hour: 20 attempts span about twelve hours.
        Self {
            poll_interval: Duration::from_secs(1),
            batch: 10,
            lease: Duration::from_secs(600),
            max_attempts: 20,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
        }
    }
}

impl DeliverySettings {
    /// Exponential: base, 2×base, 4×base, … capped at `retry_max`.
    pub fn backoff(&self, attempts: i32) -> chrono::Duration {
        let factor = 2u32.saturating_pow(u32::try_from(attempts.saturating_sub(1)).unwrap_or(0));
        let wait = self.retry_base.saturating_mul(factor).min(self.retry_max);
        chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
    }
}

/// A running delivery worker; stops when dropped.
pub struct OutboxWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl OutboxWorker {
    /// Starts delivering `database_url`'s outbox through `transport`.
    pub fn spawn(
        database_url: String,
        transport: Box<dyn MailTransport>,
        settings: DeliverySettings,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("outbox".into()).spawn(move || {
            let mut conn: Option<PgConnection> = None;
            while !stopping.load(Ordering::Relaxed) {
                let handled = match conn.as_mut() {
                    Some(c) => match deliver_due(c, transport.as_ref(), &settings, &stopping) {
                        Ok(round) => round.handled(),
                        Err(error) => {
                            tracing::warn!(%error, "outbox round failed; reconnecting");
                            conn = None;
                            0
                        }
                    },
                    None => {
                        conn = PgConnection::establish(&database_url)
                            .map_err(|e| tracing::warn!(error = %e, "outbox cannot reach the database"))
                            .ok();
                        0
                    }
                };
                if handled == 0 {
                    std::thread::sleep(settings.poll_interval);
                }
            }
        })?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

impl Drop for OutboxWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = DeliverySettings {
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(60),
            ..Default::default()
        };
        let secs: Vec<i64> = (1..=6).map(|n| s.backoff(n).num_seconds()).collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 60, 60]);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(SmtpMailer::new("smtp://127.0.0.1:2525", "orgd <no-reply@example.com>").is_ok());
        assert!(SmtpMailer::new("http://x", "a@b.c").is_err());
        assert!(SmtpMailer::new("smtp://127.0.0.1:2525", "not an address").is_err());
    }
}
