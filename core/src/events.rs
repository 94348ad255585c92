//! Reading the events that trigger the functions, leniently where real
//! senders and local stand-ins differ.

use serde::Deserialize;

/// One S3 object event. moto's events lack fields (`userIdentity`,
/// `requestParameters`) that `aws_lambda_events::s3::S3Event` requires and real
/// S3 sends, so only what hitloop uses is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    /// The decoded key.
    pub key: String,
    pub event_name: String,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Part,
}

#[derive(Deserialize)]
struct S3Part {
    bucket: Named,
    object: Key,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct Key {
    key: String,
}

/// Keys arrive URL-encoded as HTML forms encode them ('+' for a space, and
/// moto also encodes '/'): form-decode them.
pub fn decode_key(raw: &str) -> String {
    form_urlencoded::parse(format!("k={}", raw.replace('&', "%26").replace('=', "%3D")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| raw.to_string())
}

/// The object events in an S3 notification (an S3 test event has none).
pub fn object_events(event: &serde_json::Value) -> Result<Vec<ObjectCreated>, String> {
    if event.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(vec![]);
    }
    let env: Envelope = serde_json::from_value(event.clone()).map_err(|e| format!("not an S3 event: {e}"))?;
    Ok(env
        .records
        .into_iter()
        .map(|r| ObjectCreated {
            bucket: r.s3.bucket.name,
            key: decode_key(&r.s3.object.key),
            event_name: r.event_name,
        })
        .collect())
}

/// One event of an MTurk notification document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MturkEvent {
    #[serde(rename = "EventType")]
    pub event_type: String,
    #[serde(rename = "HITId", default)]
    pub hit_id: Option<String>,
    #[serde(rename = "AssignmentId", default)]
    pub assignment_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NotificationDoc {
    #[serde(rename = "EventDocId", default)]
    pub event_doc_id: Option<String>,
    #[serde(rename = "Events", default)]
    pub events: Vec<MturkEvent>,
}

/// An MTurk notification as it arrives in an SQS body: the document itself,
/// or an SNS envelope whose `Message` is the document.
pub fn notification(body: &str) -> Result<NotificationDoc, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("the message is not JSON: {e}"))?;
    let doc = match (v.get("Type").and_then(|t| t.as_str()), v.get("Message").and_then(|m| m.as_str())) {
        (Some("Notification"), Some(inner)) => {
            serde_json::from_str(inner).map_err(|e| format!("the SNS message is not an MTurk document: {e}"))?
        }
        _ => v,
    };
    serde_json::from_value(doc).map_err(|e| format!("not an MTurk notification document: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_form_decoded() {
        assert_eq!(decode_key("jobs%2Fmy+job%2Bx%2Fmanifest.csv"), "jobs/my job+x/manifest.csv");
        assert_eq!(decode_key("jobs/caf%C3%A9/manifest.csv"), "jobs/café/manifest.csv");
        assert_eq!(decode_key("a%26b%3Dc"), "a&b=c");
    }

    #[test]
    fn reads_moto_and_real_s3_events() {
        let moto = serde_json::json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "jobs%2Fj1%2Fmanifest.csv", "size": 8}}}]});
        let e = object_events(&moto).unwrap();
        assert_eq!(e[0].key, "jobs/j1/manifest.csv");
        let test = serde_json::json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"});
        assert!(object_events(&test).unwrap().is_empty());
        assert!(object_events(&serde_json::json!({"Records": [{"nope": 1}]})).is_err());
    }

    #[test]
    fn reads_raw_and_sns_wrapped_documents() {
        let doc = r#"{"Events":[{"EventType":"AssignmentSubmitted","EventTimestamp":"2019-08-09T21:17:16Z","HITId":"H1","AssignmentId":"A1","HITTypeId":"T"}],"EventDocId":"abc","EventDocVersion":"2014-08-15"}"#;
        let raw = notification(doc).unwrap();
        assert_eq!(raw.events[0].hit_id.as_deref(), Some("H1"));
        let sns = serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": doc}).to_string();
        assert_eq!(notification(&sns).unwrap(), raw);
        assert!(notification("not json").is_err());
    }
}
