//! Validated value objects of an organization's profile.

use std::str::FromStr;

use crate::error::{Invalid, ValueError};

fn has_control_chars(value: &str) -> bool {
    value.chars().any(char::is_control)
}

/// Display name: trimmed, 1 to 100 characters, no control characters. Unique among live
/// organizations, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Trims `value` and refuses empty, over-long or control-character names.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let value = value.trim();
        let chars = value.chars().count();
        if chars == 0 {
            return Err(ValueError::new("required", "the name must not be blank"));
        }
        if chars > Self::MAX_CHARS {
            return Err(ValueError::new("too_long", format!("the name has at most {} characters", Self::MAX_CHARS)));
        }
        if has_control_chars(value) {
            return Err(ValueError::new("invalid_characters", "the name must not contain control characters"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// URL-safe handle: lower-case letters, digits and single hyphens, 2 to 64 characters, not
/// starting or ending with a hyphen. Unique among live organizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// The shortest slug, in characters.
    pub const MIN_LEN: usize = 2;
    /// The longest slug, in characters.
    pub const MAX_LEN: usize = 64;

    /// Accepts `value` as it is, or says which rule it breaks; never rewrites it.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let len_ok = (Self::MIN_LEN..=Self::MAX_LEN).contains(&value.len());
        let chars_ok = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let hyphens_ok = !value.starts_with('-') && !value.ends_with('-') && !value.contains("--");
        if !len_ok {
            return Err(ValueError::new(
                "invalid_length",
                format!("a slug has {} to {} characters", Self::MIN_LEN, Self::MAX_LEN),
            ));
        }
        if !chars_ok || !hyphens_ok {
            return Err(ValueError::new(
                "invalid_format",
                "a slug holds lower-case letters, digits and single hyphens, and neither starts nor ends with a hyphen",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// A slug made from a display name: ASCII letters and digits kept, runs of anything
    /// else become one hyphen. Falls back to `org` for names with no ASCII letters.
    pub fn derive_from(name: &OrgName) -> Self {
        let mut slug = String::with_capacity(name.as_str().len());
        for c in name.as_str().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        slug.truncate(Self::MAX_LEN - 8);
        let slug = slug.trim_end_matches('-');
        Self::parse(slug).unwrap_or_else(|_| Self("org".to_owned()))
    }

    /// The same slug with a disambiguating suffix.
    #[must_use]
    pub fn with_suffix(&self, suffix: &str) -> Self {
        Self(format!("{}-{}", self.0, suffix))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email domain such as `acme.com`: at least two labels of letters, digits and inner
/// hyphens, at most 253 characters, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainName(String);

impl DomainName {
    /// Trims, drops a trailing dot and lower-cases `value`, then checks it is a domain name.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let value = value.trim().trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |l: &str| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let labels: Vec<&str> = value.split('.').collect();
        let tld_ok = labels.last().is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()));
        if value.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) || !tld_ok {
            return Err(ValueError::new("invalid_domain", "not a valid domain name (e.g. `acme.com`)"));
        }
        Ok(Self(value))
    }

    /// The lower-cased domain name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute `https` or `http` URL of at most 2048 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoUrl(String);

impl LogoUrl {
    /// The longest URL, in characters.
    pub const MAX_LEN: usize = 2048;

    /// Accepts an absolute `http` or `https` URL with a host, in its normalized form.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let invalid = || ValueError::new("invalid_url", "not an absolute http(s) URL");
        if value.len() > Self::MAX_LEN {
            return Err(ValueError::new("too_long", format!("a URL has at most {} characters", Self::MAX_LEN)));
        }
        let url = url::Url::parse(value).map_err(|_| invalid())?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(invalid());
        }
        Ok(Self(url.to_string()))
    }

    /// The normalized URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name such as `Europe/Paris`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// Accepts an IANA time zone name, e.g. `Europe/Paris`.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        chrono_tz::Tz::from_str(value)
            .map(Self)
            .map_err(|_| ValueError::new("invalid_timezone", "not an IANA time zone name (e.g. `Europe/Paris`)"))
    }

    /// The IANA name.
    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }

    /// The zone, for calendar arithmetic (budget windows).
    pub fn zone(&self) -> chrono_tz::Tz {
        self.0
    }
}

/// A postal address. `country` is an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalAddress {
    /// The first line: street and number.
    pub line1: String,
    /// A second line: building, floor, suite.
    pub line2: Option<String>,
    /// The city.
    pub city: String,
    /// The state, province or region.
    pub region: Option<String>,
    /// The postal code.
    pub postal_code: Option<String>,
    /// The ISO 3166-1 alpha-2 country code, upper case.
    pub country: String,
}

