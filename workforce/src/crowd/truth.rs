//! The truth table: item key -> correct label. Simulated workers need it to
//! be right (or wrong) on purpose.

use std::collections::HashMap;
use std::path::Path;

use crate::model::Hit;

#[derive(Debug, Clone, Default)]
pub struct Truth {
    labels: HashMap<String, String>,
    /// Keys longest first, so that "item-10" wins over "item-1".
    keys_by_length: Vec<String>,
    label_set: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    #[error("cannot read truth file {0}: {1}")]
    Read(String, String),
    #[error("truth file {0}, line {1}: {2}")]
    Row(String, u64, String),
}

impl Truth {
    /// Reads a CSV of `key,label` rows (a `key,label` header is optional).
    pub fn load(path: &Path) -> Result<Self, TruthError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| TruthError::Read(name.clone(), e.to_string()))?;
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(false).from_reader(file);
        let mut pairs = Vec::new();
        for (i, row) in reader.records().enumerate() {
            let row = row.map_err(|e| TruthError::Row(name.clone(), i as u64 + 1, e.to_string()))?;
            if row.len() != 2 {
                return Err(TruthError::Row(name.clone(), i as u64 + 1, "expected two columns: key,label".into()));
            }
            if i == 0 && &row[0] == "key" && &row[1] == "label" {
                continue;
            }
            pairs.push((row[0].to_string(), row[1].to_string()));
        }
        Ok(Self::from_pairs(pairs))
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let labels: HashMap<String, String> = pairs.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        let mut keys_by_length: Vec<String> = labels.keys().cloned().collect();
        keys_by_length.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        let mut label_set: Vec<String> = labels.values().cloned().collect();
        label_set.sort();
        label_set.dedup();
        Truth { labels, keys_by_length, label_set }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn label_set(&self) -> &[String] {
        &self.label_set
    }

    /// The true label of the item a HIT is about: its RequesterAnnotation if
    /// that is a key, else the longest key that appears in the question.
    pub fn label_for(&self, hit: &Hit) -> Option<&str> {
        if let Some(label) = hit.requester_annotation.as_ref().and_then(|a| self.labels.get(a)) {
            return Some(label);
        }
        self.keys_by_length
            .iter()
            .find(|k| hit.question.contains(k.as_str()))
            .and_then(|k| self.labels.get(k))
            .map(String::as_str)
    }
}
