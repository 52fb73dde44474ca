//! Joining by domain, against in-memory fakes.
