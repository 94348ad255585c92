//! Qualification requirements: checking a HIT's requirements when it is
//! created, and deciding whether a worker meets them.

use crate::error::{ApiError, ApiResult};
use crate::model::{Locale, QualificationRequirement};

pub const WORKER_LOCALE: &str = "00000000000000000071";
pub const PERCENT_APPROVED: &str = "000000000000000000L0";
pub const NUMBER_HITS_APPROVED: &str = "00000000000000000040";
pub const ADULT: &str = "00000000000000000060";
pub const MASTERS_PRODUCTION: &str = "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH";
pub const MASTERS_SANDBOX: &str = "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6";

pub fn is_system(id: &str) -> bool {
    matches!(id, WORKER_LOCALE | PERCENT_APPROVED | NUMBER_HITS_APPROVED | ADULT | MASTERS_PRODUCTION | MASTERS_SANDBOX)
}

pub fn is_masters(id: &str) -> bool {
    id == MASTERS_PRODUCTION || id == MASTERS_SANDBOX
}

const COMPARATORS: &[&str] = &[
    "LessThan",
    "LessThanOrEqualTo",
    "GreaterThan",
    "GreaterThanOrEqualTo",
    "EqualTo",
    "NotEqualTo",
    "Exists",
    "DoesNotExist",
    "In",
    "NotIn",
];

/// Validates requirements as CreateHIT receives them (the model's rules).
pub fn validate(reqs: &[QualificationRequirement]) -> ApiResult<()> {
    if reqs.len() > 10 {
        return Err(ApiError::validation("A HIT can have at most 10 QualificationRequirements."));
    }
    for r in reqs {
        let c = r.comparator.as_str();
        if !COMPARATORS.contains(&c) {
            return Err(ApiError::validation(format!("The value {c} is not valid for the parameter Comparator.")));
        }
        let is_locale = r.qualification_type_id == WORKER_LOCALE;
        let n_int = r.integer_values.len();
        let n_loc = r.locale_values.len();
        match c {
            "Exists" | "DoesNotExist" if n_int + n_loc > 0 => {
                return Err(ApiError::validation(format!("Comparator {c} takes no values.")));
            }
            "In" | "NotIn" if is_locale && !(1..=30).contains(&n_loc) => {
                return Err(ApiError::validation(format!(
                    "Comparator {c} on Worker_Locale takes 1 to 30 LocaleValues."
                )));
            }
            "In" | "NotIn" if !is_locale && !(1..=15).contains(&n_int) => {
                return Err(ApiError::validation(format!("Comparator {c} takes 1 to 15 IntegerValues.")));
            }
            "EqualTo" | "NotEqualTo" if is_locale && n_loc != 1 => {
                return Err(ApiError::validation(format!(
                    "Comparator {c} on Worker_Locale takes exactly one LocaleValue."
                )));
            }
            "LessThan" | "LessThanOrEqualTo" | "GreaterThan" | "GreaterThanOrEqualTo" | "EqualTo" | "NotEqualTo"
                if !is_locale && n_int != 1 =>
            {
                return Err(ApiError::validation(format!("Comparator {c} takes exactly one IntegerValue.")));
            }
            _ => {}
        }
        if is_locale && n_int > 0 {
            return Err(ApiError::validation("Worker_Locale requirements take LocaleValues, not IntegerValues."));
        }
        if is_locale && matches!(c, "LessThan" | "LessThanOrEqualTo" | "GreaterThan" | "GreaterThanOrEqualTo") {
            return Err(ApiError::validation(format!("Comparator {c} cannot be used with Worker_Locale.")));
        }
        for l in &r.locale_values {
            if l.country.len() != 2 || l.subdivision.as_ref().is_some_and(|s| s.len() != 2) {
                return Err(ApiError::validation("Locale Country and Subdivision are two-letter ISO 3166 codes."));
            }
        }
        if r.required_to_preview.is_some() && r.actions_guarded.is_some() {
            return Err(ApiError::validation("Use ActionsGuarded or RequiredToPreview, not both."));
        }
        if let Some(a) = &r.actions_guarded {
            if !matches!(a.as_str(), "Accept" | "PreviewAndAccept" | "DiscoverPreviewAndAccept") {
                return Err(ApiError::validation(format!(
                    "The value {a} is not valid for the parameter ActionsGuarded."
                )));
            }
        }
    }
    Ok(())
}

