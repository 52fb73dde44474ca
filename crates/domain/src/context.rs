//! Who is calling, and from where.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

/// The identity an identity provider vouched for (the verified claims of a bearer JWT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's stable subject (`sub`).
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// Authentication methods (`amr`, RFC 8176), e.g. `pwd`, `otp`, `mfa`, `hwk`.
    pub auth_methods: Vec<String>,
    pub auth_time: Option<DateTime<Utc>>,
    /// The platform-staff claim was set.
    pub staff: bool,
}

impl Identity {
    /// RFC 8176 methods that prove a second factor (or a phishing-resistant first one).
    const MFA_METHODS: &'static [&'static str] = &["mfa", "otp", "hwk", "swk", "sms", "fido", "sc"];

    pub fn used_mfa(&self) -> bool {
        self.auth_methods.iter().any(|m| Self::MFA_METHODS.contains(&m.as_str()))
    }
}

/// Facts about the HTTP request a use case runs for; recorded with every audit event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestMeta {
    pub request_id: String,
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// The authenticated caller of a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub identity: Identity,
    pub meta: RequestMeta,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(methods: &[&str]) -> Identity {
        Identity {
            subject: "s".into(),
            email: None,
            email_verified: false,
            name: None,
            auth_methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            auth_time: None,
            staff: false,
        }
    }

    #[test]
    fn mfa_is_read_from_the_authentication_methods() {
        assert!(!identity(&["pwd"]).used_mfa());
        assert!(identity(&["pwd", "otp"]).used_mfa());
        assert!(identity(&["hwk"]).used_mfa());
        assert!(!identity(&[]).used_mfa());
    }
}
