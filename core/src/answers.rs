//! Reading a worker's label out of an assignment's answer XML. Workers are
//! untrusted: the XML is parsed with limits, and anything that is not one of
//! the job's labels is an invalid answer (kept, never counted).

use crate::job::{AnswerFormat, AnswerSpec};
use crate::xml::{self, Limits};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Label(String),
    Invalid(String),
}

/// The label in `answer_xml`, canonicalised to the job's spelling.
pub fn label(answer_xml: &str, spec: &AnswerSpec, labels: &[String]) -> Answer {
    let root = match xml::parse(answer_xml, &Limits::ANSWER) {
        Ok(r) => r,
        Err(e) => return Answer::Invalid(format!("unreadable answer XML: {e}")),
    };
    if root.name != "QuestionFormAnswers" {
        return Answer::Invalid(format!("the answer is a {}, not QuestionFormAnswers", root.name));
    }
    let answers: Vec<(&str, Option<&str>, Vec<&str>)> = root
        .children_named("Answer")
        .map(|a| {
            let id = a.child_text("QuestionIdentifier").unwrap_or("").trim();
            let free = a.child_text("FreeText");
            let sel: Vec<&str> = a.children_named("SelectionIdentifier").map(|s| s.text.trim()).collect();
            (id, free, sel)
        })
        .collect();
    let raw = match spec.format {
        AnswerFormat::CrowdForm => {
            let Some((_, Some(free), _)) = answers.iter().find(|(id, _, _)| *id == "taskAnswers") else {
                return Answer::Invalid("no taskAnswers answer".into());
            };
            match crowd_label(free, &spec.field) {
                Ok(l) => l,
                Err(e) => return Answer::Invalid(e),
            }
        }
        AnswerFormat::Form => match answers.iter().find(|(id, _, _)| *id == spec.field) {
            Some((_, Some(free), _)) => free.trim().to_string(),
            Some((_, None, sel)) if sel.len() == 1 => sel[0].to_string(),
            Some(_) => return Answer::Invalid(format!("field {:?} has no single value", spec.field)),
            None => return Answer::Invalid(format!("no answer for field {:?}", spec.field)),
        },
    };
    match canonical(&raw, labels) {
        Some(l) => Answer::Label(l),
        None => Answer::Invalid(format!("{:?} is not one of the job's labels", truncate(&raw, 80))),
    }
}

/// `[{"<field>":{"label":"x"}}]`, or the flattened `[{"<field>.label":"x"}]`.
fn crowd_label(json: &str, field: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("taskAnswers is not JSON: {e}"))?;
    let first = match &v {
        serde_json::Value::Array(a) => a.first().cloned().unwrap_or_default(),
        other => other.clone(),
    };
    let found = first
        .get(field)
        .and_then(|f| f.get("label").or(Some(f)))
        .and_then(|l| l.as_str())
        .or_else(|| first.get(format!("{field}.label")).and_then(|l| l.as_str()));
    found.map(str::to_string).ok_or_else(|| format!("taskAnswers has no label in {field:?}"))
}

fn canonical(raw: &str, labels: &[String]) -> Option<String> {
    let raw = raw.trim();
    labels.iter().find(|l| l.as_str() == raw).or_else(|| labels.iter().find(|l| l.eq_ignore_ascii_case(raw))).cloned()
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str =
        "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd";

    fn labels() -> Vec<String> {
        vec!["Iris-setosa".into(), "Iris-versicolor".into()]
    }

    fn doc(answers: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><QuestionFormAnswers xmlns="{NS}">{answers}</QuestionFormAnswers>"#
        )
    }

    #[test]
    fn reads_crowd_form_answers() {
        let xml = doc(
            r#"<Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>[{"category":{"label":"iris-setosa"}}]</FreeText></Answer>"#,
        );
        assert_eq!(label(&xml, &AnswerSpec::default(), &labels()), Answer::Label("Iris-setosa".into()));
        let flat = doc(
            r#"<Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>[{"category.label":"Iris-versicolor"}]</FreeText></Answer>"#,
        );
        assert_eq!(label(&flat, &AnswerSpec::default(), &labels()), Answer::Label("Iris-versicolor".into()));
    }

    #[test]
    fn reads_plain_form_answers() {
        let spec = AnswerSpec { format: AnswerFormat::Form, field: "species".into() };
        let xml = doc("<Answer><QuestionIdentifier>comment</QuestionIdentifier><FreeText>hi</FreeText></Answer><Answer><QuestionIdentifier>species</QuestionIdentifier><FreeText>Iris-setosa</FreeText></Answer>");
        assert_eq!(label(&xml, &spec, &labels()), Answer::Label("Iris-setosa".into()));
        let sel = doc("<Answer><QuestionIdentifier>species</QuestionIdentifier><SelectionIdentifier>Iris-versicolor</SelectionIdentifier></Answer>");
        assert_eq!(label(&sel, &spec, &labels()), Answer::Label("Iris-versicolor".into()));
    }

    #[test]
    fn hostile_or_wrong_answers_are_invalid() {
        let spec = AnswerSpec::default();
        let cases = [
            "<not xml".to_string(),
            r#"<!DOCTYPE a [<!ENTITY x "y">]><QuestionFormAnswers>&x;</QuestionFormAnswers>"#.to_string(),
            format!("<QuestionFormAnswers>{}</QuestionFormAnswers>", "<a>".repeat(50) + &"</a>".repeat(50)),
            doc(&format!(
                "<Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>{}</FreeText></Answer>",
                "x".repeat(2 << 20)
            )),
            doc("<Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>{not json</FreeText></Answer>"),
            doc(
                r#"<Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>[{"category":{"label":"Iris-rosa"}}]</FreeText></Answer>"#,
            ),
            doc("<Answer><QuestionIdentifier>other</QuestionIdentifier><FreeText>x</FreeText></Answer>"),
        ];
        for c in cases {
            assert!(matches!(label(&c, &spec, &labels()), Answer::Invalid(_)), "{}", &c[..c.len().min(80)]);
        }
    }
}
