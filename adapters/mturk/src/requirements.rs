//! A job's qualification requirements as MTurk takes them.

use aws_sdk_mturk::types::{Comparator, Locale, QualificationRequirement};
use hitloop_core::error::{Error, Result};

pub(crate) fn requirement(q: &hitloop_core::job::QualificationRequirement) -> Result<QualificationRequirement> {
    let mut b = QualificationRequirement::builder()
        .qualification_type_id(&q.qualification_type_id)
        .comparator(Comparator::from(q.comparator.as_str()))
        .set_integer_values(if q.integer_values.is_empty() { None } else { Some(q.integer_values.clone()) });
    for l in &q.locale_values {
        b = b.locale_values(
            Locale::builder()
                .country(&l.country)
                .set_subdivision(l.subdivision.clone())
                .build()
                .map_err(Error::permanent)?,
        );
    }
    if let Some(a) = &q.actions_guarded {
        b = b.actions_guarded(a.as_str().into());
    }
    b.build().map_err(Error::permanent)
}
