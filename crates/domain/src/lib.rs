//! The domain of orgd, the organization-management service, as a library: its entities and
//! validated values, the permission model, every business rule and use case, and the ports
//! (traits) those use cases need. Nothing here does I/O: there is no database, web framework
//! or async runtime, so any Rust program can depend on this crate alone — above all to make
//! the service's own decisions in-process, such as whether a caller holds a permission or
//! whether an LLM request is admitted.
//!
//! ```toml
//! # cargo add orgd-domain
//! [dependencies]
//! orgd-domain = "0.1"
//! ```
//!
//! The library is imported as `orgd_domain`: `use orgd_domain::authz::Permission;`.
//!
//! # Deciding in-process from the service's answers
//!
//! A service in front of orgd reads a caller's permission map once
//! (`GET /v1/orgs/{org}/permissions`, with that caller's token) and the organization's LLM
//! policy (`GET /v1/orgs/{org}/llm-policy`, with an API key holding `llm:read`), then asks
//! this crate every question those answer without another round trip. The bodies below are
//! shaped exactly as the service sends them; [`PermissionMap`](authz::PermissionMap) and
//! [`LlmPolicyResponse`](llm::LlmPolicyResponse) read them, and converting them into a
//! [`Grant`](authz::Grant) and an [`LlmPolicy`](llm::LlmPolicy) validates them as the
//! service does.
//!
//! ```
//! use orgd_domain::authz::{Grant, Permission, PermissionMap};
//! use orgd_domain::llm::{LlmPolicy, LlmPolicyResponse, LlmRequest, LlmRequestInput};
//! use orgd_domain::AccessError;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // GET /v1/orgs/{org}/permissions, as an admin's token sees it.
//! let permissions = r#"{
//!   "role": "admin",
//!   "access": "direct",
//!   "permissions": {
//!     "api_keys:manage": true, "audit:read": true, "billing:read": true,
//!     "billing:update": true, "events:read": true, "invites:create": true,
//!     "invites:read": true, "invites:revoke": true, "llm:read": true,
//!     "llm:update": true, "members:read": true, "members:remove": true,
//!     "members:update": true, "org:delete": false, "org:read": true,
//!     "org:transfer_ownership": false, "org:update": true, "roles:create": true,
//!     "roles:delete": true, "roles:read": true, "roles:update": true,
//!     "scim:read": true, "scim:write": false, "security:read": true,
//!     "security:update": true, "sso:read": true, "sso:write": true,
//!     "teams:create": true, "teams:delete": true, "teams:read": true,
//!     "teams:update": true, "usage:write": true, "webhooks:manage": true
//!   },
//!   "denied": ["org:delete", "org:transfer_ownership", "scim:write"]
//! }"#;
//! let grant = Grant::try_from(serde_json::from_str::<PermissionMap>(permissions)?)?;
//!
//! // May this caller change a member's role? Delete the organization?
//! assert_eq!(grant.authorize(Permission::MembersUpdate), Ok(()));
//! assert_eq!(
//!     grant.authorize(Permission::OrgDelete),
//!     Err(AccessError::Forbidden { permission: "org:delete" })
//! );
//!
//! // GET /v1/orgs/{org}/llm-policy
//! let policy = r#"{
//!   "providers": ["openai", "self-*"],
//!   "models": [
//!     {"provider": "openai", "model": "gpt-4o*", "max_tokens": 8000},
//!     {"provider": null, "model": "llama-3.?-70b", "max_tokens": null}
//!   ],
//!   "default_model": "gpt-4o-mini",
//!   "self_hosted_only": false,
//!   "regions": ["eu"],
//!   "version": 3,
//!   "updated_at": "2026-01-05T10:00:00.123456Z"
//! }"#;
//! let policy = LlmPolicy::try_from(serde_json::from_str::<LlmPolicyResponse>(policy)?)?;
//!
//! // May this model be called? Names are compared without case, as the service does.
//! let request = LlmRequest::parse(&LlmRequestInput {
//!     provider: "OpenAI".into(),
//!     model: Some("GPT-4o-mini".into()),
//!     region: Some("eu".into()),
//!     requested_tokens: Some(4_000),
//!     self_hosted: false,
//! })?;
//! let decision = policy.check(&request);
//! assert!(decision.admitted);
//! assert_eq!(decision.rule.as_deref(), Some("models[0]"));
//!
//! let too_long = LlmRequest { requested_tokens: Some(9_000), ..request };
//! assert_eq!(policy.check(&too_long).code, "max_tokens_exceeded");
//! # Ok(())
//! # }
//! ```
//!
//! `examples/check_permissions.rs` does the same as a program
//! (`cargo run -p orgd-domain --example check_permissions`).
//!
//! # Modules
//!
//! Permissions and access:
//! - [`authz`]: the permission catalogue, the system roles, a caller's [`Grant`](authz::Grant)
//!   and the one decision point, [`Grant::authorize`](authz::Grant::authorize).
//! - [`access`]: entering an organization — membership, API key or staff access, and the
//!   policy gate every use case passes first.
//! - [`role`]: custom roles. [`apikey`]: organization API keys. [`platform`]: the
//!   operator's staff.
//!
//! The tenant and its people:
//! - [`org`]: organizations. [`member`]: memberships. [`team`]: teams and their managers.
//!   [`user`]: people, provisioned from their identity provider's claims.
//! - [`invite`]: invitations. [`join`]: joining by a verified email domain.
//!   [`verified_domain`]: proving ownership of a domain by DNS.
//!
//! Policies and governance:
//! - [`policy`]: 2FA, sign-in methods, IP allowlist, session age, plans and their features.
//! - [`sso`]: the SAML or OIDC connection. [`scim`]: SCIM 2.0 provisioning.
//! - [`llm`]: which LLM providers, models and regions are admitted. [`spend`]: usage,
//!   budgets and the spend posture.
//!
//! What happened, and who hears of it:
//! - [`audit`]: the hash-chained audit log. [`events`]: the event feed.
//!   [`webhooks`]: events pushed to endpoints. [`mail`]: the email outbox.
//!   [`notification`]: in-app notices. [`dashboard`]: an organization's figures.
//!
//! Building blocks:
//! - [`ids`]: typed public ids (`org_…`). [`token`]: the secrets the service issues,
//!   recognised offline. [`text`]: rules for names and descriptions.
//!   [`pagination`]: keyset pages. [`idempotency`]: safe retries.
//! - [`context`]: who is calling. [`error`]: errors every capability shares.
//! - [`store`] and [`time`]: the unit-of-work and clock ports the use cases run on. The
//!   `testing` feature adds `testing`, in-memory fakes of every port for tests of code
//!   built on this crate.
//!
//! Every use case (`OrgService::create`, `MemberService::list`, …) runs in one transaction
//! of a [`Store`], checks the caller's rights with [`Grant::authorize`](authz::Grant::authorize)
//! and appends its audit record in that same transaction. Input is validated by `parse`
//! constructors that return [`Invalid`] with every bad field, so a value that exists is
//! valid.

#![deny(missing_docs)]
#![warn(rustdoc::broken_intra_doc_links)]

pub mod access;
pub mod apikey;
pub mod audit;
pub mod authz;
pub mod context;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod invite;
pub mod join;
pub mod llm;
pub mod mail;
pub mod member;
pub mod notification;
pub mod org;
pub mod pagination;
pub mod platform;
pub mod policy;
pub mod role;
pub mod scim;
pub mod spend;
pub mod sso;
pub mod store;
pub mod team;
pub mod text;
pub mod time;
pub mod token;
pub mod user;
pub mod verified_domain;
pub mod webhooks;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use context::{ApiKeyCredential, Caller, Identity, Principal, RequestMeta};
pub use error::{AccessError, FieldError, Invalid, StoreError};
pub use store::{Store, Tx};

#[cfg(test)]
mod governance_tests;
