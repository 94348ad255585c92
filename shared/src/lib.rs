//! hitloop's shared library: the domain rules every function uses, the ports
//! they need, and the adapters over the AWS SDKs.
//!
//! Functions stay thin (wiring in `main.rs`, event handling in `handler.rs`);
//! what a rule *is* lives here so that every function, the local stack and the
//! tests agree on it.

pub mod adapters;
pub mod answers;
pub mod batch;
pub mod consensus;
pub mod dataset;
pub mod error;
pub mod events;
pub mod job;
pub mod manifest;
pub mod money;
pub mod pipeline;
pub mod ports;
pub mod problems;
pub mod records;
pub mod template;
pub mod training;
pub mod wiring;
pub mod xml;
