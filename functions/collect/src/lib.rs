//! The collect function: its configuration, its dependencies and its
//! handler, for the Lambda binary and for the local stack.

pub mod config;
pub mod handler;
