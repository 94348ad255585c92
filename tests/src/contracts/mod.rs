//! The ports' contracts: each port's behaviour as the steps rely on it,
//! written once and run against the in-memory version and the AWS adapter
//! (tests/tests/contracts.rs), so the two cannot drift apart. A contract
//! panics where a port breaks it.

pub mod blobs;
pub mod crowd;
pub mod deployer;
pub mod predictor;
pub mod queue;
pub mod store;
pub mod trainer;
