//! QuestionFormAnswers: the XML an assignment's `Answer` holds.

use hitloop_core::xml::escape;

pub const NS_ANSWERS: &str =
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerValue {
    FreeText(String),
    Selection(Vec<String>),
}

/// Builds the Answer XML from (QuestionIdentifier, value) pairs. UTF-8 is
/// declared, so non-ASCII text travels as is (the docs' sample says ASCII).
pub fn question_form_answers(answers: &[(String, AnswerValue)]) -> String {
    let mut xml = format!(r#"<?xml version="1.0" encoding="UTF-8"?><QuestionFormAnswers xmlns="{NS_ANSWERS}">"#);
    for (id, value) in answers {
        xml.push_str("<Answer><QuestionIdentifier>");
        xml.push_str(&escape(id));
        xml.push_str("</QuestionIdentifier>");
        match value {
            AnswerValue::FreeText(t) => {
                xml.push_str("<FreeText>");
                xml.push_str(&escape(t));
                xml.push_str("</FreeText>");
            }
            AnswerValue::Selection(ids) => {
                for s in ids {
                    xml.push_str("<SelectionIdentifier>");
                    xml.push_str(&escape(s));
                    xml.push_str("</SelectionIdentifier>");
                }
            }
        }
        xml.push_str("</Answer>");
    }
    xml.push_str("</QuestionFormAnswers>");
    xml
}

/// The single `taskAnswers` answer a crowd-form page submits.
pub fn crowd_form_answer(field: &str, label: &str) -> String {
    let json = serde_json::json!([{ field: { "label": label } }]).to_string();
    question_form_answers(&[("taskAnswers".to_string(), AnswerValue::FreeText(json))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use hitloop_core::xml::{parse, Limits};

    #[test]
    fn crowd_form_answer_round_trips() {
        let xml = crowd_form_answer("category", "Iris-<setosa>");
        let root = parse(&xml, &Limits::ANSWER).unwrap();
        assert_eq!(root.namespace.as_deref(), Some(NS_ANSWERS));
        let free = root.child("Answer").unwrap().child_text("FreeText").unwrap();
        let v: serde_json::Value = serde_json::from_str(free).unwrap();
        assert_eq!(v[0]["category"]["label"], "Iris-<setosa>");
    }
}
