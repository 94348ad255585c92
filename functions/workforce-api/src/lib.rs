//! The workforce service's API function: its configuration and its handler
//! (the service's router), for the Lambda binary and for the tests.

pub mod config;
pub mod handler;
