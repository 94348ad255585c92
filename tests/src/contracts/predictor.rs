//! EndpointPredictor: a serving endpoint answers CSV rows with one output
//! line per row, in order, that reads as probabilities over the job's
//! labels; an endpoint that does not exist is a refusal naming it (an
//! answer, not an error), so the step can predict the batch another way.

use hitloop_core::predict::{endpoint_lines, probabilities};
use hitloop_pipeline::ports::EndpointPredictor;

/// `serving` answers over two labels.
pub async fn predictor(p: &dyn EndpointPredictor, serving: &str, unknown: &str) {
    let answer = p.predict(serving, "0.1,0.2\n0.9,0.8\n0.5,0.5\n").await.unwrap().expect("an answer");
    let lines = endpoint_lines(&answer);
    assert_eq!(lines.len(), 3, "a line per row: {answer:?}");
    for line in &lines {
        let p = probabilities(line, 2).unwrap();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-6, "{line}");
    }
    let again = p.predict(serving, "0.1,0.2\n").await.unwrap().expect("an answer");
    assert_eq!(endpoint_lines(&again), lines[..1], "the same row, the same answer");
    let refused = p.predict(unknown, "0.1,0.2\n").await.unwrap().expect_err("no such endpoint");
    assert!(refused.contains(unknown), "{refused}");
}
