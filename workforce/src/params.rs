//! Reading an operation's JSON input with the validation the real service does
//! server-side (the SDKs check almost nothing, see the API reference §1.1).

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::ids;
use hitloop_core::money::Usd;

pub struct Params<'a> {
    map: &'a Map<String, Value>,
}

static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

fn invalid(name: &str, value: &Value) -> ApiError {
    ApiError::validation(format!("The value {value} is not valid for the parameter {name}."))
}

fn missing(name: &str) -> ApiError {
    ApiError::validation(format!("Value null at '{name}' failed to satisfy constraint: Member must not be null."))
}

impl<'a> Params<'a> {
    pub fn new(value: &'a Value) -> ApiResult<Self> {
        match value {
            Value::Object(map) => Ok(Params { map }),
            Value::Null => Ok(Params { map: EMPTY.get_or_init(Map::new) }),
            other => Err(ApiError::validation(format!("The request body must be a JSON object, not {other}."))),
        }
    }

    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, name: &str) -> ApiResult<Option<&'a str>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(invalid(name, v)),
        }
    }

    pub fn str(&self, name: &str) -> ApiResult<&'a str> {
        self.opt_str(name)?.ok_or_else(|| missing(name))
    }

    /// A string whose length in characters lies in `min..=max`.
    pub fn opt_str_len(&self, name: &str, min: usize, max: usize) -> ApiResult<Option<&'a str>> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(s) => {
                let n = s.chars().count();
                if n < min || n > max {
                    return Err(ApiError::validation(format!(
                        "The value for {name} has length {n}; valid lengths range from {min} to {max}."
                    )));
                }
                Ok(Some(s))
            }
        }
    }

    pub fn str_len(&self, name: &str, min: usize, max: usize) -> ApiResult<&'a str> {
        self.opt_str_len(name, min, max)?.ok_or_else(|| missing(name))
    }

    pub fn entity_id(&self, name: &str) -> ApiResult<&'a str> {
        let s = self.str(name)?;
        if !ids::is_entity_id(s) {
            return Err(invalid(name, &Value::String(s.into())));
        }
        Ok(s)
    }

    pub fn worker_id(&self, name: &str) -> ApiResult<&'a str> {
        let s = self.str(name)?;
        if !ids::is_worker_id(s) {
            return Err(invalid(name, &Value::String(s.into())));
        }
        Ok(s)
    }

    pub fn currency(&self, name: &str) -> ApiResult<Usd> {
        let s = self.str(name)?;
        s.parse::<Usd>().map_err(|_| invalid(name, &Value::String(s.into())))
    }

    pub fn opt_i64(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.raw(name) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| invalid(name, v)),
        }
    }

    /// An integer in `min..=max`, with the real service's range message.
    pub fn opt_i64_range(&self, name: &str, min: i64, max: i64) -> ApiResult<Option<i64>> {
        match self.opt_i64(name)? {
            Some(n) if n < min || n > max => Err(ApiError::validation(format!(
                "The value {n} is invalid for {name}. Valid values range from {min} to {max}."
            ))),
            other => Ok(other),
        }
    }

    pub fn i64_range(&self, name: &str, min: i64, max: i64) -> ApiResult<i64> {
        self.opt_i64_range(name, min, max)?.ok_or_else(|| missing(name))
    }

    pub fn opt_bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(invalid(name, v)),
        }
    }

    /// A timestamp, which awsJson sends as epoch seconds (integer or fraction).
    pub fn timestamp_ms(&self, name: &str) -> ApiResult<i64> {
        let v = self.raw(name).ok_or_else(|| missing(name))?;
        let secs = v.as_f64().ok_or_else(|| invalid(name, v))?;
        Ok((secs * 1000.0).round() as i64)
    }

    pub fn opt_array(&self, name: &str) -> ApiResult<Option<&'a Vec<Value>>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(invalid(name, v)),
        }
    }

    /// `MaxResults` (1..100, default 10) for paginated operations.
    pub fn max_results(&self) -> ApiResult<usize> {
        Ok(self.opt_i64_range("MaxResults", 1, 100)?.unwrap_or(10) as usize)
    }

    /// The cursor inside the opaque `NextToken` this service hands out
    /// (the store checks that it is one of its own).
    pub fn next_token(&self) -> ApiResult<Option<&'a str>> {
        match self.opt_str_len("NextToken", 1, 255)? {
            None => Ok(None),
            Some(t) => {
                t.strip_prefix(TOKEN_PREFIX).map(Some).ok_or_else(|| invalid("NextToken", &Value::String(t.into())))
            }
        }
    }

    pub fn idempotency_token(&self) -> ApiResult<Option<&'a str>> {
        self.opt_str_len("UniqueRequestToken", 1, 64)
    }
}

const TOKEN_PREFIX: &str = "hlp1.";

/// Pagination tokens are the store's cursor after which the next page
/// starts, wrapped so that clients treat them as opaque.
pub fn encode_token(cursor: &str) -> String {
    format!("{TOKEN_PREFIX}{cursor}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_validates_fields() {
        let v = json!({"HITId": "ABC123", "Reward": "0.05", "N": 3, "Bad": "x", "Flag": true});
        let p = Params::new(&v).unwrap();
        assert_eq!(p.entity_id("HITId").unwrap(), "ABC123");
        assert_eq!(p.currency("Reward").unwrap().cents(), 5);
        assert_eq!(p.opt_i64_range("N", 1, 10).unwrap(), Some(3));
        assert!(p.opt_i64_range("N", 5, 10).unwrap_err().message.contains("Valid values range from 5 to 10"));
        assert!(p.entity_id("Bad").is_err());
        assert!(p.str("Missing").is_err());
        assert_eq!(p.opt_bool("Flag").unwrap(), Some(true));
        assert!(p.opt_i64("Bad").is_err());
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let tok = encode_token("2a");
        let v = json!({"NextToken": tok});
        assert_eq!(Params::new(&v).unwrap().next_token().unwrap(), Some("2a"));
        let v = json!({"NextToken": "nonsense"});
        assert!(Params::new(&v).unwrap().next_token().is_err());
    }
}
