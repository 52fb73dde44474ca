//! The gate: whether one request may enter an organization under its policies.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::document::{canonical_ip, OrgPolicies};
use super::method::SignInMethod;
use crate::verified_domain::DomainName;

/// What a request shows the gate about its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// Who is asking.
    pub presenter: Presenter,
    /// The client's address, as the server trusts it (see `ORGD_TRUST_FORWARDED_FOR`).
    pub client_ip: Option<IpAddr>,
}

/// Who is asking, with what the policies look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presenter {
    /// A person, from the claims of their token.
    Person {
        /// This sign-in proved a second factor.
        mfa: bool,
        /// How the person signed in, when the token says.
        sign_in_method: Option<SignInMethod>,
        /// When the person signed in (`auth_time`); unknown when the token does not say.
        auth_time: Option<DateTime<Utc>>,
        /// Their email address, only when the identity provider verified it: an
        /// unverified address proves nothing about whose domain they belong to.
        verified_email: Option<String>,
    },
    /// A program with an organization API key. Keys are bound by the IP allowlist only:
    /// they have no sign-in, second factor or session.
    ApiKey,
}

/// Why a policy keeps a request out, as the caller is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRefusal {
    /// The request's address is not in the organization's IP allowlist.
    IpNotAllowed {
        /// The address, when known.
        ip: Option<IpAddr>,
    },
    /// The organization enforces 2FA and this sign-in did not prove a second factor (or
    /// proved it longer ago than the policy allows, when `stale`).
    MfaRequired {
        /// When the grace period ended, if there was one.
        grace_ended_at: Option<DateTime<Utc>>,
        /// A second factor was proved, but longer ago than the policy allows.
        stale: bool,
    },
    /// The person signed in with a method the organization does not allow.
    SignInMethodNotAllowed {
        /// The method used, when the token says.
        method: Option<SignInMethod>,
        /// The methods the organization allows.
        allowed: Vec<SignInMethod>,
    },
    /// The person signed in longer ago than the organization allows.
    SessionTooOld {
        /// The longest time allowed since signing in, in seconds.
        max_age_secs: i64,
    },
    /// The person's verified email is in a verified domain of the organization, which
    /// enforces its SSO, and they signed in some other way.
    SsoRequired {
        /// The verified domain of the person's email.
        domain: DomainName,
    },
}

impl PolicyRefusal {
    /// The stable problem code.
    pub const fn code(&self) -> &'static str {
        match self {
            PolicyRefusal::IpNotAllowed { .. } => "ip_not_allowed",
            PolicyRefusal::MfaRequired { .. } => "mfa_required",
            PolicyRefusal::SignInMethodNotAllowed { .. } => "sign_in_method_not_allowed",
            PolicyRefusal::SessionTooOld { .. } => "session_too_old",
            PolicyRefusal::SsoRequired { .. } => "sso_required",
        }
    }

    /// The policy that refused.
    pub const fn policy(&self) -> &'static str {
        match self {
            PolicyRefusal::IpNotAllowed { .. } | PolicyRefusal::SessionTooOld { .. } => "security-policy",
            PolicyRefusal::MfaRequired { stale: true, .. } => "security-policy",
            PolicyRefusal::MfaRequired { .. } => "mfa",
            PolicyRefusal::SignInMethodNotAllowed { .. } => "sign-in-methods",
            PolicyRefusal::SsoRequired { .. } => "sso",
        }
    }

    /// What to do about it, for people.
    pub fn detail(&self) -> String {
        match self {
            PolicyRefusal::IpNotAllowed { ip: Some(ip) } => {
                format!("this organization admits requests only from its IP allowlist, which does not include {ip}")
            }
            PolicyRefusal::IpNotAllowed { ip: None } => {
                "this organization admits requests only from its IP allowlist, and the client address is unknown"
                    .to_owned()
            }
            PolicyRefusal::MfaRequired { stale: true, .. } => {
                "this organization requires a recent second factor: sign in again with 2FA".to_owned()
            }
            PolicyRefusal::MfaRequired { grace_ended_at: Some(at), .. } => format!(
                "this organization requires two-factor authentication since its grace period ended at {}: enrol a \
                 second factor and sign in with it",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            PolicyRefusal::MfaRequired { .. } => {
                "this organization requires two-factor authentication: enrol a second factor and sign in with it"
                    .to_owned()
            }
            PolicyRefusal::SignInMethodNotAllowed { allowed, .. } => {
                let names: Vec<_> = allowed.iter().map(|m| m.as_str()).collect();
                format!("this organization allows signing in only with: {}", names.join(", "))
            }
            PolicyRefusal::SessionTooOld { max_age_secs } => {
                format!(
                    "this organization requires having signed in within the last {max_age_secs} seconds: sign in again"
                )
            }
            PolicyRefusal::SsoRequired { domain } => format!(
                "people with an email address at {domain} must sign in to this organization through its single \
                 sign-on: sign in again with SSO"
            ),
        }
    }
}

