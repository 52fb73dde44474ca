//! How a person signed in, as organizations restrict it.

use std::fmt;

use crate::error::ValueError;

/// A way of signing in an organization can allow or refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignInMethod {
    /// A password (`password`).
    Password,
    /// A passkey (`passkey`).
    Passkey,
    /// A link sent by email (`magic_link`).
    MagicLink,
    /// Google (`google`).
    Google,
    /// Microsoft (`microsoft`).
    Microsoft,
    /// GitHub (`github`).
    Github,
    /// Apple (`apple`).
    Apple,
    /// The organization's own SAML or OIDC identity provider.
    Sso,
}

impl SignInMethod {
    /// Every method.
    pub const ALL: &'static [SignInMethod] = &[
        SignInMethod::Password,
        SignInMethod::Passkey,
        SignInMethod::MagicLink,
        SignInMethod::Google,
        SignInMethod::Microsoft,
        SignInMethod::Github,
        SignInMethod::Apple,
        SignInMethod::Sso,
    ];

    /// The name the HTTP API gives the method, e.g. `magic_link`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Passkey => "passkey",
            SignInMethod::MagicLink => "magic_link",
            SignInMethod::Google => "google",
            SignInMethod::Microsoft => "microsoft",
            SignInMethod::Github => "github",
            SignInMethod::Apple => "apple",
            SignInMethod::Sso => "sso",
        }
    }

    /// Reads back a name [`SignInMethod::as_str`] gives, or says which names exist.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        Self::ALL.iter().copied().find(|m| m.as_str() == value).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|m| m.as_str()).collect();
            ValueError::new("unknown_sign_in_method", format!("one of {}", names.join(", ")))
        })
    }

    /// The method of one sign-in: the identity provider's own claim when it names one
    /// (social and enterprise connections are told apart only there), else what the
    /// RFC 8176 `amr` methods imply. `None` when neither says.
    pub fn from_claims(claim: Option<&str>, amr: &[String]) -> Option<Self> {
        if let Some(method) = claim.and_then(|c| Self::parse(&c.trim().to_ascii_lowercase()).ok()) {
            return Some(method);
        }
        // A federated sign-in may also list the upstream password, so it is looked for first.
        let has = |name: &str| amr.iter().any(|m| m == name);
        if has("fed") {
            Some(SignInMethod::Sso)
        } else if has("hwk") || has("swk") {
            Some(SignInMethod::Passkey)
        } else if has("pwd") {
            Some(SignInMethod::Password)
        } else {
            None
        }
    }
}

impl fmt::Display for SignInMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amr(methods: &[&str]) -> Vec<String> {
        methods.iter().map(|m| (*m).to_owned()).collect()
    }

    #[test]
    fn the_claim_wins_then_amr_decides() {
        assert_eq!(SignInMethod::from_claims(Some("Google"), &amr(&["pwd"])), Some(SignInMethod::Google));
        assert_eq!(SignInMethod::from_claims(Some("carrier-pigeon"), &amr(&["pwd"])), Some(SignInMethod::Password));
        assert_eq!(SignInMethod::from_claims(None, &amr(&["pwd", "fed"])), Some(SignInMethod::Sso));
        assert_eq!(SignInMethod::from_claims(None, &amr(&["hwk", "mfa"])), Some(SignInMethod::Passkey));
        assert_eq!(SignInMethod::from_claims(None, &amr(&["otp"])), None);
    }

    #[test]
    fn names_round_trip() {
        for method in SignInMethod::ALL {
            assert_eq!(SignInMethod::parse(method.as_str()), Ok(*method));
        }
        assert!(SignInMethod::parse("PASSWORD").is_err());
    }
}
