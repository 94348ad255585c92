//! What the functions write to their logs while workers send hostile
//! answers: the item and assignment are named (a user can find the answer in
//! DynamoDB), but no answer is logged in full and no credential at all.
//! A test binary of its own: it installs the process-wide log subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_name_the_item_but_never_hold_an_answer_or_a_credential() {
    let captured = Captured::default();
    // The template's log level (INFO), and hitloop's own DEBUG lines too.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info,hitloop_pipeline=debug,collect=debug,publish=debug"))
        .with_writer(captured.clone())
        .init();
    let stack = Stack::new(Options { crowd: None, ..Default::default() }).await;
    stack.submit("logs", &iris_job(), &iris_template(), "manifest.csv", "id,image_url\nq,https://x/q.jpg\n").await;
    stack.router.pump_until_idle(50).await;
    let hit = stack.items("logs").await[0].hit_id.clone().unwrap();
    let secret = "PRIVATE-ANSWER-".repeat(20_000);
    let answers = [
        json!({"Fields": [["taskAnswers", format!("[{{\"category\": {{\"label\": \"{secret}\"}}}}]")]]}),
        json!({"Fields": [["taskAnswers", format!("{{{secret}")]]}),
    ];
    for (n, a) in answers.iter().enumerate() {
        assert!(stack.work(&hit, &format!("ALOGS{n}"), a).await);
    }
    stack.flush().await;
    stack.router.pump_until_idle(50).await;
    let answers = stack.answers("logs", "q").await;
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|a| a.invalid_reason.is_some()), "both answers are invalid");

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("invalid answer recorded"), "the invalid answers are logged");
    for a in &answers {
        assert!(text.contains(&a.assignment_id), "the log names assignment {}", a.assignment_id);
    }
    let longest_run = text.split("PRIVATE-ANSWER-").count();
    assert!(longest_run < 40, "at most a few words of an answer are quoted, not {longest_run} pieces");
    assert!(text.len() < 200_000, "the logs stay small: {} bytes", text.len());
    // the secret key every client of the stack signs with
    use aws_sdk_s3::config::ProvideCredentials;
    let provider = stack.sdk.credentials_provider().unwrap();
    let creds = provider.provide_credentials().await.unwrap();
    assert!(!text.contains(creds.secret_access_key()), "no credential in the logs");
}
