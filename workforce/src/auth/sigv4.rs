//! Verifying AWS Signature Version 4 on a requester's API request, as AWS's
//! own endpoints do.
//!
//! The arithmetic (canonical request, string to sign, signing key) is
//! `aws-sigv4`'s, the signer of the AWS SDK for Rust: the server signs the
//! request again over exactly the headers the client named, with the secret it
//! issued for the client's key id, and compares the two signatures in constant
//! time. What is ours is reading the `Authorization` header, the checks AWS
//! makes before any arithmetic (scope, service, date, skew), and the errors.
//!
//! boto3 sends no `x-amz-content-sha256`: the body's hash is always the
//! server's own, so a tampered body fails like a tampered header.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDateTime, Utc};
use subtle::ConstantTimeEq;

use super::AuthError;

/// The signing name of the MTurk Requester API (its endpoint prefix).
pub const SERVICE: &str = "mturk-requester";
/// How far a request's date may be from the server's clock, either way.
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const AMZ_DATE: &str = "%Y%m%dT%H%M%SZ";

/// What a request claims: who signed it, when, for which scope, over which
/// headers, and the signature. Checked for form and time, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub access_key_id: String,
    pub region: String,
    pub signed_headers: Vec<String>,
    signature: String,
    time: SystemTime,
}

/// The parts of an HTTP request a signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path and query as sent (already percent-encoded).
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl<'a> SignedRequest<'a> {
    /// Reads the claim and checks everything that needs no secret: the header's
    /// form, the credential scope, the date, and the clock skew: within 5
    /// minutes of one of `clocks` (the first is the one errors quote). The
    /// service's clocks are the host's and, when the marketplace runs on a
    /// simulated clock, that one too: it is what the `Date` header of every
    /// answer says, and the AWS SDK for Rust corrects its signing time by it,
    /// while boto3 signs with the wall clock. Deployed, the two are one.
    pub fn claim(&self, clocks: &[SystemTime]) -> Result<Claim, AuthError> {
        let header = match self.headers.get("authorization") {
            Some(v) => v.to_str().map_err(|_| AuthError::incomplete("The Authorization header is not ASCII."))?,
            None if self.path_and_query.contains("X-Amz-Signature=") => {
                return Err(AuthError::incomplete("Signatures in the query string are not accepted by this service."))
            }
            None => return Err(AuthError::Missing),
        };
        let parts = AuthorizationHeader::parse(header)?;
        let scope: Vec<&str> = parts.credential.split('/').collect();
        let &[key_id, date, region, service, terminator] = scope.as_slice() else {
            return Err(AuthError::incomplete(format!(
                "Credential should have five parts: key id, date, region, service and aws4_request; got '{}'.",
                parts.credential
            )));
        };
        if key_id.is_empty() || region.is_empty() || terminator != "aws4_request" {
            return Err(AuthError::incomplete(format!("Credential '{}' is malformed.", parts.credential)));
        }
        if service != SERVICE {
            return Err(AuthError::invalid(format!("Credential should be scoped to correct service: '{SERVICE}'.")));
        }
        let (time, amz_date) = self.request_time()?;
        if date != &amz_date[..8] {
            return Err(AuthError::invalid(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{}', from '{amz_date}'.",
                &amz_date[..8]
            )));
        }
        check_skew(time, &amz_date, clocks)?;
        if !parts.signed_headers.iter().any(|h| h == "host") {
            return Err(AuthError::incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization."));
        }
        Ok(Claim {
            access_key_id: key_id.to_string(),
            region: region.to_string(),
            signed_headers: parts.signed_headers,
            signature: parts.signature,
            time,
        })
    }

    /// The request's signing time, from `X-Amz-Date`. (AWS also takes the
    /// `Date` header; both SDKs send `X-Amz-Date`, and aws-sigv4 always signs
    /// that one, so a `Date`-signed request could not be verified here.)
    fn request_time(&self) -> Result<(SystemTime, String), AuthError> {
        let Some(amz) = self.headers.get("x-amz-date") else {
            return Err(AuthError::incomplete("Authorization header requires existence of a 'X-Amz-Date' header."));
        };
        let t = amz
            .to_str()
            .ok()
            .and_then(|v| NaiveDateTime::parse_from_str(v, AMZ_DATE).ok())
            .map(|t| t.and_utc())
            .ok_or_else(|| {
                AuthError::incomplete("X-Amz-Date must be in the ISO-8601 basic format (yyyyMMddTHHmmssZ).")
            })?;
        Ok((SystemTime::from(t), t.format(AMZ_DATE).to_string()))
    }

    /// Signs the request again with `secret` over the headers the claim names
    /// and compares, in constant time.
    pub fn verify(&self, claim: &Claim, secret: &str) -> Result<(), AuthError> {
        let mut headers = Vec::with_capacity(claim.signed_headers.len());
        for name in &claim.signed_headers {
            let values: Vec<&str> =
                self.headers.get_all(name.as_str()).iter().filter_map(|v| v.to_str().ok()).collect();
            if values.is_empty() {
                // A signed header that is not there: the client signed a different request.
                return Err(AuthError::mismatch());
            }
            for value in values {
                headers.push((name.as_str(), value));
            }
        }
        let identity = Credentials::new(&claim.access_key_id, secret, None, None, "hitloop-requester-key").into();
        let mut settings = SigningSettings::default();
        // Sign exactly what the client signed: aws-sigv4 otherwise leaves out
        // a few headers (user-agent, ...) that another client may have signed.
        settings.excluded_headers = None;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&claim.region)
            .name(SERVICE)
            .time(claim.time)
            .settings(settings)
            .build()
            .map_err(|_| AuthError::mismatch())?
            .into();
        let request =
            SignableRequest::new(self.method, self.path_and_query, headers.into_iter(), SignableBody::Bytes(self.body))
                .map_err(|_| AuthError::mismatch())?;
        let output = sign(request, &params).map_err(|_| AuthError::mismatch())?;
        if bool::from(output.signature().as_bytes().ct_eq(claim.signature.as_bytes())) {
            Ok(())
        } else {
            Err(AuthError::mismatch())
        }
    }
}

