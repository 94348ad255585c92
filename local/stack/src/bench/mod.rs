//! The benchmarks `hitloop-bench` runs (see `make bench`,
//! `make bench-collect`, `make bench-cold-start`): ingest and publish at
//! scale, collect's calls and CPU per notification, each function's binary
//! size and cold start, the MTurk-compatible service's requests per second
//! and latency (`make bench-workforce`).

pub mod cold_start;
pub mod collect;
pub mod ingest;
pub mod process;
pub mod proxy;
pub mod refit;
pub mod runtime_api;
pub mod stream;
pub mod workforce;
