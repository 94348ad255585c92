//! hitloop-mturk: a service that speaks the Amazon Mechanical Turk Requester
//! API (2017-01-17) over HTTP, with a simulated workforce on a simulated clock.
//!
//! Mechanical Turk closed on 2026-09-30; this is the MTurk endpoint hitloop's
//! tests, its local demo and its users talk to, through the real AWS SDKs.
//!
//! Layers, outside in: `http` (wire protocol, control endpoints, request
//! faults; `auth` checks each request's signature) -> `api` (operation names) -> `engine` (the service logic) ->
//! `store` (state). `notify` delivers events; `crowd` plays the workers.

pub mod answer;
pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod crowd;
pub mod engine;
pub mod error;
pub mod faults;
pub mod figures;
pub mod http;
pub mod ids;
pub mod model;
pub mod notify;
pub mod params;
pub mod quals;
pub mod question;
pub mod server;
pub mod store;
pub mod wire;
pub mod worker;
