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

pub(crate) fn when(ms: i64) -> String {
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

/// Who a page is rendered for: the signed-in worker, if any, and the token
/// every form on it repeats (`csrf.rs`).
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub worker: Option<&'a str>,
    pub csrf: &'a str,
}

impl<'a> Viewer<'a> {
    pub fn signed_in(worker: &'a str, csrf: &'a str) -> Self {
        Viewer { worker: Some(worker), csrf }
    }

    pub fn anonymous(csrf: &'a str) -> Self {
        Viewer { worker: None, csrf }
    }
}

/// A form that posts to `action`, carrying the token.
pub fn post_form(action: &str, class: &str, csrf: &str, inner: &str) -> String {
    format!(
        r#"<form method="post" action="{}" class="{}">{}{inner}</form>"#,
        esc(action),
        esc(class),
        super::csrf::field(csrf)
    )
}

/// The frame around every page.
pub fn layout(title: &str, viewer: Viewer<'_>, body: &str) -> String {
    let who = match viewer.worker {
        Some(w) => format!(
            r#"<nav class="who" aria-label="Account"><a href="/worker/">Find work</a> <a href="/worker/me">My work</a>
<span>Signed in as <strong>{}</strong></span>
{}</nav>"#,
            esc(w),
            post_form("/worker/sign-out", "inline", viewer.csrf, r#"<button type="submit">Sign out</button>"#)
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

/// What the sign-in form asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInForm {
    /// The local sandbox: a worker id, no password (not an authentication).
    WorkerId,
    /// A deployed site: the email the team lead invited and a password.
    EmailPassword,
}

pub fn sign_in(viewer: Viewer<'_>, form: SignInForm, message: Option<&str>) -> String {
    let message = message.map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m))).unwrap_or_default();
    let (intro, fields) = match form {
        SignInForm::WorkerId => (
            r#"<p class="local">Local sandbox: this service runs on your machine and asks only for a worker id. A deployed workforce signs people in with their email and password.</p>"#,
            r#"<label for="worker-id">Worker id</label>
<input id="worker-id" name="worker_id" required autocomplete="username" pattern="A[A-Z0-9]+" placeholder="A1B2C3D4E5F6G7" aria-describedby="worker-id-help">
<p id="worker-id-help" class="help">An A followed by capital letters and digits.</p>
<button type="submit">Sign in</button>"#,
        ),
        SignInForm::EmailPassword => (
            r#"<p>Sign in with the email your team lead invited and your password. The first time, use the temporary password from the invitation: you will choose your own next.</p>"#,
            r#"<label for="email">Email</label>
<input id="email" name="email" type="email" required autocomplete="username">
<label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="current-password">
<button type="submit">Sign in</button>"#,
        ),
    };
    let body =
        format!("<h1>Sign in</h1>\n{message}\n{intro}\n{}", post_form("/worker/sign-in", "card", viewer.csrf, fields));
    layout("Sign in", viewer, &body)
}

/// The first sign-in of an invited person: their own password.
pub fn choose_password(viewer: Viewer<'_>, email: &str, session: &str, message: Option<&str>) -> String {
    let message = message.map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m))).unwrap_or_default();
    let fields = format!(
        r#"<input type="hidden" name="email" value="{email}">
<input type="hidden" name="session" value="{session}">
<label for="new-password">New password</label>
<input id="new-password" name="new_password" type="password" required minlength="12" autocomplete="new-password" aria-describedby="new-password-help">
<p id="new-password-help" class="help">At least 12 characters, with capitals, small letters and digits.</p>
<button type="submit">Set password and sign in</button>"#,
        email = esc(email),
        session = esc(session)
    );
    let body = format!(
        "<h1>Choose your password</h1>\n{message}\n<p>Signing in as <strong>{}</strong> for the first time.</p>\n{}",
        esc(email),
        post_form("/worker/sign-in", "card", viewer.csrf, &fields)
    );
    layout("Choose your password", viewer, &body)
}

/// The HITs a worker could accept, grouped by HIT type.
pub fn hit_list(viewer: Viewer<'_>, groups: &[(HitType, Vec<Hit>)], now_ms: i64, notice: Option<&str>) -> String {
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
{start}
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
            start = post_form(
                &format!("/worker/types/{}/next", url_param(&t.id)),
                "start",
                viewer.csrf,
                &format!(
                    r#"<button type="submit" class="primary">Start working<span class="sr-only"> on {}</span></button>"#,
                    esc(&t.key.title)
                )
            ),
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
    layout("HITs", viewer, &body)
}

