//! What the function reads from its environment (`Config::VARIABLES`):
//! where the workforce service keeps its records and its requester keys'
//! secrets. Both of the service's functions read the same.

pub use hitloop_workforce_dynamodb::deployment::Deployment as Config;