/// What a worker holds of one qualification type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    Int(i64),
    Locale(Locale),
}

/// Does a worker holding `held` (None: does not hold it) meet `req`?
pub fn meets(req: &QualificationRequirement, held: Option<&Held>) -> bool {
    let c = req.comparator.as_str();
    let Some(held) = held else {
        return c == "DoesNotExist";
    };
    match c {
        "Exists" => true,
        "DoesNotExist" => false,
        _ => match held {
            Held::Int(v) => {
                let first = req.integer_values.first().copied().unwrap_or_default();
                match c {
                    "LessThan" => *v < first,
                    "LessThanOrEqualTo" => *v <= first,
                    "GreaterThan" => *v > first,
                    "GreaterThanOrEqualTo" => *v >= first,
                    "EqualTo" => *v == first,
                    "NotEqualTo" => *v != first,
                    "In" => req.integer_values.contains(v),
                    "NotIn" => !req.integer_values.contains(v),
                    _ => false,
                }
            }
            Held::Locale(l) => {
                let matches = |want: &Locale| {
                    want.country.eq_ignore_ascii_case(&l.country)
                        && want
                            .subdivision
                            .as_ref()
                            .is_none_or(|s| l.subdivision.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(s)))
                };
                let any = req.locale_values.iter().any(matches);
                match c {
                    "EqualTo" | "In" => any,
                    "NotEqualTo" | "NotIn" => !any,
                    _ => false,
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(id: &str, c: &str, ints: &[i64]) -> QualificationRequirement {
        QualificationRequirement {
            qualification_type_id: id.into(),
            comparator: c.into(),
            integer_values: ints.to_vec(),
            locale_values: vec![],
            required_to_preview: None,
            actions_guarded: None,
        }
    }

    #[test]
    fn integer_comparators() {
        let r = req(PERCENT_APPROVED, "GreaterThanOrEqualTo", &[95]);
        assert!(meets(&r, Some(&Held::Int(95))));
        assert!(!meets(&r, Some(&Held::Int(94))));
        assert!(!meets(&r, None));
        assert!(meets(&req("X1", "DoesNotExist", &[]), None));
        assert!(meets(&req("X1", "In", &[1, 3]), Some(&Held::Int(3))));
        assert!(meets(&req("X1", "NotIn", &[1, 3]), Some(&Held::Int(2))));
    }

    #[test]
    fn locale_comparators() {
        let mut r = req(WORKER_LOCALE, "In", &[]);
        r.locale_values = vec![
            Locale { country: "US".into(), subdivision: None },
            Locale { country: "CA".into(), subdivision: None },
        ];
        assert!(validate(std::slice::from_ref(&r)).is_ok());
        let us = Held::Locale(Locale { country: "US".into(), subdivision: Some("WA".into()) });
        let de = Held::Locale(Locale { country: "DE".into(), subdivision: None });
        assert!(meets(&r, Some(&us)));
        assert!(!meets(&r, Some(&de)));
    }

    #[test]
    fn rejects_malformed_requirements() {
        assert!(validate(&[req("X1", "Sometimes", &[1])]).is_err());
        assert!(validate(&[req("X1", "Exists", &[1])]).is_err());
        assert!(validate(&[req("X1", "GreaterThan", &[])]).is_err());
        assert!(validate(&[req(WORKER_LOCALE, "EqualTo", &[])]).is_err());
        let many: Vec<_> = (0..11).map(|_| req("X1", "Exists", &[])).collect();
        assert!(validate(&many).is_err());
    }
}
