//! The name of an email domain an organization claims, and the public email providers no
//! organization may claim.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::LazyLock;

use crate::error::ValueError;
use crate::user::Email;

/// Label prepended to a claimed domain to name the TXT record that proves the claim.
const CHALLENGE_LABEL: &str = "_orgd-challenge";

/// Domains of public email providers (free and disposable mailboxes), one a line; see the
/// file's header for its source and scripts/update-public-email-providers.sh to refresh it.
static PUBLIC_EMAIL_PROVIDERS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/public_email_providers.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// The IDNA deviation characters (UTS #46 §1.3.2).
const IDNA_DEVIATIONS: [char; 4] = ['ß', 'ς', '\u{200c}', '\u{200d}'];

/// A fully qualified domain name in its ASCII (punycode), lower-case form, without the
/// trailing dot: `acme.com`, `eng.acme.co.uk`, `xn--bcher-kva.example`.
///
/// Never an IP address and never a public suffix (`com`, `co.uk`, `github.io`), since
/// nobody owns all the names registered under one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

impl DomainName {
    /// Longest name in text form (255 octets on the wire).
    pub const MAX_LEN: usize = 253;
    /// Longest label.
    pub const MAX_LABEL_LEN: usize = 63;
    /// Longest name that can be claimed: its challenge record `_orgd-challenge.<name>`
    /// must itself be a name.
    pub const MAX_CLAIMABLE_LEN: usize = Self::MAX_LEN - "_orgd-challenge.".len();

    /// Trims, drops one trailing dot, lower-cases and converts an internationalized name
    /// to its ASCII form, then checks it is a domain name someone can own.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let value = value.trim();
        let value = value.strip_suffix('.').unwrap_or(value);
        if value.is_empty() {
            return Err(invalid("the domain name is empty"));
        }
        let unbracketed = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(value);
        if unbracketed.parse::<IpAddr>().is_ok() {
            return Err(invalid(format!("`{value}` is an IP address, not a domain name")));
        }
        // IDNA 2003 and 2008 map these differently (`faß.de` is `fass.de` to one and
        // `xn--fa-hia.de` to the other), so such a name could be two domains at once.
        if value.contains(IDNA_DEVIATIONS) {
            return Err(invalid(format!(
                "`{value}` holds ß, ς or a zero-width joiner, which mail systems read as different domains"
            )));
        }
        let ascii = if value.is_ascii() { value.to_ascii_lowercase() } else { to_ascii(value)? };
        check_syntax(&ascii)?;
        // The WHATWG host parser (what `url` implements) also validates `xn--` labels
        // and refuses the numeric IPv4 spellings (`127.1`, `0x7f.1`) the checks above let
        // through.
        match url::Host::parse(&ascii) {
            Ok(url::Host::Domain(parsed)) if parsed == ascii => {}
            Ok(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => {
                return Err(invalid(format!("`{ascii}` is an IP address, not a domain name")));
            }
            _ => return Err(invalid(format!("`{ascii}` is not a valid domain name"))),
        }
        if psl::suffix(ascii.as_bytes()).is_some_and(|suffix| suffix.as_bytes() == ascii.as_bytes()) {
            return Err(ValueError::new(
                "public_suffix",
                format!(
                    "`{ascii}` is a public suffix, under which anyone can register names, so \
                     no organization owns it; claim a domain registered under it, such as \
                     `example.{ascii}`"
                ),
            ));
        }
        Ok(Self(ascii))
    }

    /// [`parse`](Self::parse), then refuses what an organization can never claim: the
    /// domains of public email providers, and names too long to hold the challenge record.
    pub fn parse_claimable(value: &str) -> Result<Self, ValueError> {
        let name = Self::parse(value)?;
        if name.is_public_email_provider() {
            return Err(ValueError::new(
                "public_email_provider",
                format!(
                    "`{name}` belongs to a public email provider: its addresses belong to the \
                     provider's users, not to an organization, so it can never be claimed"
                ),
            ));
        }
        if name.challenge_name().len() > Self::MAX_LEN {
            return Err(invalid(format!(
                "`{name}` is too long to be verified: the challenge record `{}` would be longer \
                 than {} characters",
                name.challenge_name(),
                Self::MAX_LEN
            )));
        }
        Ok(name)
    }

