//! Who is calling, and from where.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::policy::{Presented, Presenter, SignInMethod};

/// The identity an identity provider vouched for (the verified claims of a bearer JWT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's stable subject (`sub`).
    pub subject: String,
    /// The person's email address, as the provider states it.
    pub email: Option<String>,
    /// True when the provider verified the email (`email_verified`).
    pub email_verified: bool,
    /// The person's display name.
    pub name: Option<String>,
    /// Authentication methods (`amr`, RFC 8176), e.g. `pwd`, `otp`, `mfa`, `hwk`.
    pub auth_methods: Vec<String>,
    /// When the person signed in (`auth_time`); unknown when the token does not say.
    pub auth_time: Option<DateTime<Utc>>,
    /// How the person signed in: the provider's sign-in-method claim, else `amr`.
    pub sign_in_method: Option<SignInMethod>,
    /// The platform-staff role the token's (trusted) staff claim gives; `None` for everyone
    /// else.
    pub staff: Option<crate::platform::StaffRole>,
}

impl Identity {
    /// RFC 8176 methods of possession or inherence: a second factor beside a password.
    const MFA_METHODS: &'static [&'static str] =
        &["mfa", "otp", "hwk", "swk", "sms", "tel", "fido", "sc", "fpt", "face"];
    /// Methods that prove two factors on their own: the provider's own `mfa` statement, and
    /// hardware keys and smart cards, which need the device and a PIN or biometric.
    const MULTI_FACTOR: &'static [&'static str] = &["mfa", "hwk", "fido", "sc"];
    /// Knowledge factors.
    const KNOWLEDGE: &'static [&'static str] = &["pwd", "pin", "kba"];

    /// This sign-in proved more than one factor: a multi-factor method, or a knowledge
    /// factor together with a possession or inherence one. A one-time code alone (a
    /// passwordless email or SMS sign-in) is a single factor.
    pub fn used_mfa(&self) -> bool {
        let has = |names: &[&str]| self.auth_methods.iter().any(|m| names.contains(&m.as_str()));
        has(Self::MULTI_FACTOR) || (has(Self::KNOWLEDGE) && has(Self::MFA_METHODS))
    }

    /// The named second-factor methods of this sign-in (not the generic `mfa` marker).
    pub fn second_factors(&self) -> impl Iterator<Item = &str> {
        self.auth_methods.iter().map(String::as_str).filter(|m| *m != "mfa" && Self::MFA_METHODS.contains(m))
    }
}

/// Facts about the HTTP request a use case runs for; recorded with every audit event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestMeta {
    /// The request's id, also sent back as `X-Request-Id`; empty outside a request.
    pub request_id: String,
    /// The client's address, as the server trusts it.
    pub client_ip: Option<IpAddr>,
    /// The client's `User-Agent`, when sent.
    pub user_agent: Option<String>,
    /// The route pattern and method, e.g. `GET /v1/orgs/{org}/members`: what platform staff
    /// looked at, for the record of their access.
    pub route: Option<String>,
}

/// An organization API key as presented: its keyed hash, computed by the adapter that
/// holds the key. Whether it exists, is revoked or expired is decided in the use case's
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyCredential {
    /// The keyed hashes of the presented secret.
    pub hashes: crate::token::LookupHashes,
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
    /// Who is calling.
    pub principal: Principal,
    /// The request the call came in.
    pub meta: RequestMeta,
}

impl Caller {
    /// A person, vouched for by their identity provider.
    pub fn user(identity: Identity, meta: RequestMeta) -> Self {
        Self { principal: Principal::User(identity), meta }
    }

    /// What the caller shows an organization's policy gate.
    pub fn presented(&self) -> Presented {
        let presenter = match &self.principal {
            Principal::User(identity) => Presenter::Person {
                mfa: identity.used_mfa(),
                sign_in_method: identity.sign_in_method,
                auth_time: identity.auth_time,
                verified_email: identity.email.clone().filter(|_| identity.email_verified),
            },
            Principal::ApiKey(_) => Presenter::ApiKey,
        };
        Presented { presenter, client_ip: self.meta.client_ip }
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
            sign_in_method: None,
            staff: None,
        }
    }

    #[test]
    fn mfa_is_read_from_the_authentication_methods() {
        assert!(!identity(&["pwd"]).used_mfa());
        assert!(identity(&["pwd", "otp"]).used_mfa());
        assert!(identity(&["hwk"]).used_mfa());
        assert!(identity(&["mfa"]).used_mfa());
        assert!(!identity(&[]).used_mfa());
        assert!(!identity(&["otp"]).used_mfa(), "a one-time code alone is one factor");
        assert!(!identity(&["sms"]).used_mfa());
        assert!(!identity(&["swk"]).used_mfa(), "a synced passkey alone is not counted as two factors");
    }
}
