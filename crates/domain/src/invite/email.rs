//! The invitation email: plain text and HTML, every user-supplied value escaped.

use chrono::{DateTime, Utc};
use html_escape::encode_text;

use crate::mail::{html_page, one_line, EmailContent};

/// What the email says.
pub type InviteEmail = EmailContent;

/// The email inviting someone to `org` as `role`, from `inviter` (when known), with the link
/// to accept and when it expires.
pub fn render_invite_email(
    org: &str,
    inviter: Option<&str>,
    role: &str,
    accept_url: &str,
    expires_at: DateTime<Utc>,
) -> InviteEmail {
    let org = one_line(org, 100);
    let inviter = inviter.map(|i| one_line(i, 100)).unwrap_or_else(|| "A member".to_owned());
    let expires = expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let subject = format!("{inviter} invited you to join {org}");
    let text = format!(
        "{inviter} invited you to join {org} as {role}.\n\nAccept the invitation:\n{accept_url}\n\n\
         The invitation expires on {expires}. If you did not expect it, ignore this email.\n"
    );
    let html = html_page(&format!(
        "<p><strong>{inviter}</strong> invited you to join <strong>{org}</strong> as <strong>{role}</strong>.</p>\
         <p><a href=\"{url}\">Accept the invitation</a></p>\
         <p style=\"color:#666\">The invitation expires on {expires}. If you did not expect it, ignore this email.</p>",
        inviter = encode_text(&inviter),
        org = encode_text(&org),
        role = encode_text(role),
        url = html_escape::encode_double_quoted_attribute(accept_url),
    ));
    InviteEmail { subject, text, html }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_html_and_kept_to_one_line_in_the_subject() {
        let email = render_invite_email(
            "<script>Acme</script>",
            Some("Eve\r\nBcc: all@x"),
            "admin",
            "https://app/invites/t",
            Utc::now(),
        );
        assert!(!email.html.contains("<script>"));
        assert!(email.html.contains("&lt;script&gt;Acme&lt;/script&gt;"));
        assert!(!email.subject.contains('\n') && !email.subject.contains('\r'));
        assert!(email.text.contains("https://app/invites/t"));
        assert!(email.html.contains("href=\"https://app/invites/t\""));
    }
}
