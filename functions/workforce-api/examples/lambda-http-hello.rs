//! A minimal lambda_http function, built like workforce-api: the cold-start
//! bench's yardstick for what any HTTP function pays before its first request.

use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_request: Request| async { Ok::<_, Error>(Response::new(Body::from("hello"))) })).await
}
