//! Memberships: a user's place in an organization.

mod error;
mod model;
mod repo;
mod service;

pub use error::MemberError;
pub use model::{Member, MemberFilter, MemberQuery, Membership, SearchText};
pub use repo::{MemberRepository, MemberWriteError};
pub use service::MemberService;
