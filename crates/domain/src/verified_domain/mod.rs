//! Email domains an organization proves it owns, by a DNS TXT record, and what that
//! proof allows: offering the organization to people of the domain, admitting them, and
//! requiring them to sign in through the organization's SSO.

mod dns;
mod model;
mod name;
mod recheck;
mod service;
#[cfg(test)]
mod tests;

pub use dns::{DnsError, TxtResolver};
pub use model::{
    DomainRef, DomainRepository, DomainStatus, DomainWriteError, JoinPolicy, OrgDomain, CHALLENGE_PREFIX, CLAIM_TTL,
    CONFIRM_ABSENCE_AFTER, MAX_DOMAINS_PER_ORG, RECHECK_EVERY,
};
pub use name::DomainName;
pub use recheck::{DomainRecheck, RecheckRound, RETRY_AFTER_DNS_FAILURE};
pub use service::{DomainError, DomainService, JoinPolicyInput};
