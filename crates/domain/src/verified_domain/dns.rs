//! The port DNS lookups go through.

/// Why a lookup could not tell whether a record exists (timeout, `SERVFAIL`, refused,
/// no resolver reachable). Never a proof of absence: nothing is un-verified on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DNS lookup failed: {0}")]
pub struct DnsError(pub String);

/// Looks up TXT records.
pub trait TxtResolver: Send + Sync {
    /// The TXT records at `name` (an ASCII, lower-case fully qualified name without the
    /// trailing dot), each record's character-strings joined as RFC 7208 §3.3 joins them.
    /// An empty list when the answer is authoritative that there are none (`NXDOMAIN`,
    /// or `NOERROR` without TXT data); an error when the lookup could not tell.
    fn txt_records(&self, name: &str) -> Result<Vec<String>, DnsError>;
}