impl OrgPolicies {
    /// The gate: the first policy this request breaks, if any. Checked on every way into
    /// the organization.
    pub fn admit(&self, who: &Presented, now: DateTime<Utc>) -> Result<(), PolicyRefusal> {
        match self.refusals(who, now).into_iter().next() {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        }
    }

    /// Every policy this request breaks, most fundamental first.
    pub fn refusals(&self, who: &Presented, now: DateTime<Utc>) -> Vec<PolicyRefusal> {
        let mut refused = Vec::new();
        let security = &self.security.policy;
        if !security.allows_ip(who.client_ip) {
            refused.push(PolicyRefusal::IpNotAllowed { ip: who.client_ip.map(canonical_ip) });
        }
        let Presenter::Person { mfa, sign_in_method, auth_time, verified_email } = &who.presenter else {
            return refused;
        };
        let sign_in = &self.sign_in.policy;
        if !sign_in.allows(*sign_in_method) {
            refused.push(PolicyRefusal::SignInMethodNotAllowed {
                method: *sign_in_method,
                allowed: sign_in.allowed.iter().copied().collect(),
            });
        }
        if *sign_in_method != Some(SignInMethod::Sso) {
            if let Some(domain) = self.sso_domain_of(verified_email.as_deref()) {
                refused.push(PolicyRefusal::SsoRequired { domain });
            }
        }
        let age = |max: chrono::Duration| auth_time.is_none_or(|at| now - at > max);
        let mfa_policy = &self.mfa.policy;
        if mfa_policy.requires_mfa_at(now) && !mfa {
            refused.push(PolicyRefusal::MfaRequired { grace_ended_at: mfa_policy.grace_until, stale: false });
        } else if security.mfa_max_age.is_some_and(|max| !mfa || age(max)) {
            refused.push(PolicyRefusal::MfaRequired { grace_ended_at: None, stale: true });
        }
        if let Some(max) = security.max_session_age.filter(|max| age(*max)) {
            refused.push(PolicyRefusal::SessionTooOld { max_age_secs: max.num_seconds() });
        }
        refused
    }

    /// The SSO-enforced domain this verified address is in, if any. Parsed only when some
    /// domain is enforced, so the common request pays nothing for it.
    fn sso_domain_of(&self, verified_email: Option<&str>) -> Option<DomainName> {
        if self.sso_domains.is_empty() {
            return None;
        }
        let domain = DomainName::of_address(verified_email?)?;
        self.sso_domains.contains(&domain).then_some(domain)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::policy::document::{MfaPolicy, SecurityPolicy, SignInPolicy, Versioned};

    fn person(mfa: bool, method: Option<SignInMethod>, signed_in_ago: Option<i64>, ip: &str) -> Presented {
        let now = Utc::now();
        Presented {
            presenter: Presenter::Person {
                mfa,
                sign_in_method: method,
                auth_time: signed_in_ago.map(|s| now - Duration::seconds(s)),
                verified_email: None,
            },
            client_ip: ip.parse().ok(),
        }
    }

    fn with_email(mut who: Presented, email: &str) -> Presented {
        if let Presenter::Person { verified_email, .. } = &mut who.presenter {
            *verified_email = Some(email.to_owned());
        }
        who
    }

    fn policies(mfa: MfaPolicy, sign_in: &[&str], security: SecurityPolicy) -> OrgPolicies {
        let methods: Vec<String> = sign_in.iter().map(|m| (*m).to_owned()).collect();
        OrgPolicies {
            mfa: Versioned { policy: mfa, ..Default::default() },
            sign_in: Versioned { policy: SignInPolicy::parse(&methods).unwrap(), ..Default::default() },
            security: Versioned { policy: security, ..Default::default() },
            sso_domains: Default::default(),
        }
    }

    #[test]
    fn people_of_an_sso_enforced_domain_must_come_through_sso_and_no_one_else_must() {
        let mut org = policies(MfaPolicy::default(), &[], SecurityPolicy::default());
        org.sso_domains.insert(DomainName::parse("acme.com").unwrap());
        let now = Utc::now();
        let password = person(false, Some(SignInMethod::Password), Some(10), "198.51.100.1");
        let sso = person(false, Some(SignInMethod::Sso), Some(10), "198.51.100.1");
        let refused = org.admit(&with_email(password.clone(), "Alice@ACME.com"), now).unwrap_err();
        assert_eq!((refused.code(), refused.policy()), ("sso_required", "sso"));
        assert!(refused.detail().contains("acme.com"), "{}", refused.detail());
        assert_eq!(org.admit(&with_email(sso, "alice@acme.com"), now), Ok(()));
        // A contractor from elsewhere, a subdomain, an unknown method and no verified email.
        assert_eq!(org.admit(&with_email(password.clone(), "bob@contractor.io"), now), Ok(()));
        assert_eq!(org.admit(&with_email(password.clone(), "eve@eng.acme.com"), now), Ok(()));
        assert_eq!(org.admit(&password, now), Ok(()), "an unverified address proves nothing");
        let unknown = person(false, None, Some(10), "198.51.100.1");
        assert_eq!(codes(org.refusals(&with_email(unknown, "a@acme.com"), now)), vec!["sso_required"]);
        assert_eq!(org.admit(&Presented { presenter: Presenter::ApiKey, client_ip: None }, now), Ok(()));
    }

    fn codes(refusals: Vec<PolicyRefusal>) -> Vec<&'static str> {
        refusals.iter().map(PolicyRefusal::code).collect()
    }

