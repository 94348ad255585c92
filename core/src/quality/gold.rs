//! Gold items: manifest rows whose label is known, marked by a `gold`
//! column holding one of the job's labels. The worker model pins them to
//! that label, so they teach it what each worker gets right.

use crate::job::JobSpec;
use crate::records::Item;

/// The manifest column that marks an item as gold: its known label.
pub const GOLD_COLUMN: &str = "gold";

/// The item's gold label's index, if its manifest row gives one of the
/// job's labels.
pub fn gold_of(spec: &JobSpec, item: &Item) -> Option<usize> {
    let g = item.values.get(GOLD_COLUMN)?.trim();
    spec.labels.iter().position(|l| l == g)
}
