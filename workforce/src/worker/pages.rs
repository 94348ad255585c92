//! The worker site's HTML: plain server-rendered pages, no build step. Every
//! value that comes from a requester or a worker goes through `esc`.

use chrono::{DateTime, Utc};

use crate::model::{Hit, HitType};

/// Text for HTML content and for quoted attribute values (the one escaper
/// task templates use too).
pub use hitloop_core::template::escape_html as esc;

/// A query-string value.
pub fn url_param(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn when(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s => format!("{} days", s / 86_400),
    }
}

/// The frame around every page.
pub fn layout(title: &str, worker: Option<&str>, body: &str) -> String {
    let who = match worker {
        Some(w) => format!(
            r#"<p class="who">Signed in as <strong>{}</strong>
<form method="post" action="/worker/sign-out" class="inline"><button type="submit">Sign out</button></form></p>"#,
            esc(w)
        ),
        None => String::new(),
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · hitloop worker</title>
<link rel="stylesheet" href="/worker/assets/worker.css">
</head>
<body>
<header><a href="/worker/" class="home">hitloop · worker</a>{who}</header>
<main id="main">
{body}
</main>
</body>
</html>
"#,
        title = esc(title)
    )
}

pub fn sign_in(message: Option<&str>) -> String {
    let message = message.map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m))).unwrap_or_default();
    layout(
        "Sign in",
        None,
        &format!(
            r#"<h1>Sign in</h1>
{message}
<p>This MTurk-compatible service runs locally: a worker id is all it asks for.</p>
<form method="post" action="/worker/sign-in" class="card">
<label for="worker-id">Worker id</label>
<input id="worker-id" name="worker_id" required autocomplete="username" pattern="A[A-Z0-9]+" placeholder="A1B2C3D4E5F6G7" aria-describedby="worker-id-help">
<p id="worker-id-help" class="help">An A followed by capital letters and digits.</p>
<button type="submit">Sign in</button>
</form>"#
        ),
    )
}

/// The HITs a worker could accept, grouped by HIT type.
pub fn hit_list(worker: &str, groups: &[(HitType, Vec<Hit>)], now_ms: i64, notice: Option<&str>) -> String {
    let notice = notice.map(|m| format!(r#"<p class="notice" role="status">{}</p>"#, esc(m))).unwrap_or_default();
    let mut body = format!("<h1>HITs available to you</h1>\n{notice}\n");
    if groups.is_empty() {
        body.push_str(
            "<p>No HIT is open for you right now. Requesters post new work at any time: reload to look again.</p>",
        );
    }
    for (t, hits) in groups {
        body.push_str(&format!(
            r#"<section class="group" aria-labelledby="group-{id}">
<h2 id="group-{id}">{title}</h2>
<p>{description}</p>
<dl class="facts"><dt>Reward</dt><dd>${reward} per assignment</dd><dt>Time allotted</dt><dd>{allotted}</dd><dt>HITs</dt><dd>{n}</dd></dl>
<table><caption class="sr-only">HITs of {title}</caption>
<thead><tr><th scope="col">HIT</th><th scope="col">Available</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
<tbody>
"#,
            id = esc(&t.id),
            title = esc(&t.key.title),
            description = esc(&t.key.description),
            reward = t.reward,
            allotted = duration(t.key.assignment_duration_s),
            n = hits.len(),
        ));
        for h in hits {
            body.push_str(&format!(
                r#"<tr><td><code>{id}</code></td><td>{available}</td><td>{expires}</td><td><a href="/worker/hits/{id}">Preview<span class="sr-only"> HIT {id}</span></a></td></tr>
"#,
                id = esc(&h.id),
                available = h.available(now_ms),
                expires = when(h.expiration_ms),
            ));
        }
        body.push_str("</tbody></table>\n</section>\n");
    }
    layout("HITs", Some(worker), &body)
}

/// What the worker sees of one HIT: its facts, the task in a frame, and the
/// actions (accept in preview; return while working).
pub struct TaskView<'a> {
    pub worker: &'a str,
    pub hit: &'a Hit,
    pub hit_type: &'a HitType,
    /// The frame's URL (the task page with MTurk's parameters).
    pub frame_src: String,
    pub frame_height: i64,
    /// Some while the worker holds an accepted assignment.
    pub assignment: Option<(&'a str, i64)>,
    pub now_ms: i64,
    pub error: Option<&'a str>,
}

pub fn task(v: &TaskView<'_>) -> String {
    let t = v.hit_type;
    let error = v.error.map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m))).unwrap_or_default();
    let (heading, actions) = match v.assignment {
        None => (
            "Preview",
            format!(
                r#"<form method="post" action="/worker/hits/{id}/accept" class="inline"><button type="submit" class="primary">Accept this HIT</button></form>
<a href="/worker/">Back to the list</a>"#,
                id = esc(&v.hit.id)
            ),
        ),
        Some((assignment_id, deadline_ms)) => (
            "Working",
            format!(
                r#"<p>Submit your answer with the task's own button below before <strong>{deadline}</strong>.</p>
<form method="post" action="/worker/assignments/{aid}/return" class="inline"><button type="submit">Return this HIT</button></form>"#,
                deadline = when(deadline_ms),
                aid = esc(assignment_id)
            ),
        ),
    };
    let body = format!(
        r#"<h1>{heading}: {title}</h1>
{error}
<dl class="facts"><dt>Reward</dt><dd>${reward}</dd><dt>Time allotted</dt><dd>{allotted}</dd><dt>Expires</dt><dd>{expires}</dd><dt>Available</dt><dd>{available}</dd><dt>HIT</dt><dd><code>{hit}</code></dd></dl>
<div class="actions">{actions}</div>
<iframe title="The task: {title}" src="{src}" height="{height}" sandbox="allow-scripts allow-forms" referrerpolicy="no-referrer"></iframe>"#,
        title = esc(&t.key.title),
        reward = t.reward,
        allotted = duration(t.key.assignment_duration_s),
        expires = when(v.hit.expiration_ms),
        available = v.hit.available(v.now_ms),
        hit = esc(&v.hit.id),
        src = esc(&v.frame_src),
        height = v.frame_height.clamp(100, 4000),
    );
    layout(heading, Some(v.worker), &body)
}

/// A page that only says something (a refusal, an unknown HIT).
pub fn message(title: &str, worker: Option<&str>, text: &str) -> String {
    layout(
        title,
        worker,
        &format!(
            r#"<h1>{}</h1><p role="alert">{}</p><p><a href="/worker/">Back to the list</a></p>"#,
            esc(title),
            esc(text)
        ),
    )
}

/// What the task frame shows after externalSubmit.
pub fn submitted(ok: bool, text: &str) -> String {
    let class = if ok { "notice" } else { "error" };
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title><link rel="stylesheet" href="/worker/assets/worker.css"></head>
<body class="frame"><p class="{class}" role="status" id="submit-result">{text}</p>
<p><a href="/worker/" target="_top">Back to the list of HITs</a></p></body></html>"#,
        title = if ok { "Submitted" } else { "Not submitted" },
        text = esc(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_shown_is_escaped() {
        assert_eq!(esc(r#"<a href="x" onclick='y'>&"#), "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;");
        assert_eq!(esc("`"), "&#96;");
        let page = message("<b>", Some("A1"), "<script>alert(1)</script>");
        assert!(!page.contains("<script>alert") && page.contains("&lt;script&gt;"));
        assert_eq!(url_param("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
