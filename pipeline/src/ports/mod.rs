//! The ports: what the steps need from the world, named for the domain. Each
//! is small; a step's dependencies name the ones it uses. Adapters (one
//! crate per AWS service) implement them; `crate::memory` has in-memory
//! versions for tests.

pub mod blobs;
pub mod crowd;
pub mod deployer;
pub mod predictor;
pub mod queue;
pub mod store;
pub mod trainer;
pub mod transformer;
pub mod usage;

pub use blobs::{Blobs, ObjectHead, Reader};
pub use crowd::Crowd;
pub use deployer::Deployer;
pub use predictor::EndpointPredictor;
pub use queue::Queue;
pub use store::{all_items, blocked_among, Batches, Deployments, Items, Jobs, Standings, TrainingClaims, WorkerModels};
pub use trainer::Trainer;
pub use transformer::Transformer;
pub use usage::EndpointUsage;
