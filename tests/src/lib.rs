//! What the integration tests share beyond their harness: the ports'
//! contracts, run against the in-memory ports and the AWS adapters.
//! Integration tests live in tests/tests/.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code fails loudly

pub mod contracts;
