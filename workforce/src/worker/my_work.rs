//! "My work": what the signed-in person did and is owed (their own figures
//! only: the page takes no worker id, it shows the session's), the messages
//! the requester sent them, and their recent assignments.

use crate::figures::WorkerFigures;
use crate::model::{Assignment, AssignmentStatus, WorkerMessage};

use super::pages::{esc, layout, when, Viewer};

/// How many recent assignments the page lists.
pub const RECENT: usize = 25;

/// Figures for all time and for the last seven days, side by side.
pub struct MyWork<'a> {
    pub all_time: &'a WorkerFigures,
    pub last_week: &'a WorkerFigures,
    pub messages: &'a [WorkerMessage],
    /// Newest first.
    pub recent: &'a [Assignment],
    pub now_ms: i64,
}

fn minutes_seconds(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// What the person sees of an assignment's status (an overdue one is
/// abandoned, as the requester's figures count it).
fn status_text(a: &Assignment, now_ms: i64) -> &'static str {
    match a.status_at(now_ms) {
        AssignmentStatus::Accepted if now_ms >= a.deadline_ms => "Abandoned (time ran out)",
        AssignmentStatus::Accepted => "In progress",
        AssignmentStatus::Returned => "Returned",
        AssignmentStatus::Abandoned => "Abandoned (time ran out)",
        AssignmentStatus::Submitted => "Awaiting review",
        AssignmentStatus::Approved => "Approved",
        AssignmentStatus::Rejected => "Rejected",
    }
}

fn figures_rows(all: &WorkerFigures, week: &WorkerFigures) -> String {
    let median = |f: &WorkerFigures| f.median_active_ms.map(minutes_seconds).unwrap_or_else(|| "–".into());
    let rows: [(&str, String, String); 10] = [
        ("Earned (rewards and bonuses)", format!("${}", all.earnings()), format!("${}", week.earnings())),
        ("Rewards of approved work", format!("${}", all.rewards), format!("${}", week.rewards)),
        ("Bonuses", format!("${}", all.bonuses), format!("${}", week.bonuses)),
        ("Submitted", all.submitted.to_string(), week.submitted.to_string()),
        ("Approved", all.approved.to_string(), week.approved.to_string()),
        ("Rejected", all.rejected.to_string(), week.rejected.to_string()),
        ("Awaiting review", all.awaiting_review.to_string(), week.awaiting_review.to_string()),
        (
            "Returned or abandoned",
            (all.returned + all.abandoned).to_string(),
            (week.returned + week.abandoned).to_string(),
        ),
        ("Time working (accept to submit)", minutes_seconds(all.active_ms), minutes_seconds(week.active_ms)),
        ("Typical time per task (median)", median(all), median(week)),
    ];
    rows.iter()
        .map(|(name, a, w)| format!("<tr><th scope=\"row\">{name}</th><td>{}</td><td>{}</td></tr>\n", esc(a), esc(w)))
        .collect()
}

pub fn page(viewer: Viewer<'_>, v: &MyWork<'_>) -> String {
    let mut body = String::from("<h1>My work</h1>\n");
    body.push_str(&format!(
        r#"<p class="lead">You have earned <strong>${}</strong> here ({} approved). Only you see this page.</p>
<section class="card" aria-labelledby="figures">
<h2 id="figures">Figures</h2>
<table class="figures"><thead><tr><th scope="col"><span class="sr-only">Figure</span></th><th scope="col">All time</th><th scope="col">Last 7 days</th></tr></thead>
<tbody>
{}</tbody></table>
</section>
"#,
        v.all_time.earnings(),
        v.all_time.approved,
        figures_rows(v.all_time, v.last_week)
    ));
    body.push_str(
        r#"<section class="card" aria-labelledby="messages"><h2 id="messages">Messages from the requester</h2>"#,
    );
    if v.messages.is_empty() {
        body.push_str("<p>No messages.</p>");
    }
    for m in v.messages {
        body.push_str(&format!(
            r#"<article class="message"><h3>{}</h3><p class="help">{}</p><p>{}</p></article>"#,
            esc(&m.subject),
            when(m.sent_ms),
            esc(&m.text)
        ));
    }
    body.push_str("</section>\n");
    body.push_str(
        r#"<section class="card" aria-labelledby="recent"><h2 id="recent">Recent assignments</h2>
<div class="scroll"><table><thead><tr><th scope="col">HIT</th><th scope="col">Status</th><th scope="col">Accepted</th><th scope="col">Time taken</th><th scope="col">Reward</th></tr></thead><tbody>
"#,
    );
    if v.recent.is_empty() {
        body.push_str(r#"<tr><td colspan="5">Nothing yet: <a href="/worker/">find work</a>.</td></tr>"#);
    }
    for a in v.recent.iter().take(RECENT) {
        let taken = a.submit_ms.map(|s| minutes_seconds(s - a.accept_ms)).unwrap_or_else(|| "–".into());
        let reward = a.reward.map(|r| format!("${r}")).unwrap_or_else(|| "–".into());
        body.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&a.hit_id),
            status_text(a, v.now_ms),
            when(a.accept_ms),
            taken,
            esc(&reward)
        ));
    }
    body.push_str("</tbody></table></div></section>\n");
    layout("My work", viewer, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_messages_and_shows_figures() {
        let all = WorkerFigures { worker_id: "A1".into(), approved: 3, submitted: 4, ..Default::default() };
        let week = WorkerFigures { worker_id: "A1".into(), ..Default::default() };
        let messages = [WorkerMessage {
            id: "m".into(),
            worker_id: "A1".into(),
            sent_ms: 0,
            subject: "<b>hi</b>".into(),
            text: "<script>x</script>".into(),
        }];
        let html = page(
            Viewer::signed_in("A1", "t"),
            &MyWork { all_time: &all, last_week: &week, messages: &messages, recent: &[], now_ms: 0 },
        );
        assert!(html.contains("&lt;b&gt;hi&lt;/b&gt;") && !html.contains("<script>x"));
        assert!(html.contains("<th scope=\"row\">Approved</th><td>3</td><td>0</td>"), "{html}");
        assert!(html.contains("find work"));
    }

    #[test]
    fn an_overdue_assignment_reads_abandoned() {
        let mut a = crate::store::tests::assignment(AssignmentStatus::Accepted, None);
        a.deadline_ms = 10;
        assert_eq!(status_text(&a, 5), "In progress");
        assert_eq!(status_text(&a, 10), "Abandoned (time ran out)");
    }
}
