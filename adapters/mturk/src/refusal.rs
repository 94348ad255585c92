//! What a refused request says: MTurk puts its TurkErrorCode in the body.

/// The TurkErrorCode and message of a refused request (a RequestError), read
/// from the response body where the wire protocol puts them.
pub(crate) fn refusal<E>(
    err: &aws_sdk_mturk::error::SdkError<E, aws_sdk_mturk::config::http::HttpResponse>,
) -> Option<(String, String)>
where
    E: aws_sdk_mturk::error::ProvideErrorMetadata,
{
    let service = err.as_service_error()?;
    if service.code() != Some("RequestError") {
        return None;
    }
    let body: serde_json::Value = err
        .raw_response()
        .and_then(|r| r.body().bytes())
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    let code = body.get("TurkErrorCode").and_then(|c| c.as_str()).unwrap_or_default();
    Some((code.to_string(), service.message().unwrap_or_default().to_string()))
}

/// The HIT id in a HitAlreadyExists message, if it names one.
pub fn hit_id_in(message: &str) -> Option<String> {
    message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() == 30 && w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_hit_id_in_a_duplicate_token_message() {
        let m = "The idempotency token \"job-1/7\" has already been processed. The HIT created with it is 3X7837UUADRXYCA1K7JAJLKC66DJ60. (1700000000000)";
        assert_eq!(super::hit_id_in(m).as_deref(), Some("3X7837UUADRXYCA1K7JAJLKC66DJ60"));
        assert_eq!(super::hit_id_in("no id here (1700000000000)"), None);
    }
}