/// An address as a client sent it, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostalAddressInput {
    /// The first line: street and number.
    pub line1: String,
    /// A second line: building, floor, suite.
    pub line2: Option<String>,
    /// The city.
    pub city: String,
    /// The state, province or region.
    pub region: Option<String>,
    /// The postal code.
    pub postal_code: Option<String>,
    /// The country, as an ISO 3166-1 alpha-2 code in any case.
    pub country: String,
}

impl PostalAddress {
    const LINE_MAX_CHARS: usize = 200;

    /// Validates every part, reporting each bad one under `field.part`.
    pub fn parse(field: &str, input: PostalAddressInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let line = |value: &str, required: bool| -> Result<Option<String>, ValueError> {
            let value = value.trim();
            if value.is_empty() {
                return if required { Err(ValueError::new("required", "must not be blank")) } else { Ok(None) };
            }
            if value.chars().count() > Self::LINE_MAX_CHARS || has_control_chars(value) {
                return Err(ValueError::new(
                    "invalid_line",
                    format!("at most {} characters, no control characters", Self::LINE_MAX_CHARS),
                ));
            }
            Ok(Some(value.to_owned()))
        };
        let optional = |value: Option<String>| line(value.as_deref().unwrap_or(""), false);
        let line1 = invalid.check(&format!("{field}.line1"), line(&input.line1, true)).flatten();
        let line2 = invalid.check(&format!("{field}.line2"), optional(input.line2)).flatten();
        let city = invalid.check(&format!("{field}.city"), line(&input.city, true)).flatten();
        let region = invalid.check(&format!("{field}.region"), optional(input.region)).flatten();
        let postal_code = invalid.check(&format!("{field}.postal_code"), optional(input.postal_code)).flatten();
        let country = input.country.trim().to_ascii_uppercase();
        let country_ok = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
        if !country_ok {
            invalid.0.push(crate::error::FieldError::new(
                format!("{field}.country"),
                "invalid_country",
                "an ISO 3166-1 alpha-2 country code, e.g. `FR`",
            ));
        }
        invalid.into_result()?;
        match (line1, city) {
            (Some(line1), Some(city)) => Ok(Self { line1, line2, city, region, postal_code, country }),
            _ => Err(Invalid::field(field, "invalid_address", "the address is incomplete")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(OrgName::parse("  Acme  ").map(|n| n.as_str().to_owned()), Ok("Acme".into()));
        assert_eq!(OrgName::parse("   ").unwrap_err().code, "required");
        assert_eq!(OrgName::parse(&"é".repeat(100)).map(|n| n.as_str().chars().count()), Ok(100));
        assert_eq!(OrgName::parse(&"é".repeat(101)).unwrap_err().code, "too_long");
        assert_eq!(OrgName::parse("a\u{0}b").unwrap_err().code, "invalid_characters");
    }

    #[test]
    fn slugs_are_strict_and_derivable() {
        assert!(Slug::parse("acme-inc").is_ok());
        for bad in ["a", "-acme", "acme-", "ac--me", "Acme", "acme_inc", "acmé"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        let derive = |n: &str| Slug::derive_from(&OrgName::parse(n).unwrap()).as_str().to_owned();
        assert_eq!(derive("Acme, Inc."), "acme-inc");
        assert_eq!(derive("  Ünïcode Corp "), "n-code-corp");
        assert_eq!(derive("株式会社"), "org");
        assert!(Slug::parse(&derive(&"x".repeat(100)).to_string()).is_ok());
    }

    #[test]
    fn domains_are_hostnames_with_a_dot() {
        assert_eq!(DomainName::parse("Acme.COM.").map(|d| d.as_str().to_owned()), Ok("acme.com".into()));
        for bad in ["acme", "-acme.com", "acme..com", "acme.com/x", "1.2.3.4", "a b.com"] {
            assert!(DomainName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logo_urls_must_be_web_urls() {
        assert!(LogoUrl::parse("https://cdn.acme.com/logo.png").is_ok());
        for bad in ["javascript:alert(1)", "data:image/png;base64,AAA", "/logo.png", "ftp://x.com/a"] {
            assert!(LogoUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(TimeZone::parse("America/Los_Angeles").map(|t| t.as_str()), Ok("America/Los_Angeles"));
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse("").is_err());
    }

    #[test]
    fn addresses_report_every_bad_part() {
        let input = PostalAddressInput {
            line1: " ".into(),
            city: "Paris".into(),
            country: "France".into(),
            ..Default::default()
        };
        let err = PostalAddress::parse("address", input).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["address.line1", "address.country"]);
        let ok = PostalAddressInput {
            line1: "1 rue de Rivoli".into(),
            city: "Paris".into(),
            country: "fr".into(),
            ..Default::default()
        };
        assert_eq!(PostalAddress::parse("address", ok).map(|a| a.country), Ok("FR".into()));
    }
}
