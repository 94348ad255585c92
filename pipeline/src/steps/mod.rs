//! The steps the functions run, each over the ports it names: read a
//! snapshot, ask its plan (`hitloop_core::plan`), carry the plan out
//! idempotently. Notifications are hints and state is the truth, so a retry,
//! a duplicate, a late message and sweep all take the same path.

pub mod amend;
pub mod collect;
pub mod deploy;
pub mod final_check;
pub mod ingest;
pub mod jobs;
pub mod predict;
pub mod publish;
pub mod reconcile;
pub mod redecide;
pub mod refit;
pub mod retrain;
pub mod specs;
pub mod sweep;
pub mod train;
pub mod verify;
