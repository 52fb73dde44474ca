//! Who is calling: bearer JWT verification and the request facts every use case records.

mod caller;
mod jwt;

pub(crate) use caller::{authenticate, bearer_token};
pub use caller::{client_ip, request_meta, Authenticated};
pub use jwt::{mint_dev_token, DevToken, JwtVerifier, TokenError};
