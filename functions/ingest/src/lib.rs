//! The ingest function: its configuration, its dependencies and its handler,
//! for the Lambda binary and for the local stack that runs it in-process.

pub mod config;
pub mod handler;
