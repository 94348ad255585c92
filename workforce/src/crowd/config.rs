//! The workforce file: who the simulated workers are and how they behave.
//! See `workforce/workforces/iris.toml` for a commented example.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkforceConfig {
    /// Seeds worker ids, choices and timings: the same seed, the same crowd.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The form field holding the label when a task page has several.
    #[serde(default)]
    pub answer_field: Option<String>,
    #[serde(rename = "group", default)]
    pub groups: Vec<GroupConfig>,
}

fn default_seed() -> u64 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Behaviour {
    /// Answers the truth with probability `accuracy`, or per `confusion`.
    #[default]
    Honest,
    /// Answers uniformly at random, whatever the item.
    Spammer,
    /// Always gives `answer`.
    Fixed,
}

/// A time in seconds drawn from a log-normal distribution: `median` seconds,
/// `spread` the sigma of its logarithm (0 = always the median).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seconds {
    pub median: f64,
    #[serde(default)]
    pub spread: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub name: String,
    #[serde(default = "one")]
    pub count: usize,
    /// Explicit worker ids (else drawn from the seed).
    #[serde(default)]
    pub worker_ids: Vec<String>,
    #[serde(default)]
    pub behaviour: Behaviour,
    #[serde(default = "default_accuracy")]
    pub accuracy: f64,
    /// true label -> (answer -> probability); overrides `accuracy` where given.
    #[serde(default)]
    pub confusion: BTreeMap<String, BTreeMap<String, f64>>,
    /// The answer of a `fixed` worker.
    #[serde(default)]
    pub answer: Option<String>,
    /// How long one task takes.
    #[serde(default = "default_work")]
    pub work_seconds: Seconds,
    /// The pause between tasks, and between looks when no work is posted.
    #[serde(default = "default_pause")]
    pub pause_seconds: Seconds,
    /// Share of accepted tasks given back.
    #[serde(default)]
    pub return_rate: f64,
    /// Share of accepted tasks left to run out their time.
    #[serde(default)]
    pub abandon_rate: f64,
    /// ISO country (and optional subdivision, "US-WA") for Worker_Locale.
    #[serde(default = "default_locale")]
    pub locale: String,
    #[serde(default = "default_percent")]
    pub percent_approved: i64,
    #[serde(default = "default_hits")]
    pub hits_approved: i64,
    #[serde(default)]
    pub masters: bool,
}

fn one() -> usize {
    1
}
fn default_accuracy() -> f64 {
    0.9
}
fn default_work() -> Seconds {
    Seconds { median: 60.0, spread: 0.5 }
}
fn default_pause() -> Seconds {
    Seconds { median: 30.0, spread: 0.8 }
}
fn default_locale() -> String {
    "US".into()
}
fn default_percent() -> i64 {
    98
}
fn default_hits() -> i64 {
    1000
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not a valid workforce file: {1}")]
    Parse(String, toml::de::Error),
    #[error("{0}: {1}")]
    Invalid(String, String),
}

impl WorkforceConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(name.clone(), e))?;
        Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse(_, err) => ConfigError::Parse(name.clone(), err),
            ConfigError::Invalid(_, why) => ConfigError::Invalid(name.clone(), why),
            other => other,
        })
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: WorkforceConfig = toml::from_str(text).map_err(|e| ConfigError::Parse(String::new(), e))?;
        config.check().map_err(|why| ConfigError::Invalid(String::new(), why))?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        for g in &self.groups {
            let rate = |r: f64| (0.0..=1.0).contains(&r);
            if !rate(g.accuracy)
                || !rate(g.return_rate)
                || !rate(g.abandon_rate)
                || g.return_rate + g.abandon_rate > 1.0
            {
                return Err(format!("group {:?}: accuracy and rates must lie between 0 and 1", g.name));
            }
            if g.behaviour == Behaviour::Fixed && g.answer.is_none() {
                return Err(format!("group {:?}: a fixed worker needs `answer`", g.name));
            }
            if g.work_seconds.median <= 0.0 || g.pause_seconds.median <= 0.0 {
                return Err(format!("group {:?}: times must be positive", g.name));
            }
            if !g.worker_ids.is_empty() && g.worker_ids.len() != g.count {
                return Err(format!("group {:?}: {} worker_ids for count {}", g.name, g.worker_ids.len(), g.count));
            }
            if let Some(bad) = g.worker_ids.iter().find(|w| !crate::ids::is_worker_id(w)) {
                return Err(format!(
                    "group {:?}: {bad:?} is not a worker id (A followed by capitals and digits)",
                    g.name
                ));
            }
            for (truth, row) in &g.confusion {
                let sum: f64 = row.values().sum();
                if row.values().any(|p| *p < 0.0) || (sum - 1.0).abs() > 1e-6 {
                    return Err(format!(
                        "group {:?}: confusion row {truth:?} must be probabilities summing to 1",
                        g.name
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_population() {
        let c = WorkforceConfig::parse(
            r#"
            seed = 7
            [[group]]
            name = "careful"
            count = 3
            accuracy = 0.95
            work_seconds = { median = 40, spread = 0.5 }
            [[group]]
            name = "spammer"
            behaviour = "spammer"
            [[group]]
            name = "confused"
            confusion = { a = { a = 0.7, b = 0.3 } }
            "#,
        )
        .unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.groups.len(), 3);
        assert_eq!(c.groups[1].behaviour, Behaviour::Spammer);
        assert_eq!(c.groups[0].work_seconds.median, 40.0);
    }

    #[test]
    fn rejects_nonsense() {
        assert!(WorkforceConfig::parse("[[group]]\nname='x'\naccuracy=1.5").is_err());
        assert!(WorkforceConfig::parse("[[group]]\nname='x'\nbehaviour='fixed'").is_err());
        assert!(WorkforceConfig::parse("[[group]]\nname='x'\nconfusion={a={a=0.5}}").is_err());
        assert!(WorkforceConfig::parse("[[group]]\nname='x'\nspeling=1").is_err());
    }
}