fn check_skew(time: SystemTime, amz_date: &str, clocks: &[SystemTime]) -> Result<(), AuthError> {
    let within = |now: &SystemTime| time + MAX_SKEW >= *now && time <= *now + MAX_SKEW;
    if clocks.iter().any(within) {
        return Ok(());
    }
    let now = clocks.first().copied().unwrap_or_else(SystemTime::now);
    let fmt = |t: SystemTime| DateTime::<Utc>::from(t).format(AMZ_DATE).to_string();
    if time + MAX_SKEW < now {
        return Err(AuthError::invalid(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
            fmt(now - MAX_SKEW),
            fmt(now)
        )));
    }
    if time > now + MAX_SKEW {
        return Err(AuthError::invalid(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            fmt(now + MAX_SKEW),
            fmt(now)
        )));
    }
    Ok(())
}

/// `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=a;b, Signature=hex`.
struct AuthorizationHeader {
    credential: String,
    signed_headers: Vec<String>,
    signature: String,
}

impl AuthorizationHeader {
    fn parse(header: &str) -> Result<Self, AuthError> {
        let Some(rest) = header.strip_prefix(ALGORITHM).filter(|r| r.starts_with(' ')) else {
            return Err(AuthError::incomplete(format!(
                "Authorization header must use the {ALGORITHM} algorithm (Signature Version 4)."
            )));
        };
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let Some((name, value)) = part.trim().split_once('=') else {
                return Err(AuthError::incomplete(format!(
                    "Authorization header requires each component to be name=value; got '{}'.",
                    part.trim()
                )));
            };
            match name {
                "Credential" => credential = Some(value.to_string()),
                "SignedHeaders" => signed = Some(value.to_string()),
                "Signature" => signature = Some(value.to_string()),
                _ => {}
            }
        }
        let mut missing = Vec::new();
        for (name, value) in [("Credential", &credential), ("Signature", &signature), ("SignedHeaders", &signed)] {
            if value.is_none() {
                missing.push(format!("Authorization header requires '{name}' parameter."));
            }
        }
        match (credential, signed, signature) {
            (Some(credential), Some(signed), Some(signature)) => {
                let signed_headers: Vec<String> = signed.split(';').map(str::to_ascii_lowercase).collect();
                if signed_headers.iter().any(String::is_empty) {
                    return Err(AuthError::incomplete("SignedHeaders names an empty header."));
                }
                Ok(AuthorizationHeader { credential, signed_headers, signature })
            }
            _ => Err(AuthError::incomplete(missing.join(" "))),
        }
    }
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
