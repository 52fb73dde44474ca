//! The policy documents an organization sets, validated.

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use ipnet::IpNet;

use super::method::SignInMethod;
use crate::error::{FieldError, Invalid};
use crate::verified_domain::DomainName;

/// Org-wide 2FA enforcement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MfaPolicy {
    /// Members must have a second factor.
    pub enforced: bool,
    /// Until then, members without a second factor are still let in (and reminded).
    pub grace_until: Option<DateTime<Utc>>,
}

impl MfaPolicy {
    /// The longest grace period an enforcement may give.
    pub const MAX_GRACE_DAYS: i64 = 90;

    /// Validates a policy: a grace period needs enforcement and ends within
    /// [`MAX_GRACE_DAYS`](Self::MAX_GRACE_DAYS) of `now`.
    pub fn parse(enforced: bool, grace_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<Self, Invalid> {
        match grace_until {
            Some(_) if !enforced => {
                Err(Invalid::field("grace_until", "grace_without_enforcement", "a grace period needs `enforced: true`"))
            }
            Some(at) if at <= now || at > now + Duration::days(Self::MAX_GRACE_DAYS) => Err(Invalid::field(
                "grace_until",
                "out_of_range",
                format!("between now and {} days from now", Self::MAX_GRACE_DAYS),
            )),
            _ => Ok(Self { enforced, grace_until }),
        }
    }

    /// A second factor is required of people at `now`.
    pub fn requires_mfa_at(&self, now: DateTime<Utc>) -> bool {
        self.enforced && self.grace_until.is_none_or(|grace| now >= grace)
    }
}

/// The sign-in methods people may enter the organization with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignInPolicy {
    /// Empty: every method.
    pub allowed: BTreeSet<SignInMethod>,
}

impl SignInPolicy {
    /// Validates method names, reporting each unknown or repeated one under `allowed[index]`.
    pub fn parse(allowed: &[String]) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let mut methods = BTreeSet::new();
        for (i, raw) in allowed.iter().enumerate() {
            let field = format!("allowed[{i}]");
            if let Some(method) = invalid.check(&field, SignInMethod::parse(raw)) {
                if !methods.insert(method) {
                    invalid.0.push(FieldError::new(field, "duplicate", format!("`{method}` is listed twice")));
                }
            }
        }
        invalid.into_result()?;
        Ok(Self { allowed: methods })
    }

    /// Whether a sign-in by `method` is let in; an unknown method only when every method is.
    pub fn allows(&self, method: Option<SignInMethod>) -> bool {
        self.allowed.is_empty() || method.is_some_and(|m| self.allowed.contains(&m))
    }
}

/// Where people and programs may come from, and how fresh a person's sign-in must be.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityPolicy {
    /// Empty: any address.
    pub ip_allowlist: Vec<IpNet>,
    /// The longest time since a person signed in (`auth_time`).
    pub max_session_age: Option<Duration>,
    /// The longest time since a person proved a second factor.
    pub mfa_max_age: Option<Duration>,
}

impl SecurityPolicy {
    /// The most allowlist entries.
    pub const MAX_CIDRS: usize = 200;
    /// The bounds of `max_session_age`, in seconds.
    pub const SESSION_AGE_SECS: (i64, i64) = (300, 90 * 86_400);
    /// The bounds of `mfa_max_age`, in seconds.
    pub const MFA_AGE_SECS: (i64, i64) = (60, 30 * 86_400);

