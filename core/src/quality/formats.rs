//! Recorded crowd answers and their true labels, read from the shapes they
//! come in: hitloop's own (`answers.csv`: item,worker,label; `truth.csv`:
//! item,label) and the public datasets' (Zheng et al.'s answer.csv and
//! truth.csv, Zhang et al.'s whitespace-separated `*_crowd.txt` and
//! `*_truth.txt`, Snow et al.'s standardized TSV with the gold on every row).
//! What `hitloop replay` reads; a user can replay their own past answers.

use std::collections::BTreeMap;

/// Answers as (item, worker, label), in the order recorded, and the true
/// label of each item that has one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub answers: Vec<(String, String, String)>,
    pub truth: BTreeMap<String, String>,
}

/// The shapes [`read`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// answers: `item,worker,label` with a header; truth: `item,label` with a
    /// header (hitloop's, and Zheng et al.'s `question,worker,answer`).
    Csv,
    /// answers: `item worker label`, truth: `item label`, no header; a label
    /// 0 in the truth means none (Zhang et al.).
    Whitespace,
    /// One TSV with a header naming `!amt_worker_ids`, `orig_id`, `response`
    /// and `gold` (Snow et al.); no separate truth.
    SnowTsv,
}

fn csv_rows(text: &str, what: &str, columns: usize) -> Result<Vec<Vec<String>>, String> {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (n, row) in r.records().enumerate() {
        let row = row.map_err(|e| format!("{what}: {e}"))?;
        if row.len() < columns {
            return Err(format!("{what} line {}: {} columns, {columns} expected", n + 2, row.len()));
        }
        out.push(row.iter().map(|f| f.trim().to_string()).collect());
    }
    Ok(out)
}

fn whitespace_rows(text: &str, what: &str, columns: usize) -> Result<Vec<Vec<String>>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let row: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if row.len() < columns {
            return Err(format!("{what} line {}: {} columns, {columns} expected", n + 1, row.len()));
        }
        out.push(row);
    }
    Ok(out)
}

/// Reads `answers` (and `truth`, for the formats that keep it apart).
pub fn read(format: Format, answers: &str, truth: Option<&str>) -> Result<Recorded, String> {
    let mut r = Recorded::default();
    match format {
        Format::Csv | Format::Whitespace => {
            let rows = match format {
                Format::Csv => csv_rows(answers, "answers", 3)?,
                _ => whitespace_rows(answers, "answers", 3)?,
            };
            r.answers = rows.into_iter().map(|f| (f[0].clone(), f[1].clone(), f[2].clone())).collect();
            let Some(truth) = truth else { return Err("this format needs a truth file".into()) };
            let rows = match format {
                Format::Csv => csv_rows(truth, "truth", 2)?,
                _ => whitespace_rows(truth, "truth", 2)?,
            };
            for f in rows {
                if format == Format::Whitespace && f[1] == "0" {
                    continue;
                }
                // The first row of an item stands (Zhang's dog repeats them).
                r.truth.entry(f[0].clone()).or_insert_with(|| f[1].clone());
            }
        }
        Format::SnowTsv => {
            let mut lines = answers.lines();
            let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
            let at = |name: &str| header.iter().position(|h| *h == name).ok_or_else(|| format!("no {name} column"));
            let (worker, item, label, gold) = (at("!amt_worker_ids")?, at("orig_id")?, at("response")?, at("gold")?);
            for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let f: Vec<&str> = line.split('\t').collect();
                let field = |i: usize| {
                    f.get(i).map(|v| v.trim().to_string()).ok_or_else(|| format!("line {}: too few columns", n + 2))
                };
                r.answers.push((field(item)?, field(worker)?, field(label)?));
                r.truth.entry(field(item)?).or_insert(field(gold)?);
            }
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_reads_to_the_same_answers() {
        let want = Recorded {
            answers: vec![("1".into(), "w1".into(), "a".into()), ("2".into(), "w2".into(), "b".into())],
            truth: BTreeMap::from([("1".into(), "a".into())]),
        };
        let csv = read(Format::Csv, "item,worker,label\n1,w1,a\n2,w2,b\n", Some("item,label\n1,a\n")).unwrap();
        assert_eq!(csv, want);
        let ws = read(Format::Whitespace, "1 w1 a\n2\tw2 b\n\n", Some("1 a\n1 b\n2 0\n")).unwrap();
        assert_eq!(ws, want, "the first truth row stands; 0 is no truth");
        let tsv = "!amt_annotation_ids\t!amt_worker_ids\torig_id\tresponse\tgold\nx\tw1\t1\ta\ta\ny\tw2\t2\tb\tb\n";
        let snow = read(Format::SnowTsv, tsv, None).unwrap();
        assert_eq!(snow.answers, want.answers);
        assert_eq!(snow.truth.len(), 2);
    }

    #[test]
    fn a_malformed_file_is_an_error_that_names_the_line() {
        assert!(read(Format::Csv, "item,worker,label\n1,w1\n", Some("item,label\n")).unwrap_err().contains("line 2"));
        assert!(read(Format::Whitespace, "1 w1 a\n", None).unwrap_err().contains("truth"));
        assert!(read(Format::SnowTsv, "a\tb\n", None).unwrap_err().contains("no !amt_worker_ids column"));
    }
}
