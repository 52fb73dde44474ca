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

/// An organization API key as presented: its keyed hash, computed by the adapter that
/// holds the key. Whether it exists, is revoked or expired is decided in the use case's
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyCredential {
    pub lookup_hash: Vec<u8>,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person, vouched for by the identity provider.
    User(Identity),
    /// A program holding an organization API key.
    ApiKey(ApiKeyCredential),
}

/// The authenticated caller of a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    pub meta: RequestMeta,
}

impl Caller {
    pub fn user(identity: Identity, meta: RequestMeta) -> Self {
        Self { principal: Principal::User(identity), meta }
    }

    /// The person calling; API keys are refused for what only a person may do.
    pub fn identity(&self) -> Result<&Identity, crate::AccessError> {
        match &self.principal {
            Principal::User(identity) => Ok(identity),
            Principal::ApiKey(_) => Err(crate::AccessError::UserRequired),
        }
    }
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
