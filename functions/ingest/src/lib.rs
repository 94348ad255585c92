//! The ingest function: its handler, for the Lambda binary and for the local
//! stack that runs the functions in-process.

pub mod handler;
