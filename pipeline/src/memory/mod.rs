//! In-memory versions of the ports: for the steps' tests (no server) and
//! for the contract suite, which runs each port's behaviour against these
//! and against the AWS adapter on moto, so the two cannot drift apart.

pub mod blobs;
pub mod crowd;
pub mod deployer;
pub mod predictor;
pub mod queue;
pub mod store;
pub mod trainer;
pub mod transformer;

pub use blobs::MemoryBlobs;
pub use crowd::MemoryCrowd;
pub use deployer::MemoryDeployer;
pub use predictor::MemoryPredictor;
pub use queue::MemoryQueue;
pub use store::MemoryStore;
pub use trainer::MemoryTrainer;
pub use transformer::MemoryTransformer;
