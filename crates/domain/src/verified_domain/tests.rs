//! Claiming, verifying and re-verifying domains, against in-memory fakes.
