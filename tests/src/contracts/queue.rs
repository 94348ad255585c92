//! Queue: every body sent arrives, however many.

use std::collections::BTreeSet;
use std::future::Future;

use hitloop_pipeline::ports::Queue;

/// `received` reads what reached the queue (all of it, eventually).
pub async fn queue<F, Fut>(q: &dyn Queue, url: &str, received: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Vec<String>>,
{
    q.send_all(url, vec![]).await.unwrap();
    let bodies: Vec<String> = (0..23).map(|k| format!(r#"{{"n":{k}}}"#)).collect();
    q.send_all(url, bodies.clone()).await.unwrap();
    let mut got = BTreeSet::new();
    for _ in 0..50 {
        got.extend(received().await);
        if got.len() >= bodies.len() {
            break;
        }
    }
    assert_eq!(got, bodies.into_iter().collect(), "every body, in batches of ten or not");
}
