//! The secret's text: `{"AccessKeyId": "...", "SecretAccessKey": "..."}`,
//! as `hitloop workforce keys create --json` prints it. Read by hand from a
//! JSON value rather than derived, so that no error can quote the secret
//! (serde's "invalid type" messages quote the value they met).

use serde_json::Value;

#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Never shows the secret.
impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoredKeyError {
    #[error("is not JSON: it should be {{\"AccessKeyId\": ..., \"SecretAccessKey\": ...}} (hitloop workforce keys create --json)")]
    NotJson,
    #[error("has no {0} string: it should be {{\"AccessKeyId\": ..., \"SecretAccessKey\": ...}} (hitloop workforce keys create --json)")]
    Missing(&'static str),
}

impl StoredKey {
    pub fn parse(text: &str) -> Result<StoredKey, StoredKeyError> {
        let value: Value = serde_json::from_str(text).map_err(|_| StoredKeyError::NotJson)?;
        let field = |name: &'static str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or(StoredKeyError::Missing(name))
        };
        Ok(StoredKey { access_key_id: field("AccessKeyId")?, secret_access_key: field("SecretAccessKey")? })
    }

    /// The secret's text for this key.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "AccessKeyId": self.access_key_id, "SecretAccessKey": self.secret_access_key }).to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn what_keys_create_prints_reads_back() {
        let key = StoredKey { access_key_id: "AKHLTEST".into(), secret_access_key: "s3cr3t/+=".into() };
        assert_eq!(StoredKey::parse(&key.to_json()).unwrap(), key);
    }

    #[test]
    fn a_wrong_shape_is_named_and_the_secret_is_never_quoted() {
        let cases = [
            ("AKHL:topsecret", StoredKeyError::NotJson),
            ("\"topsecret\"", StoredKeyError::Missing("AccessKeyId")),
            (r#"{"AccessKeyId": "AKHL", "SecretAccessKey": 7}"#, StoredKeyError::Missing("SecretAccessKey")),
            (r#"{"AccessKeyId": "", "SecretAccessKey": "topsecret"}"#, StoredKeyError::Missing("AccessKeyId")),
            (r#"{"access_key_id": "AKHL", "secret_access_key": "topsecret"}"#, StoredKeyError::Missing("AccessKeyId")),
        ];
        for (text, expected) in cases {
            let err = StoredKey::parse(text).unwrap_err();
            assert_eq!(err, expected, "{text}");
            assert!(!err.to_string().contains("topsecret"), "{err}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = StoredKey { access_key_id: "AKHLTEST".into(), secret_access_key: "topsecret".into() };
        assert!(!format!("{key:?}").contains("topsecret"));
    }
}
