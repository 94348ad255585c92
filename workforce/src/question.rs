//! Question XML: validation as CreateHIT does it, and a reading of the task
//! page good enough for a simulated worker to fill it in the way the real
//! page would submit it.

use hitloop_core::xml::{self, Element, Limits};

use crate::error::{ApiError, ApiResult};

pub const MAX_QUESTION_BYTES: usize = 65_535;
pub const NS_HTML: &str =
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd";
pub const NS_EXTERNAL: &str =
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd";
pub const NS_FORM: &str =
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd";
pub const NS_FORM_2005: &str =
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionForm.xsd";

/// Names the task page may not use for its own fields (ExternalQuestion docs).
pub const RESERVED_FIELDS: &[&str] = &["assignmentId", "hitId", "turkSubmitTo", "workerId"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    Html { content: String, frame_height: i64 },
    External { url: String, frame_height: i64 },
    Form { questions: Vec<FormQuestion> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormQuestion {
    pub identifier: String,
    /// Selection identifiers for a SelectionAnswer; empty for free text.
    pub selections: Vec<String>,
}

fn parse_error(msg: impl std::fmt::Display) -> ApiError {
    ApiError::request("AWS.MechanicalTurk.XMLParseError", format!("There was an error parsing the XML question or answer data in your request.  Please make sure the data is well-formed and validates against the appropriate schema. Details: {msg}"))
}

fn frame_height(root: &Element) -> ApiResult<i64> {
    let raw = root.child_text("FrameHeight").ok_or_else(|| parse_error("FrameHeight is required"))?;
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|h| *h >= 0)
        .ok_or_else(|| parse_error("FrameHeight must be a whole number of pixels"))
}

/// Checks a Question string and returns what kind of task it is.
pub fn validate(question: &str) -> ApiResult<Question> {
    if question.len() > MAX_QUESTION_BYTES {
        return Err(ApiError::validation(format!(
            "The value of Question is {} bytes long; it must be at most {MAX_QUESTION_BYTES} bytes.",
            question.len()
        )));
    }
    let root = xml::parse(question, &Limits::QUESTION).map_err(parse_error)?;
    let ns = root.namespace.as_deref().unwrap_or("");
    match root.name.as_str() {
        "HTMLQuestion" if ns == NS_HTML => {
            let content = root.child_text("HTMLContent").unwrap_or("").to_string();
            if content.trim().is_empty() {
                return Err(parse_error("HTMLContent is required"));
            }
            Ok(Question::Html { content, frame_height: frame_height(&root)? })
        }
        "ExternalQuestion" if ns == NS_EXTERNAL => {
            let url = root.child_text("ExternalURL").unwrap_or("").trim().to_string();
            if !is_allowed_external_url(&url) {
                return Err(parse_error(format!("ExternalURL {url:?} must be an https URL")));
            }
            Ok(Question::External { url, frame_height: frame_height(&root)? })
        }
        "QuestionForm" if ns == NS_FORM || ns == NS_FORM_2005 => {
            let mut questions = Vec::new();
            for q in root.children_named("Question") {
                let identifier = q.child_text("QuestionIdentifier").unwrap_or("").trim().to_string();
                if identifier.is_empty() || q.child("AnswerSpecification").is_none() {
                    return Err(parse_error("each Question needs a QuestionIdentifier and an AnswerSpecification"));
                }
                let selections = q
                    .child("AnswerSpecification")
                    .and_then(|s| s.child("SelectionAnswer"))
                    .and_then(|s| s.child("Selections"))
                    .map(|s| {
                        s.children_named("Selection")
                            .filter_map(|x| x.child_text("SelectionIdentifier"))
                            .map(|t| t.trim().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                questions.push(FormQuestion { identifier, selections });
            }
            if questions.is_empty() {
                return Err(parse_error("a QuestionForm needs at least one Question"));
            }
            Ok(Question::Form { questions })
        }
        "HTMLQuestion" | "ExternalQuestion" | "QuestionForm" => {
            Err(parse_error(format!("the namespace {ns:?} is not the {} schema namespace", root.name)))
        }
        other => Err(parse_error(format!("{other} is not a QuestionForm, HTMLQuestion or ExternalQuestion"))),
    }
}

/// MTurk requires HTTPS. Loopback http is also accepted so that task pages
/// served on this machine can be tried locally (a documented difference).
fn is_allowed_external_url(url: &str) -> bool {
    if url.starts_with("https://") && url.len() > "https://".len() {
        return true;
    }
    ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/'])))
}

/// How a worker's answer is shaped for this task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerShape {
    /// A crowd-form page: one `taskAnswers` answer with JSON
    /// `[{"<field>":{"label":"..."}}]`.
    CrowdForm { field: String, categories: Vec<String> },
    /// A plain HTML form: one answer per field; `options` are the values a
    /// radio group or select offers (empty for free text).
    PlainForm { field: String, options: Vec<String> },
    /// A QuestionForm: a SelectionIdentifier (or FreeText) answer.
    Form { identifier: String, selections: Vec<String> },
    /// An ExternalQuestion: whatever the external page posts; we post one field.
    External { field: String },
}

/// Reads the answer shape from a validated question. `preferred_field` names
/// the form field holding the label when a page has several.
pub fn answer_shape(q: &Question, preferred_field: Option<&str>) -> AnswerShape {
    match q {
        Question::Html { content, .. } => html_shape(content, preferred_field),
        Question::External { .. } => AnswerShape::External { field: preferred_field.unwrap_or("label").to_string() },
        Question::Form { questions } => {
            let q = preferred_field
                .and_then(|f| questions.iter().find(|q| q.identifier == f))
                .or_else(|| questions.iter().find(|q| !q.selections.is_empty()))
                .or(questions.first());
            match q {
                Some(q) => AnswerShape::Form { identifier: q.identifier.clone(), selections: q.selections.clone() },
                None => AnswerShape::External { field: "label".into() },
            }
        }
    }
}

fn html_shape(html: &str, preferred_field: Option<&str>) -> AnswerShape {
    if html.contains("<crowd-form") {
        for tag in ["crowd-image-classifier", "crowd-classifier", "crowd-input", "crowd-radio-group"] {
            for attrs in tags(html, tag) {
                if let Some(name) = attr(&attrs, "name") {
                    if preferred_field.is_none_or(|p| p == name) {
                        let categories = attr(&attrs, "categories").map(|c| parse_categories(&c)).unwrap_or_default();
                        return AnswerShape::CrowdForm { field: name, categories };
                    }
                }
            }
        }
        return AnswerShape::CrowdForm { field: preferred_field.unwrap_or("label").into(), categories: vec![] };
    }
    // A plain form: radio groups and selects offer options; the first one
    // (or the preferred field) carries the label.
    let mut fields: Vec<(String, Vec<String>)> = Vec::new();
    for tag in ["input", "select", "textarea"] {
        for attrs in tags(html, tag) {
            let Some(name) = attr(&attrs, "name") else { continue };
            if RESERVED_FIELDS.contains(&name.as_str()) {
                continue;
            }
            let kind = attr(&attrs, "type").unwrap_or_default().to_ascii_lowercase();
            if matches!(kind.as_str(), "hidden" | "submit" | "button") {
                continue;
            }
            let value = attr(&attrs, "value");
            let index = match fields.iter().position(|(n, _)| *n == name) {
                Some(i) => i,
                None => {
                    fields.push((name.clone(), vec![]));
                    fields.len() - 1
                }
            };
            if kind == "radio" {
                fields[index].1.extend(value);
            }
        }
    }
    for attrs in tags(html, "option") {
        if let (Some(v), Some(sel)) = (attr(&attrs, "value"), fields.iter_mut().find(|(_, o)| o.is_empty())) {
            sel.1.push(v);
        }
    }
    let chosen = preferred_field
        .and_then(|p| fields.iter().find(|(n, _)| n == p))
        .or_else(|| fields.iter().find(|(_, o)| !o.is_empty()))
        .or(fields.first());
    match chosen {
        Some((field, options)) => AnswerShape::PlainForm { field: field.clone(), options: options.clone() },
        None => AnswerShape::PlainForm { field: preferred_field.unwrap_or("label").into(), options: vec![] },
    }
}

/// The attribute text of every `<tag ...>` in an HTML page (not a full HTML
/// parser: enough to read the task pages a requester writes).
fn tags(html: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        if !after.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/') {
            rest = after;
            continue;
        }
        let mut quote: Option<char> = None;
        let mut end = after.len();
        for (j, c) in after.char_indices() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => {
                    end = j;
                    break;
                }
                _ => {}
            }
        }
        out.push(after[..end].to_string());
        rest = &after[end.min(after.len())..];
    }
    out
}

