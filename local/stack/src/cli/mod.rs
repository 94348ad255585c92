//! The `hitloop` command: run the stack locally, submit jobs, follow them,
//! fetch their outputs. Against AWS with `--stack <name>` (credentials from
//! the standard chain, names from the stack's outputs), locally otherwise.

pub mod export;
pub mod predict;
pub mod replay;
pub mod resume;
pub mod status;
pub mod submit;
pub mod target;
pub mod team;
pub mod teardown;
pub mod up;
pub mod workforce;
