//! The workforce service's scheduled function: its configuration and its
//! handler, for the Lambda binary and for the tests.

pub mod config;
pub mod handler;
