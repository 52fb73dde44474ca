//! Black-box tests: the real server on a free port, against its own PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod helpers;
mod members;
mod openapi;
mod operations;
mod orgs;
