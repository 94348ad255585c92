//! hitloop's rules, with no AWS SDK, no Lambda runtime and no network: what
//! a job asks for, manifests and templates, reading answers, deciding items,
//! money and fees, the outputs of a finished job, and the plans every
//! pipeline step follows. The functions, the adapters, the MTurk-compatible
//! service and the local stack all use these, so they agree on every rule.

pub mod answers;
pub mod dataset;
pub mod decision;
pub mod deploy;
pub mod error;
pub mod events;
pub mod ids;
pub mod job;
pub mod manifest;
pub mod marketplace;
pub mod messages;
pub mod money;
pub mod plan;
pub mod predict;
pub mod problems;
pub mod publish_order;
pub mod quality;
pub mod records;
pub mod template;
pub mod training;
pub mod training_job;
pub mod transform_job;
pub mod worker_agreement;
pub mod xml;
