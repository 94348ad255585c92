//! The steps' decisions, as pure functions of what a step read. Each step
//! (in `hitloop-pipeline`) reads a snapshot, asks its plan what to do, and
//! carries the plan out idempotently; a step that learns something new (a
//! lost race, a refused reservation) reads again and asks again. So every
//! branch here is tested without a server, and changing what a step decides
//! is changing a plan.

pub mod amend;
pub mod deploy;
pub mod idle;
pub mod ingest;
pub mod predict;
pub mod publish;
pub mod reconcile;
pub mod refit;
pub mod retrain;
pub mod sweep;
pub mod teardown;
pub mod train;
pub mod verify;
pub mod versions;
pub mod write;