    /// Validates the allowlist (CIDRs or addresses, canonical, listed once) and the ages against
    /// their bounds, reporting every bad field at once.
    pub fn parse(
        ip_allowlist: &[String],
        max_session_age_secs: Option<i64>,
        mfa_max_age_secs: Option<i64>,
    ) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        if ip_allowlist.len() > Self::MAX_CIDRS {
            invalid.0.push(FieldError::new("ip_allowlist", "too_many", format!("at most {} entries", Self::MAX_CIDRS)));
        }
        let mut cidrs: Vec<IpNet> = Vec::with_capacity(ip_allowlist.len());
        for (i, raw) in ip_allowlist.iter().enumerate() {
            match parse_cidr(raw) {
                Ok(net) if !cidrs.contains(&net) => cidrs.push(net),
                Ok(_) => {}
                Err((code, message)) => invalid.0.push(FieldError::new(format!("ip_allowlist[{i}]"), code, message)),
            }
        }
        let mut seconds = |field: &str, value: Option<i64>, (min, max): (i64, i64)| {
            let value = value?;
            if (min..=max).contains(&value) {
                Some(Duration::seconds(value))
            } else {
                invalid.0.push(FieldError::new(field, "out_of_range", format!("{min} to {max} seconds")));
                None
            }
        };
        let max_session_age = seconds("max_session_age_secs", max_session_age_secs, Self::SESSION_AGE_SECS);
        let mfa_max_age = seconds("mfa_max_age_secs", mfa_max_age_secs, Self::MFA_AGE_SECS);
        invalid.into_result()?;
        Ok(Self { ip_allowlist: cidrs, max_session_age, mfa_max_age })
    }

    /// Whether a request from `ip` is let in; an unknown address only when any address is.
    pub fn allows_ip(&self, ip: Option<IpAddr>) -> bool {
        if self.ip_allowlist.is_empty() {
            return true;
        }
        let Some(ip) = ip.map(canonical_ip) else { return false };
        self.ip_allowlist.iter().any(|net| net.contains(&ip))
    }
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:192.0.2.1`) is that IPv4 address.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// An IPv4-mapped IPv6 network (`::ffff:203.0.113.0/120`) is that IPv4 network, as clients
/// are judged by their IPv4 address; otherwise it would silently never match.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        other => other,
    }
}

/// A network in CIDR notation, or a single address. Host bits must be zero: `10.1.2.0/8`
/// is refused rather than silently widened to `10.0.0.0/8`.
fn parse_cidr(raw: &str) -> Result<IpNet, (&'static str, String)> {
    let raw = raw.trim();
    let net = match raw.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => match raw.parse::<IpAddr>() {
            Ok(ip) => IpNet::from(canonical_ip(ip)),
            Err(_) => {
                return Err(("invalid_cidr", format!("`{raw}` is not an IPv4 or IPv6 network, e.g. 203.0.113.0/24")))
            }
        },
    };
    if net.trunc() != net {
        return Err(("host_bits_set", format!("`{raw}` has host bits set; did you mean {}?", net.trunc())));
    }
    Ok(canonical_net(net))
}

/// A policy with the version that is its `ETag`. A policy never written is the default at
/// version 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Versioned<T> {
    /// The policy.
    pub policy: T,
    /// Its version, the `ETag`; 0 until first written.
    pub version: i64,
    /// When it was last written; `None` until then.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Every policy of one organization, as the gate reads them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgPolicies {
    /// 2FA enforcement.
    pub mfa: Versioned<MfaPolicy>,
    /// Allowed sign-in methods.
    pub sign_in: Versioned<SignInPolicy>,
    /// IP allowlist and session ages.
    pub security: Versioned<SecurityPolicy>,
    /// Verified domains whose people must sign in through the organization's SSO: every
    /// verified domain while SSO is enforced, none otherwise. Derived, not a document.
    pub sso_domains: BTreeSet<DomainName>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn networks_of_both_families_parse_and_contain() {
        let policy =
            SecurityPolicy::parse(&strings(&["203.0.113.0/24", "2001:db8::/32", "198.51.100.7"]), None, None).unwrap();
        assert!(policy.allows_ip("203.0.113.200".parse().ok()));
        assert!(policy.allows_ip("::ffff:203.0.113.9".parse().ok()), "an IPv4-mapped client is its IPv4 address");
        assert!(policy.allows_ip("2001:db8:1::5".parse().ok()));
        assert!(policy.allows_ip("198.51.100.7".parse().ok()));
        assert!(!policy.allows_ip("198.51.100.8".parse().ok()));
        assert!(!policy.allows_ip("2001:db9::1".parse().ok()));
        assert!(!policy.allows_ip(None), "an unknown client address is outside every list");
        let mapped = SecurityPolicy::parse(&strings(&["::ffff:192.0.2.0/120"]), None, None).unwrap();
        assert_eq!(mapped.ip_allowlist[0].to_string(), "192.0.2.0/24");
        assert!(mapped.allows_ip("192.0.2.7".parse().ok()) && mapped.allows_ip("::ffff:192.0.2.7".parse().ok()));
        assert!(SecurityPolicy::default().allows_ip(None));
    }

    #[test]
    fn bad_networks_and_durations_are_reported_by_field() {
        let err = SecurityPolicy::parse(&strings(&["10.1.2.0/8", "nonsense", "10.0.0.0/33"]), Some(10), Some(60))
            .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            vec![
                ("ip_allowlist[0]", "host_bits_set"),
                ("ip_allowlist[1]", "invalid_cidr"),
                ("ip_allowlist[2]", "invalid_cidr"),
                ("max_session_age_secs", "out_of_range")
            ]
        );
    }

    #[test]
    fn grace_delays_enforcement_and_needs_it() {
        let now = Utc::now();
        let graced = MfaPolicy::parse(true, Some(now + Duration::days(7)), now).unwrap();
        assert!(!graced.requires_mfa_at(now));
        assert!(graced.requires_mfa_at(now + Duration::days(7)));
        assert!(MfaPolicy::parse(false, Some(now + Duration::days(1)), now).is_err());
        assert!(MfaPolicy::parse(true, Some(now - Duration::seconds(1)), now).is_err());
        assert!(MfaPolicy::parse(true, None, now).unwrap().requires_mfa_at(now));
    }

    #[test]
    fn an_empty_method_list_allows_every_method() {
        assert!(SignInPolicy::default().allows(None));
        let sso_only = SignInPolicy::parse(&strings(&["sso"])).unwrap();
        assert!(sso_only.allows(Some(SignInMethod::Sso)));
        assert!(!sso_only.allows(Some(SignInMethod::Password)));
        assert!(!sso_only.allows(None));
        assert_eq!(SignInPolicy::parse(&strings(&["fax"])).unwrap_err().0[0].field, "allowed[0]");
        assert_eq!(SignInPolicy::parse(&strings(&["sso", "sso"])).unwrap_err().0[0].code, "duplicate");
    }
}
