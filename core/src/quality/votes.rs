//! Answers as indexes: items, workers and labels each numbered once, so the
//! models work on small integers.

use std::collections::{BTreeMap, HashMap, HashSet};

/// One answer: `worker` gave `class` for `item` (indexes into [`Votes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    pub item: usize,
    pub worker: usize,
    pub class: usize,
}

/// Items whose label is known: item index to label index.
pub type Gold = BTreeMap<usize, usize>;

/// Every answer of a job (or a dataset), with the names behind the indexes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Votes {
    pub items: Vec<String>,
    pub workers: Vec<String>,
    pub classes: Vec<String>,
    pub answers: Vec<Vote>,
}

fn index_of(names: &mut Vec<String>, by_name: &mut HashMap<String, usize>, name: &str) -> usize {
    if let Some(i) = by_name.get(name) {
        return *i;
    }
    names.push(name.to_string());
    by_name.insert(name.to_string(), names.len() - 1);
    names.len() - 1
}

impl Votes {
    /// From (item, worker, label) answers, in order. `classes` fixes the
    /// labels and their order (an answer with another label is left out);
    /// without it, labels are numbered as they first appear. A worker's
    /// second answer to the same item is left out (the first stands).
    pub fn from_answers<'a>(
        answers: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
        classes: Option<&[String]>,
    ) -> Votes {
        let mut v = Votes::default();
        let (mut items, mut workers, mut labels) = (HashMap::new(), HashMap::new(), HashMap::new());
        if let Some(cs) = classes {
            for c in cs {
                index_of(&mut v.classes, &mut labels, c);
            }
        }
        let mut seen = HashSet::new();
        for (item, worker, label) in answers {
            let class = match (classes, labels.get(label)) {
                (_, Some(c)) => *c,
                (Some(_), None) => continue,
                (None, None) => index_of(&mut v.classes, &mut labels, label),
            };
            let item = index_of(&mut v.items, &mut items, item);
            let worker = index_of(&mut v.workers, &mut workers, worker);
            if seen.insert((item, worker)) {
                v.answers.push(Vote { item, worker, class });
            }
        }
        v
    }

    /// Each item's answers' indexes into `answers`.
    pub fn by_item(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.items.len()];
        for (n, a) in self.answers.iter().enumerate() {
            out[a.item].push(n);
        }
        out
    }

    /// The index of the item named `name`.
    pub fn item(&self, name: &str) -> Option<usize> {
        self.items.iter().position(|i| i == name)
    }

    /// The index of the label named `name`.
    pub fn class(&self, name: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == name)
    }
}
