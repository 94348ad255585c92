//! The MTurk-compatible service's records on DynamoDB. One table (`pk`, `sk`,
//! both strings); its design for every record the service keeps is in
//! `workforce/README.md` ("The durable store"): the engine's store
//! (`store`, with where HITs are listed in `listings`), and the requester
//! keys (`requester_keys`), their secrets encrypted with KMS, and the worker
//! site's signed-out sessions (`revoked_sessions`).

pub mod deployment;
pub mod listings;
pub mod requester_keys;
pub mod revoked_sessions;
pub mod store;
pub mod table;

pub use requester_keys::DynamoKeys;
pub use revoked_sessions::DynamoRevokedSessions;
pub use store::{Calls, DynamoStore};
