//! What a 2FA reminder says: one text for the in-app notification and the email, with every
//! organization-supplied value escaped in HTML and kept to one line in headers.

use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute, encode_text};

use crate::mail::{html_page, one_line, EmailContent};
use crate::policy::MfaPolicy;

/// The reminder as a person reads it in the product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaReminderText {
    /// The notice's title.
    pub title: String,
    /// The notice's body, plain text.
    pub body: String,
}

impl MfaReminderText {
    /// What `org` asks of its members under `policy` at `now`: a deadline when enforcement
    /// starts later, a requirement when it is on, a request otherwise.
    pub fn new(org: &str, policy: &MfaPolicy, now: DateTime<Utc>) -> Self {
        let org = one_line(org, 100);
        let add = "Add a second factor (an authenticator app or a security key) to the account you sign in with";
        let body = match policy.grace_until.filter(|end| policy.enforced && *end > now) {
            Some(end) => format!(
                "{org} requires two-factor authentication from {}. {add} before then to keep your access.",
                end.format("%Y-%m-%d %H:%M UTC")
            ),
            None if policy.enforced => format!("{org} requires two-factor authentication. {add} to keep your access."),
            None => format!("{org} asks its members to protect their accounts with two-factor authentication. {add}."),
        };
        Self { title: format!("Set up two-factor authentication for {org}"), body }
    }
}

/// The reminder email: the same text, and a link to the product at `app_url`.
pub fn render_mfa_reminder_email(text: &MfaReminderText, app_url: &str) -> EmailContent {
    let MfaReminderText { title, body } = text;
    EmailContent {
        subject: one_line(title, 200),
        text: format!("{body}\n\nOpen {app_url}\n\nYou receive this because you are a member of the organization.\n"),
        html: html_page(&format!(
            "<p>{body}</p><p><a href=\"{url}\">Open {link}</a></p>\
             <p style=\"color:#666\">You receive this because you are a member of the organization.</p>",
            body = encode_text(body),
            url = encode_double_quoted_attribute(app_url),
            link = encode_text(app_url),
        )),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn the_text_follows_the_policy() {
        let now = Utc::now();
        let off = MfaReminderText::new("Acme", &MfaPolicy::default(), now);
        assert!(off.body.starts_with("Acme asks its members"), "{}", off.body);
        let on = MfaReminderText::new("Acme", &MfaPolicy { enforced: true, grace_until: None }, now);
        assert!(on.body.starts_with("Acme requires two-factor authentication."), "{}", on.body);
        let end = now + Duration::days(3);
        let graced = MfaReminderText::new("Acme", &MfaPolicy { enforced: true, grace_until: Some(end) }, now);
        assert!(graced.body.contains(&end.format("%Y-%m-%d %H:%M UTC").to_string()), "{}", graced.body);
        let past = MfaReminderText::new("Acme", &MfaPolicy { enforced: true, grace_until: Some(now) }, now);
        assert_eq!(past.body, on.body, "an ended grace period is plain enforcement");
    }

    #[test]
    fn names_are_escaped_in_html_and_kept_to_one_line_in_the_subject() {
        let text = MfaReminderText::new("<b>Acme</b>\r\nBcc: all@x", &MfaPolicy::default(), Utc::now());
        let email = render_mfa_reminder_email(&text, "https://app.test/?a=1&b=\"2\"");
        assert!(!email.subject.contains(['\r', '\n']));
        assert!(!email.html.contains("<b>Acme"));
        assert!(email.html.contains("&lt;b&gt;Acme&lt;/b&gt;"));
        assert!(email.html.contains("href=\"https://app.test/?a=1&amp;b=&quot;2&quot;\""));
        assert!(email.text.contains("https://app.test/?a=1&b=\"2\""));
    }
}