/// What the worker sees of one HIT: its facts, the task in a frame, and the
/// actions (accept in preview; return while working).
pub struct TaskView<'a> {
    pub viewer: Viewer<'a>,
    pub hit: &'a Hit,
    pub hit_type: &'a HitType,
    /// The frame's URL (the task page with MTurk's parameters).
    pub frame_src: String,
    pub frame_height: i64,
    /// Some while the worker holds an accepted assignment.
    pub assignment: Option<(&'a str, i64)>,
    pub now_ms: i64,
    pub error: Option<&'a str>,
    /// In the labeling stream: the HIT type it goes through (each submit
    /// brings the next task of it).
    pub stream: Option<&'a str>,
}

pub fn task(v: &TaskView<'_>) -> String {
    let t = v.hit_type;
    let error = v.error.map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m))).unwrap_or_default();
    let (heading, actions) = match v.assignment {
        None => (
            "Preview",
            format!(
                "{}\n<a href=\"/worker/\">Back to the list</a>",
                post_form(
                    &format!("/worker/hits/{}/accept", url_param(&v.hit.id)),
                    "inline",
                    v.viewer.csrf,
                    r#"<button type="submit" class="primary">Accept this HIT</button>"#
                )
            ),
        ),
        Some((assignment_id, deadline_ms)) => {
            let left = (deadline_ms - v.now_ms).max(0) / 1000;
            let time_left = format!(
                r#"<p>Time left: <strong id="time-left" data-seconds="{left}" aria-live="off">{}</strong> (until {})</p>"#,
                duration(left),
                when(deadline_ms)
            );
            match v.stream {
                None => (
                    "Working",
                    format!(
                        "<p>Submit your answer with the task's own button below.</p>\n{time_left}\n{form}",
                        form = post_form(
                            &format!("/worker/assignments/{}/return", url_param(assignment_id)),
                            "inline",
                            v.viewer.csrf,
                            r#"<button type="submit">Return this HIT</button>"#
                        )
                    ),
                ),
                Some(hit_type_id) => (
                    "Labeling",
                    format!(
                        r#"<p id="keys-help">Keys in the task: <kbd>1</kbd>–<kbd>9</kbd> choose an answer, <kbd>Enter</kbd> submits; the next task follows by itself.</p>
{time_left}
{skip}
{next}
<a href="/worker/">Stop</a>"#,
                        skip = post_form(
                            &format!("/worker/assignments/{}/skip", url_param(assignment_id)),
                            "inline",
                            v.viewer.csrf,
                            r#"<button type="submit">Skip this one</button>"#
                        ),
                        next = post_form(
                            &format!("/worker/types/{}/next", url_param(hit_type_id)),
                            "inline stream-next",
                            v.viewer.csrf,
                            r#"<button type="submit" class="sr-only" tabindex="-1">Next task</button>"#
                        ),
                    ),
                ),
            }
        }
    };
    let body = format!(
        r#"<h1>{heading}: {title}</h1>
{error}
<dl class="facts"><dt>Reward</dt><dd>${reward}</dd><dt>Time allotted</dt><dd>{allotted}</dd><dt>Expires</dt><dd>{expires}</dd><dt>Available</dt><dd>{available}</dd><dt>HIT</dt><dd><code>{hit}</code></dd></dl>
<div class="actions">{actions}</div>
<iframe title="The task: {title}" src="{src}" height="{height}" sandbox="allow-scripts allow-forms" referrerpolicy="no-referrer"></iframe>
<script src="/worker/assets/stream.js"></script>"#,
        title = esc(&t.key.title),
        reward = t.reward,
        allotted = duration(t.key.assignment_duration_s),
        expires = when(v.hit.expiration_ms),
        available = v.hit.available(v.now_ms),
        hit = esc(&v.hit.id),
        src = esc(&v.frame_src),
        height = v.frame_height.clamp(100, 4000),
    );
    layout(heading, v.viewer, &body)
}

/// A page that only says something (a refusal, an unknown HIT).
pub fn message(title: &str, viewer: Viewer<'_>, text: &str) -> String {
    layout(
        title,
        viewer,
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
<body class="frame" data-submitted="{ok}"><p class="{class}" role="status" id="submit-result">{text}</p>
<script src="/worker/assets/submitted.js"></script>
<p><a href="/worker/" target="_top">Back to the list of HITs</a></p></body></html>"#,
        title = if ok { "Submitted" } else { "Not submitted" },
        ok = ok,
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
        let page = message("<b>", Viewer::signed_in("A1", "t"), "<script>alert(1)</script>");
        assert!(!page.contains("<script>alert") && page.contains("&lt;script&gt;"));
        assert_eq!(url_param("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
