//! hitloop's shared library: the domain rules every function uses.
//!
//! Functions stay thin (wiring in `main.rs`, event handling in `handler.rs`);
//! what a rule *is* lives here so that every function, the local stack and the
//! tests agree on it.

pub mod money;
pub mod xml;
