//! A small, defensive XML reader for the documents MTurk exchanges (question
//! XML going out, answer XML coming back). Workers are untrusted, so parsing has
//! limits: a size cap, a depth cap, an element cap, and no DTD at all (which
//! rules out entity expansion such as "billion laughs" and external entities).

use quick_xml::events::Event;
use quick_xml::Reader;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Limits {
    /// Limits for MTurk documents: the Question limit is 65,535 bytes; answers
    /// get more room because free-text fields can be long.
    pub const QUESTION: Limits = Limits { max_bytes: 65_535, max_depth: 64, max_elements: 20_000 };
    pub const ANSWER: Limits = Limits { max_bytes: 1 << 20, max_depth: 16, max_elements: 10_000 };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the document is {0} bytes, more than the {1} allowed")]
    TooLarge(usize, usize),
    #[error("the document nests deeper than {0} elements")]
    TooDeep(usize),
    #[error("the document has more than {0} elements")]
    TooManyElements(usize),
    #[error("a DOCTYPE is not allowed")]
    DocType,
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    #[error("the document has no root element")]
    Empty,
    #[error("content after the root element")]
    TrailingContent,
    #[error("malformed XML: {0}")]
    Malformed(String),
}

/// One element: its local name, its default namespace (the `xmlns` attribute,
/// if it declares one), other attributes, child elements and text (text and
/// CDATA concatenated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub namespace: Option<String>,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => s.into_owned(),
    }
}

fn open(e: &quick_xml::events::BytesStart<'_>) -> Result<Element, XmlError> {
    let mut el = Element { name: local(e.name().as_ref()), ..Default::default() };
    for a in e.attributes() {
        let a = a.map_err(malformed)?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a.unescape_value().map_err(malformed)?.into_owned();
        if key == "xmlns" {
            el.namespace = Some(value);
        } else {
            el.attrs.push((key, value));
        }
    }
    Ok(el)
}

fn entity(name: &str) -> Result<char, XmlError> {
    match name {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(XmlError::UnknownEntity(other.chars().take(40).collect())),
    }
}

/// Parses `xml` into its root element, within `limits`.
pub fn parse(xml: &str, limits: &Limits) -> Result<Element, XmlError> {
    if xml.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(xml.len(), limits.max_bytes));
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let event = reader.read_event().map_err(malformed)?;
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(XmlError::TrailingContent);
            }
            Event::Start(e) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                stack.push(open(&e)?);
            }
            Event::Empty(e) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                let el = open(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| malformed("unexpected end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(malformed)?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(c) => {
                let text = c.decode().map_err(malformed)?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None => return Err(malformed("CDATA outside the root element")),
                }
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref().map_err(malformed)? {
                    Some(ch) => ch,
                    None => entity(&r.decode().map_err(malformed)?)?,
                };
                match stack.last_mut() {
                    Some(el) => el.text.push(ch),
                    None => return Err(malformed("entity outside the root element")),
                }
            }
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("unclosed element"));
    }
    root.ok_or(XmlError::Empty)
}

/// Escapes text for an XML text node or attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_question_form_answer() {
        let xml = r#"<?xml version="1.0" encoding="ASCII"?>
<QuestionFormAnswers xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd">
  <Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>[{"c":{"label":"a &amp; b"}}]</FreeText></Answer>
</QuestionFormAnswers>"#;
        let root = parse(xml, &Limits::ANSWER).unwrap();
        assert_eq!(root.name, "QuestionFormAnswers");
        assert!(root.namespace.as_deref().unwrap().ends_with("QuestionFormAnswers.xsd"));
        let a = root.child("Answer").unwrap();
        assert_eq!(a.child_text("QuestionIdentifier"), Some("taskAnswers"));
        assert_eq!(a.child_text("FreeText"), Some(r#"[{"c":{"label":"a & b"}}]"#));
    }

    #[test]
    fn keeps_cdata_verbatim() {
        let root = parse("<a><b><![CDATA[<p>&amp;</p>]]></b></a>", &Limits::QUESTION).unwrap();
        assert_eq!(root.child_text("b"), Some("<p>&amp;</p>"));
    }

    #[test]
    fn refuses_hostile_documents() {
        let laughs =
            r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>"#;
        assert_eq!(parse(laughs, &Limits::ANSWER), Err(XmlError::DocType));
        let external = r#"<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"#;
        assert_eq!(parse(external, &Limits::ANSWER), Err(XmlError::DocType));
        assert!(matches!(parse("<a>&x;</a>", &Limits::ANSWER), Err(XmlError::UnknownEntity(_))));
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(parse(&deep, &Limits::ANSWER), Err(XmlError::TooDeep(16)));
        let big = format!("<a>{}</a>", "x".repeat(2 << 20));
        assert!(matches!(parse(&big, &Limits::ANSWER), Err(XmlError::TooLarge(..))));
        assert!(matches!(parse("<a><b></a>", &Limits::ANSWER), Err(XmlError::Malformed(_))));
        assert_eq!(parse("<a/><b/>", &Limits::ANSWER), Err(XmlError::TrailingContent));
        assert_eq!(parse("  ", &Limits::ANSWER), Err(XmlError::Empty));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
    }
}
