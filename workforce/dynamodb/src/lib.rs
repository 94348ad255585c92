//! The MTurk-compatible service's records on DynamoDB. One table (`pk`, `sk`,
//! both strings); its design for every record the service keeps is in
//! `workforce/README.md` ("The durable store"). What is here so far: the
//! requester keys (`requester_keys`), their secrets encrypted with KMS, and
//! the marketplace's writes that must hold under races (`marketplace`).

pub mod listings;
pub mod marketplace;
pub mod requester_keys;
pub mod store;
pub mod table;

pub use marketplace::DynamoMarketplace;
pub use requester_keys::DynamoKeys;
pub use store::DynamoStore;
