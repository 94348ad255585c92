//! The task page: `${column}` placeholders filled from a manifest row, every
//! value escaped for HTML, the page wrapped into an HTMLQuestion whose CDATA
//! section cannot be closed early by the data.

use std::collections::BTreeMap;

use crate::job::AnswerFormat;

pub const HTML_QUESTION_NS: &str =
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd";
/// MTurk's limit on the whole Question string.
pub const MAX_QUESTION_BYTES: usize = 65_535;

/// The placeholders a template uses, in order of first appearance.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(end) if is_name(&after[..end]) => {
                let name = after[..end].to_string();
                if !out.contains(&name) {
                    out.push(name);
                }
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            c => out.push(c),
        }
    }
    out
}

/// Fills the placeholders; a placeholder with no value is left as an error.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(end) if is_name(&after[..end]) => {
                let name = &after[..end];
                let value =
                    values.get(name).ok_or_else(|| format!("no column {name:?} for placeholder ${{{name}}}"))?;
                out.push_str(&escape_html(value));
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Wraps a page into an HTMLQuestion. `]]>` in the page would end the CDATA
/// section, so it is split across two sections.
pub fn html_question(html: &str, frame_height: i64) -> String {
    let safe = html.replace("]]>", "]]]]><![CDATA[>");
    format!(
        r#"<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[<!DOCTYPE html>{safe}]]></HTMLContent><FrameHeight>{frame_height}</FrameHeight></HTMLQuestion>"#
    )
}

/// Problems with a template as a task page, before any row is seen.
pub fn check(template: &str, format: AnswerFormat, field: &str) -> Vec<String> {
    let mut p = Vec::new();
    if template.trim().is_empty() {
        p.push("the template is empty".to_string());
        return p;
    }
    if template.len() > MAX_QUESTION_BYTES {
        p.push(format!("the template is {} bytes; a Question may have at most {MAX_QUESTION_BYTES}", template.len()));
    }
    let lower = template.to_ascii_lowercase();
    match format {
        AnswerFormat::CrowdForm => {
            if !lower.contains("<crowd-form") {
                p.push("answer.format is crowd-form but the template has no <crowd-form>".into());
            }
        }
        AnswerFormat::Form => {
            if !lower.contains("<form") {
                p.push("answer.format is form but the template has no <form>".into());
            }
        }
    }
    if !template.contains(&format!("name=\"{field}\"")) && !template.contains(&format!("name='{field}'")) {
        p.push(format!("no element of the template is named {field:?} (answer.field)"));
    }
    if lower.contains("<![cdata[") || lower.contains("]]>") {
        p.push("the template may not contain CDATA sections".into());
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn finds_placeholders() {
        assert_eq!(placeholders("<img src=\"${image_url}\"> ${label} ${image_url} ${ bad} $x"), ["image_url", "label"]);
    }

    #[test]
    fn values_reach_the_worker_as_text() {
        let page = render(
            r#"<p title="${t}">${t}</p>"#,
            &row(&[("t", r#"<script>alert(1)</script>" onerror="x" ]]> </textarea>"#)]),
        )
        .unwrap();
        assert!(!page.contains("<script>"));
        assert!(!page.contains("\" onerror"));
        assert!(!page.contains("]]>"));
        assert!(page.contains("&lt;/textarea&gt;"));
    }

    #[test]
    fn missing_columns_are_errors() {
        assert!(render("${a} ${b}", &row(&[("a", "1")])).unwrap_err().contains("\"b\""));
    }

    #[test]
    fn cdata_cannot_be_closed_by_the_page() {
        let q = html_question("a ]]> b", 0);
        let root = crate::xml::parse(&q, &crate::xml::Limits::QUESTION).unwrap();
        assert_eq!(root.child_text("HTMLContent"), Some("<!DOCTYPE html>a ]]> b"));
    }

    #[test]
    fn checks_the_page_shape() {
        assert!(check(
            "<crowd-form><crowd-classifier name=\"category\"></crowd-classifier></crowd-form>",
            AnswerFormat::CrowdForm,
            "category"
        )
        .is_empty());
        assert_eq!(check("<p>hello</p>", AnswerFormat::CrowdForm, "category").len(), 2);
        assert_eq!(check("<form><input name=\"x\"></form>", AnswerFormat::Form, "label").len(), 1);
    }
}
