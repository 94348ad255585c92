//! A function's configuration: the variables the SAM template gives it,
//! each function reading only its own. Read from the process's environment
//! on Lambda; from the template's variables for the function in the local
//! stack (so a variable the template forgets fails there too).

use std::collections::BTreeMap;

use hitloop_core::error::{Error, Result};

/// Where a function's variables come from.
pub enum Vars<'a> {
    Process,
    Map(&'a BTreeMap<String, String>),
}

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        let v = match self {
            Vars::Process => std::env::var(name).ok(),
            Vars::Map(m) => m.get(name).cloned(),
        };
        v.filter(|v| !v.is_empty())
    }

    /// A variable the function cannot run without.
    pub fn required(&self, name: &str) -> Result<String> {
        self.get(name).ok_or_else(|| Error::Permanent(format!("the environment variable {name} is not set")))
    }

    /// A variable that may be absent (or empty).
    pub fn optional(&self, name: &str) -> Option<String> {
        self.get(name)
    }

    /// A number, or `default` when the variable is absent.
    pub fn number(&self, name: &str, default: u64) -> Result<u64> {
        match self.get(name) {
            Some(v) => v.parse().map_err(|_| Error::Permanent(format!("{name}={v:?} is not a number"))),
            None => Ok(default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_optional_and_numbers() {
        let m: BTreeMap<String, String> =
            [("A".into(), "x".into()), ("N".into(), "12".into()), ("E".into(), String::new())].into();
        let v = Vars::Map(&m);
        assert_eq!(v.required("A").unwrap(), "x");
        assert!(v.required("E").unwrap_err().to_string().contains("E is not set"), "empty is unset");
        assert_eq!((v.optional("B"), v.number("N", 5).unwrap(), v.number("B", 5).unwrap()), (None, 12, 5));
        let bad: BTreeMap<String, String> = [("N".into(), "ten".into())].into();
        assert!(Vars::Map(&bad).number("N", 1).is_err());
    }
}
