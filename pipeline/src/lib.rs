//! hitloop's pipeline: the ports (what the steps need from the world) and
//! the steps each function runs, with in-memory ports for tests. No AWS
//! SDK: the adapters live in crates of their own, one per service, linked
//! only by the functions that call that service.

pub mod memory;
pub mod ports;
pub mod steps;