    #[test]
    fn no_policy_admits_everyone() {
        let open = OrgPolicies::default();
        assert_eq!(open.admit(&person(false, None, None, "nonsense"), Utc::now()), Ok(()));
    }

    #[test]
    fn each_policy_refuses_with_its_own_code() {
        let now = Utc::now();
        let list = |cidrs: &[&str]| {
            SecurityPolicy::parse(&cidrs.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>(), Some(3_600), None)
                .unwrap()
        };
        let strict = policies(MfaPolicy { enforced: true, grace_until: None }, &["sso"], list(&["2001:db8::/32"]));
        let pwd = Some(SignInMethod::Password);
        assert_eq!(
            codes(strict.refusals(&person(false, pwd, Some(7_200), "2001:db9::1"), now)),
            vec!["ip_not_allowed", "sign_in_method_not_allowed", "mfa_required", "session_too_old"]
        );
        assert_eq!(strict.admit(&person(true, Some(SignInMethod::Sso), Some(60), "2001:db8::1"), now), Ok(()));
        let key = Presented { presenter: Presenter::ApiKey, client_ip: "2001:db8::7".parse().ok() };
        assert_eq!(strict.admit(&key, now), Ok(()), "keys answer to the IP allowlist only");
        let outside_key = Presented { presenter: Presenter::ApiKey, client_ip: "192.0.2.1".parse().ok() };
        assert_eq!(codes(strict.refusals(&outside_key, now)), vec!["ip_not_allowed"]);
        assert_eq!(
            codes(strict.refusals(&person(true, Some(SignInMethod::Sso), None, "2001:db8::1"), now)),
            vec!["session_too_old"],
            "an unknown sign-in time is not fresh"
        );
    }

    #[test]
    fn a_grace_period_admits_until_it_ends_and_the_refusal_names_it() {
        let now = Utc::now();
        let end = now + Duration::days(3);
        let graced = policies(MfaPolicy { enforced: true, grace_until: Some(end) }, &[], SecurityPolicy::default());
        let without = person(false, None, None, "192.0.2.1");
        assert_eq!(graced.admit(&without, now), Ok(()));
        assert_eq!(
            graced.admit(&without, end),
            Err(PolicyRefusal::MfaRequired { grace_ended_at: Some(end), stale: false })
        );
    }

    #[test]
    fn mfa_recency_needs_a_recent_second_factor() {
        let now = Utc::now();
        let security = SecurityPolicy::parse(&[], None, Some(600)).unwrap();
        let fresh = policies(MfaPolicy::default(), &[], security);
        assert_eq!(fresh.admit(&person(true, None, Some(60), "192.0.2.1"), now), Ok(()));
        let stale = fresh.admit(&person(true, None, Some(3_600), "192.0.2.1"), now);
        assert_eq!(stale, Err(PolicyRefusal::MfaRequired { grace_ended_at: None, stale: true }));
        assert!(fresh.admit(&person(false, None, Some(60), "192.0.2.1"), now).is_err());
    }
}
