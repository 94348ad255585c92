//! The labeling stream, timed: from a person's submit to the next task
//! ready in their browser, how many HTTP requests and how long. Each task
//! is the four requests a browser makes once its assets are cached: the
//! answer (externalSubmit, from the task frame), the next task (POST, a
//! redirect), the task page, and the frame's task document. Over HTTP on
//! loopback, one person at a time, times measured by the client (the
//! service's time plus loopback). On the memory store and on the DynamoDB
//! store (moto), with the DynamoDB requests the four made.

use std::time::{Duration, Instant};

use hitloop_workforce_dynamodb::Calls;

use super::workforce::{bench_service, BenchStore};

const QUESTION: &str = r#"<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"><HTMLContent><![CDATA[<!DOCTYPE html><html><body><crowd-form><crowd-classifier name="label" categories="['a', 'b', 'c']" header="Which?"></crowd-classifier></crowd-form></body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"#;

/// The four requests of one task, in order.
pub const STEPS: [&str; 4] = ["submit (externalSubmit)", "next task (POST, 303)", "task page", "task document (frame)"];

pub struct Report {
    pub store: &'static str,
    pub tasks: usize,
    /// Per step: p50, p99.
    pub steps: Vec<(Duration, Duration)>,
    /// All four: p50, p99.
    pub total: (Duration, Duration),
    /// DynamoDB requests per task (DynamoDB store).
    pub calls_per_task: Option<f64>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub async fn run(tasks: usize, store: BenchStore) -> Result<Report, String> {
    let (service, dynamodb) = bench_service(&store).await?;
    let mturk =
        aws_sdk_mturk::Client::new(&hitloop_aws::local_sdk_config_as(&service.url, service.credentials()).await);
    let mut hit_type = String::new();
    for _ in 0..=tasks {
        let hit = mturk
            .create_hit()
            .max_assignments(1)
            .lifetime_in_seconds(86_400)
            .assignment_duration_in_seconds(600)
            .reward("0.05")
            .title("Classify")
            .description("One of three")
            .question(QUESTION)
            .send()
            .await
            .map_err(|e| aws_sdk_mturk::error::DisplayErrorContext(e).to_string())?;
        hit_type = hit.hit.and_then(|h| h.hit_type_id).unwrap_or_default();
    }

    // One person, signed in locally, with the form token a page gave them.
    let csrf = "0123456789abcdef0123456789abcdef";
    let cookies = format!("hitloop_worker=ABENCHPERSON1; hitloop_csrf={csrf}");
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().map_err(|e| e.to_string())?;
    let url = service.url.clone();
    let next_url = format!("{url}/worker/types/{hit_type}/next");
    let next = || http.post(&next_url).header("cookie", &cookies).form(&[("csrf", csrf)]).send();
    let location = |r: &reqwest::Response| {
        r.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_string).ok_or("no redirect")
    };
    let mut current = location(&next().await.map_err(|e| e.to_string())?)?.to_string();

    let mut steps: Vec<Vec<Duration>> = vec![Vec::new(); STEPS.len()];
    let mut totals = Vec::new();
    let before: Option<Calls> = dynamodb.as_ref().map(|d| d.calls());
    for _ in 0..tasks {
        let assignment =
            current.trim_start_matches("/worker/assignments/").split('?').next().unwrap_or_default().to_string();
        let a = service.shared.engine.store().assignment(&assignment).await.map_err(|e| e.to_string())?;
        let hit_id = a.map(|a| a.hit_id).ok_or("no such assignment")?;
        let answer = r#"[{"label":{"label":"a"}}]"#;
        let started = Instant::now();
        let t = Instant::now();
        let submitted = http
            .post(format!("{url}/mturk/externalSubmit"))
            .form(&[("assignmentId", assignment.as_str()), ("taskAnswers", answer)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !submitted.status().is_success() {
            return Err(format!("submit refused: {}", submitted.status()));
        }
        submitted.bytes().await.map_err(|e| e.to_string())?;
        steps[0].push(t.elapsed());
        let t = Instant::now();
        let redirect = next().await.map_err(|e| e.to_string())?;
        current = location(&redirect)?.to_string();
        steps[1].push(t.elapsed());
        let t = Instant::now();
        let page = http.get(format!("{url}{current}")).header("cookie", &cookies).send().await;
        page.map_err(|e| e.to_string())?.bytes().await.map_err(|e| e.to_string())?;
        steps[2].push(t.elapsed());
        let t = Instant::now();
        let document = http.get(format!("{url}/worker/task/{hit_id}")).send().await.map_err(|e| e.to_string())?;
        document.bytes().await.map_err(|e| e.to_string())?;
        steps[3].push(t.elapsed());
        totals.push(started.elapsed());
    }
    let calls_per_task = match (&dynamodb, before) {
        (Some(d), Some(before)) => Some(d.calls().since(&before).total() as f64 / tasks.max(1) as f64),
        _ => None,
    };
    service.stop().await;
    let mut figures = Vec::new();
    for mut s in steps {
        s.sort();
        figures.push((percentile(&s, 0.5), percentile(&s, 0.99)));
    }
    totals.sort();
    Ok(Report {
        store: if dynamodb.is_some() { "dynamodb (moto)" } else { "memory" },
        tasks,
        steps: figures,
        total: (percentile(&totals, 0.5), percentile(&totals, 0.99)),
        calls_per_task,
    })
}

pub fn render(reports: &[Report]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut out = format!("labeling stream: {} HTTP requests from one submit to the next task ready\n", STEPS.len());
    for r in reports {
        out.push_str(&format!("\n{} store, {} tasks, one person; ms p50 / p99\n", r.store, r.tasks));
        for (name, (p50, p99)) in STEPS.iter().zip(&r.steps) {
            out.push_str(&format!("  {name:<26} {:>8.2} {:>8.2}\n", ms(*p50), ms(*p99)));
        }
        out.push_str(&format!("  {:<26} {:>8.2} {:>8.2}\n", "submit to next task ready", ms(r.total.0), ms(r.total.1)));
        if let Some(c) = r.calls_per_task {
            out.push_str(&format!("  DynamoDB requests per task: {c:.1}\n"));
        }
    }
    out
}