    /// A name [`DomainName::parse`] produced before, as stored: not judged again, so that a
    /// name a later Public Suffix List would refuse still reads, and can be released.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The domain of an email address: the part after the last `@`, if it parses.
    pub fn of_email(email: &Email) -> Option<Self> {
        Self::of_address(email.as_str())
    }

    /// [`of_email`](Self::of_email) for an address held as text: the part after the last
    /// `@`, if there is one and it parses.
    pub fn of_address(address: &str) -> Option<Self> {
        let (_, domain) = address.rsplit_once('@')?;
        Self::parse(domain).ok()
    }

    /// The ASCII, lower-case name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the TXT record proving a claim of this domain lives.
    pub fn challenge_name(&self) -> String {
        format!("{CHALLENGE_LABEL}.{}", self.0)
    }

    /// True when this name, or a parent of it down to its registrable domain (`gmail.com`
    /// for `mail.gmail.com`), is a public email provider's.
    ///
    /// Parents above the registrable domain are public suffixes, which nobody owns: the
    /// list holds a few (`net.ua`), and they must not make every name under them public.
    pub fn is_public_email_provider(&self) -> bool {
        let registrable_len = psl::domain(self.0.as_bytes()).map_or(self.0.len(), |d| d.as_bytes().len());
        let mut candidate = self.0.as_str();
        loop {
            if PUBLIC_EMAIL_PROVIDERS.contains(candidate) {
                return true;
            }
            match candidate.split_once('.') {
                Some((_, parent)) if parent.len() >= registrable_len => candidate = parent,
                _ => return false,
            }
        }
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid(message: impl Into<String>) -> ValueError {
    ValueError::new("invalid_domain", message)
}

/// IDNA (UTS #46) conversion of a name holding non-ASCII characters.
fn to_ascii(value: &str) -> Result<String, ValueError> {
    match url::Host::parse(value) {
        Ok(url::Host::Domain(ascii)) => Ok(ascii),
        Ok(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => {
            Err(invalid(format!("`{value}` is an IP address, not a domain name")))
        }
        Err(_) => Err(invalid(format!("`{value}` is not a valid internationalized domain name"))),
    }
}

/// The rules of a host name (RFC 1123 §2.1), on the ASCII form.
fn check_syntax(ascii: &str) -> Result<(), ValueError> {
    if ascii.len() > DomainName::MAX_LEN {
        return Err(invalid(format!(
            "the domain name is {} characters long; at most {} are allowed",
            ascii.len(),
            DomainName::MAX_LEN
        )));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err(invalid(format!("`{ascii}` has an empty label (two dots in a row, or a leading dot)")));
        }
        if label.len() > DomainName::MAX_LABEL_LEN {
            return Err(invalid(format!(
                "the label `{label}` is {} characters long; at most {} are allowed",
                label.len(),
                DomainName::MAX_LABEL_LEN
            )));
        }
        if let Some(bad) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(invalid(format!(
                "the label `{label}` holds `{bad}`; only letters, digits and hyphens are allowed"
            )));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid(format!("the label `{label}` starts or ends with a hyphen")));
        }
    }
    if labels.len() < 2 {
        return Err(invalid(format!("`{ascii}` has a single label; a domain such as `example.com` is needed")));
    }
    if labels.last().is_some_and(|top| top.bytes().all(|b| b.is_ascii_digit())) {
        return Err(invalid(format!("`{ascii}` ends in an all-numeric label, which no top-level domain is")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(value: &str) -> String {
        match DomainName::parse(value) {
            Ok(name) => name.to_string(),
            Err(err) => panic!("`{value}` was refused: {err}"),
        }
    }

    fn refused(value: &str) -> ValueError {
        match DomainName::parse(value) {
            Ok(name) => panic!("`{value}` was accepted as `{name}`"),
            Err(err) => err,
        }
    }

    fn claim_refused(value: &str) -> ValueError {
        match DomainName::parse_claimable(value) {
            Ok(name) => panic!("`{value}` was claimable as `{name}`"),
            Err(err) => err,
        }
    }

    #[test]
    fn normalises_case_trailing_dot_and_whitespace() {
        assert_eq!(parsed("acme.com"), "acme.com");
        assert_eq!(parsed("  ACME.Com. \n"), "acme.com");
        assert_eq!(parsed("Eng.Acme.CO.UK"), "eng.acme.co.uk");
        assert_eq!(DomainName::parse("acme.com.").map(|n| n.as_str().to_owned()), Ok("acme.com".to_owned()));
    }

    #[test]
    fn converts_internationalized_names_to_punycode() {
        assert_eq!(parsed("bücher.example"), "xn--bcher-kva.example");
        assert_eq!(parsed("BÜCHER.example."), "xn--bcher-kva.example");
        assert_eq!(parsed("xn--bcher-kva.example"), "xn--bcher-kva.example");
        assert_eq!(parsed("münchen.de"), "xn--mnchen-3ya.de");
    }

    #[test]
    fn accepts_registrable_domains_and_their_subdomains() {
        for ok in ["acme.com", "eng.acme.co.uk", "a-b.example.org", "acme.github.io", "x1.io", "acme.zzz"] {
            assert_eq!(parsed(ok), ok);
        }
    }

    #[test]
    fn refuses_malformed_names() {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            (".", "empty"),
            ("localhost", "single label"),
            ("acme..com", "empty label"),
            (".acme.com", "empty label"),
            ("acme.com..", "empty label"),
            ("acme_corp.com", "holds `_`"),
            ("acme corp.com", "holds ` `"),
            ("acme.com/path", "holds `/`"),
            ("user@acme.com", "holds `@`"),
            ("acme%2ecom", "holds `%`"),
            ("-acme.com", "starts or ends with a hyphen"),
            ("acme-.com", "starts or ends with a hyphen"),
            ("acme.123", "all-numeric"),
            ("xn--zz.com", "not a valid domain name"),
            ("acme.0x7f", "not a valid domain name"),
        ];
        for (value, why) in cases {
            let err = refused(value);
            assert_eq!(err.code, "invalid_domain", "`{value}`");
            assert!(err.message.contains(why), "`{value}`: {}", err.message);
        }
    }

    #[test]
    fn refuses_too_long_labels_and_names() {
        let label63 = "a".repeat(63);
        assert_eq!(parsed(&format!("{label63}.com")), format!("{label63}.com"));
        let err = refused(&format!("{label63}a.com"));
        assert_eq!(err.code, "invalid_domain");
        assert!(err.message.contains("64 characters long; at most 63"), "{}", err.message);

        // 63 + 1 + 63 + 1 + 63 + 1 + 57 + 4 = 253
        let longest = format!("{label63}.{label63}.{label63}.{}.com", "b".repeat(57));
        assert_eq!(longest.len(), 253);
        assert_eq!(parsed(&longest), longest);
        let err = refused(&format!("c{longest}"));
        assert_eq!(err.code, "invalid_domain");
        assert!(err.message.contains("254 characters long; at most 253"), "{}", err.message);
    }

    #[test]
    fn refuses_ip_addresses() {
        for ip in ["192.168.0.1", "10.0.0.1.", "::1", "[2001:db8::1]", "127.1", "0x7f.0.0.1"] {
            let err = refused(ip);
            assert_eq!(err.code, "invalid_domain", "`{ip}`");
            assert!(
                err.message.contains("IP address") || err.message.contains("all-numeric"),
                "`{ip}`: {}",
                err.message
            );
        }
        assert!(refused("192.168.0.1").message.contains("is an IP address"));
    }

    #[test]
    fn refuses_public_suffixes() {
        for suffix in ["com", "co.uk", "github.io", "herokuapp.com", "GitHub.IO.", "blogspot.com"] {
            let err = refused(suffix);
            assert_eq!(err.code, if suffix == "com" { "invalid_domain" } else { "public_suffix" }, "`{suffix}`");
        }
        let err = refused("co.uk");
        assert!(err.message.contains("public suffix") && err.message.contains("example.co.uk"), "{}", err.message);
    }

    #[test]
    fn public_email_providers_parse_but_cannot_be_claimed() {
        for provider in ["gmail.com", "GMAIL.COM.", "mail.gmail.com", "outlook.com", "hey.com", "tutanota.com"] {
            assert!(DomainName::parse(provider).is_ok(), "`{provider}`");
            let err = claim_refused(provider);
            assert_eq!(err.code, "public_email_provider", "`{provider}`");
            assert!(err.message.contains("can never be claimed"), "{}", err.message);
        }
    }

    #[test]
    fn organization_domains_are_claimable() {
        for domain in ["acme.com", "eng.acme.co.uk", "gmail.acme.com", "acme.net.ua"] {
            assert_eq!(DomainName::parse_claimable(domain).map(|n| n.to_string()), Ok(domain.to_owned()));
        }
        assert_eq!(claim_refused("co.uk").code, "public_suffix");
        assert_eq!(claim_refused("acme..com").code, "invalid_domain");
    }

    #[test]
    fn provider_check_covers_the_registrable_domain_and_parents() {
        let public = |v: &str| DomainName::parse(v).map(|n| n.is_public_email_provider());
        assert_eq!(public("gmail.com"), Ok(true));
        assert_eq!(public("mail.gmail.com"), Ok(true));
        assert_eq!(public("a.b.googlemail.com"), Ok(true));
        assert_eq!(public("acme.com"), Ok(false));
        assert_eq!(public("gmail.acme.com"), Ok(false));
        // A listed name below its registrable domain covers itself and its children only.
        assert_eq!(public("mail.goo.ne.jp"), Ok(true));
        assert_eq!(public("x.mail.goo.ne.jp"), Ok(true));
        assert_eq!(public("goo.ne.jp"), Ok(false));
    }

    #[test]
    fn names_too_long_for_the_challenge_record_cannot_be_claimed() {
        let label63 = "a".repeat(63);
        let name = format!("{label63}.{label63}.{label63}.{}.com", "b".repeat(57));
        let err = claim_refused(&name);
        assert_eq!(err.code, "invalid_domain");
        assert!(err.message.contains("too long to be verified"), "{}", err.message);
    }

    #[test]
    fn challenge_name() {
        assert_eq!(
            DomainName::parse("Acme.com.").map(|n| n.challenge_name()),
            Ok("_orgd-challenge.acme.com".to_owned())
        );
    }

    #[test]
    fn of_email_takes_the_part_after_the_last_at() {
        let of = |address: &str| match Email::parse(address) {
            Ok(email) => DomainName::of_email(&email).map(|n| n.to_string()),
            Err(err) => panic!("`{address}`: {err}"),
        };
        assert_eq!(of("Jane.Doe@Eng.Acme.com"), Some("eng.acme.com".to_owned()));
        assert_eq!(of("\"a@b\"@acme.co.uk"), Some("acme.co.uk".to_owned()));
        assert_eq!(of("jane@gmail.com"), Some("gmail.com".to_owned()));
        assert_eq!(of("jane@localhost"), None);
        assert_eq!(of("jane@[192.168.0.1]"), None);
        assert_eq!(DomainName::of_address("a@b@Acme.com").map(|n| n.to_string()), Some("acme.com".to_owned()));
        assert_eq!(DomainName::of_address("acme.com"), None);
    }

    #[test]
    fn the_provider_list_is_loaded_and_normalised() {
        assert!(PUBLIC_EMAIL_PROVIDERS.len() > 10_000);
        for domain in ["gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "yahoo.com", "proton.me", "hey.com"]
        {
            assert!(PUBLIC_EMAIL_PROVIDERS.contains(domain), "{domain}");
        }
        for domain in PUBLIC_EMAIL_PROVIDERS.iter() {
            assert!(!domain.starts_with('#') && *domain == domain.to_ascii_lowercase(), "{domain}");
        }
    }

    #[test]
    fn names_idna_versions_read_differently_are_refused() {
        for ambiguous in ["faß.de", "ΒΌΛΟς.com", "a\u{200d}b.example"] {
            assert_eq!(DomainName::parse(ambiguous).unwrap_err().code, "invalid_domain", "{ambiguous}");
        }
        assert_eq!(DomainName::of_address("x@faß.de"), None, "so no address there matches anything");
    }
}