/// One attribute's value from a tag's attribute text.
fn attr(attrs: &str, name: &str) -> Option<String> {
    let bytes = attrs.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let key_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' && bytes[i] != b'/' {
            i += 1;
        }
        let key = &attrs[key_start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let q = bytes[i];
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
                value = attrs[start..i.min(attrs.len())].to_string();
                i += 1;
            } else {
                let start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = attrs[start..i].to_string();
            }
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(html_unescape(&value));
        }
        if key.is_empty() {
            i += 1;
        }
    }
    None
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `categories="['a','b']"` (JSON-ish, single or double quotes) into a list.
fn parse_categories(raw: &str) -> Vec<String> {
    raw.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|c| c.trim().trim_matches(|ch| ch == '\'' || ch == '"').trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html_question(body: &str) -> String {
        format!(
            r#"<HTMLQuestion xmlns="{NS_HTML}"><HTMLContent><![CDATA[{body}]]></HTMLContent><FrameHeight>650</FrameHeight></HTMLQuestion>"#
        )
    }

    #[test]
    fn reads_a_crowd_form_classifier() {
        let q = validate(&html_question(
            r#"<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
            <crowd-form><crowd-image-classifier src="https://x/1.jpg" header="Which?" name="category"
              categories="['Iris-setosa', 'Iris-versicolor', 'Iris-virginica']"></crowd-image-classifier></crowd-form>"#,
        ))
        .unwrap();
        assert_eq!(
            answer_shape(&q, None),
            AnswerShape::CrowdForm {
                field: "category".into(),
                categories: vec!["Iris-setosa".into(), "Iris-versicolor".into(), "Iris-virginica".into()]
            }
        );
    }

    #[test]
    fn reads_a_plain_radio_form() {
        let q = validate(&html_question(
            r#"<form><input type="hidden" name="assignmentId" value=""><input type=radio name="species" value="setosa">
               <input type="radio" name="species" value="virginica"><textarea name="comment"></textarea></form>"#,
        ))
        .unwrap();
        assert_eq!(
            answer_shape(&q, None),
            AnswerShape::PlainForm { field: "species".into(), options: vec!["setosa".into(), "virginica".into()] }
        );
    }

    #[test]
    fn reads_question_forms_and_external_questions() {
        let form = format!(
            r#"<QuestionForm xmlns="{NS_FORM}"><Question><QuestionIdentifier>species</QuestionIdentifier><QuestionContent><Text>?</Text></QuestionContent>
            <AnswerSpecification><SelectionAnswer><Selections><Selection><SelectionIdentifier>a</SelectionIdentifier><Text>A</Text></Selection>
            <Selection><SelectionIdentifier>b</SelectionIdentifier><Text>B</Text></Selection></Selections></SelectionAnswer></AnswerSpecification></Question></QuestionForm>"#
        );
        let q = validate(&form).unwrap();
        assert_eq!(
            answer_shape(&q, None),
            AnswerShape::Form { identifier: "species".into(), selections: vec!["a".into(), "b".into()] }
        );
        let ext = format!(
            r#"<ExternalQuestion xmlns="{NS_EXTERNAL}"><ExternalURL>https://example.com/t?i=1</ExternalURL><FrameHeight>600</FrameHeight></ExternalQuestion>"#
        );
        assert!(matches!(validate(&ext).unwrap(), Question::External { .. }));
    }

    #[test]
    fn rejects_bad_questions() {
        let e = validate("<HTMLQuestion>").unwrap_err();
        assert_eq!(e.turk_code, Some("AWS.MechanicalTurk.XMLParseError"));
        // wrong namespace
        assert!(validate(
            r#"<HTMLQuestion xmlns="urn:x"><HTMLContent>x</HTMLContent><FrameHeight>1</FrameHeight></HTMLQuestion>"#
        )
        .is_err());
        // missing FrameHeight
        assert!(validate(&format!(r#"<HTMLQuestion xmlns="{NS_HTML}"><HTMLContent>x</HTMLContent></HTMLQuestion>"#))
            .is_err());
        // plain-http external URL on a public host
        let ext = format!(
            r#"<ExternalQuestion xmlns="{NS_EXTERNAL}"><ExternalURL>http://example.com/</ExternalURL><FrameHeight>600</FrameHeight></ExternalQuestion>"#
        );
        assert!(validate(&ext).is_err());
        // over the size limit
        let big = html_question(&"x".repeat(MAX_QUESTION_BYTES));
        assert_eq!(validate(&big).unwrap_err().kind, crate::error::ErrorType::ParameterValidation);
    }
}
