//! Reading a manifest as a stream of rows, never the whole file at once:
//! CSV with a header row, or JSON Lines with one object per line. Each row
//! becomes an item whose id is its `id` column, else its row number.

use std::collections::BTreeMap;

use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

use crate::problems::Problem;

/// The longest line accepted (a guard against files with no line breaks).
pub const MAX_LINE_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn from_key(key: &str) -> Option<Format> {
        let name = key.rsplit('/').next().unwrap_or(key);
        match name {
            "manifest.csv" => Some(Format::Csv),
            "manifest.jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Format::Csv => "manifest.csv",
            Format::Jsonl => "manifest.jsonl",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line the row starts on (1-based, the header is line 1 in CSV).
    pub line: u64,
    pub id: String,
    pub values: BTreeMap<String, String>,
}

/// A valid item id: what DynamoDB keys and MTurk tokens can carry.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 200 {
        return Err(format!("id {id:?} must have 1 to 200 characters"));
    }
    if id.chars().any(|c| c.is_control()) {
        return Err(format!("id {id:?} contains control characters"));
    }
    Ok(())
}

type ByteRecords<R> = csv_async::ByteRecordsIntoStream<'static, LineLimit<R>>;

/// A manifest read row by row (pull, so the caller may await between rows).
pub struct Rows<R: AsyncRead + Unpin + Send + 'static> {
    inner: Inner<R>,
    /// The column names: the CSV header, or the keys of the first JSON object.
    pub columns: Vec<String>,
    n: u64,
}

enum Inner<R: AsyncRead + Unpin + Send + 'static> {
    Csv { records: ByteRecords<R>, id_col: Option<usize>, done: bool },
    Jsonl { lines: BufReader<R>, line: u64, buf: Vec<u8>, done: bool },
}

impl<R: AsyncRead + Unpin + Send + 'static> Rows<R> {
    /// Starts reading; a CSV header that cannot be used is a problem here.
    pub async fn open(reader: R, format: Format) -> Result<Self, Problem> {
        let file = format.file_name();
        match format {
            Format::Csv => {
                let csv = csv_async::AsyncReaderBuilder::new()
                    .flexible(true)
                    .has_headers(false)
                    .create_reader(LineLimit::new(reader));
                let mut records = csv.into_byte_records();
                let header = match records.next().await {
                    None => return Err(Problem::at(file, 1, "the manifest is empty")),
                    Some(Err(e)) => return Err(Problem::at(file, 1, format!("the header cannot be read: {e}"))),
                    Some(Ok(h)) => h,
                };
                let mut columns = Vec::new();
                for (i, field) in header.iter().enumerate() {
                    let Ok(mut name) = String::from_utf8(field.to_vec()) else {
                        return Err(Problem::at(file, 1, format!("column {} of the header is not UTF-8", i + 1)));
                    };
                    if i == 0 {
                        name = name.trim_start_matches('\u{feff}').to_string();
                    }
                    let name = name.trim().to_string();
                    if name.is_empty() {
                        return Err(Problem::at(file, 1, format!("column {} of the header has no name", i + 1)));
                    }
                    if columns.contains(&name) {
                        return Err(Problem::at(file, 1, format!("column {name:?} appears twice in the header")));
                    }
                    columns.push(name);
                }
                let id_col = columns.iter().position(|c| c == "id");
                Ok(Rows { inner: Inner::Csv { records, id_col, done: false }, columns, n: 0 })
            }
            Format::Jsonl => Ok(Rows {
                inner: Inner::Jsonl { lines: BufReader::new(reader), line: 0, buf: Vec::new(), done: false },
                columns: Vec::new(),
                n: 0,
            }),
        }
    }

    /// The next row, a problem with one row, or None at the end. After an
    /// unrecoverable read error the problem is returned and reading stops.
    pub async fn next(&mut self) -> Option<Result<Row, Problem>> {
        match &mut self.inner {
            Inner::Csv { records, id_col, done } => loop {
                if *done {
                    return None;
                }
                let file = Format::Csv.file_name();
                let record = match records.next().await? {
                    Ok(r) => r,
                    Err(e) => {
                        let line = e.position().map_or(self.n + 2, |p| p.line());
                        if matches!(e.kind(), csv_async::ErrorKind::Io(_)) {
                            *done = true;
                        }
                        self.n += 1;
                        return Some(Err(Problem::at(file, line, format!("unreadable row: {e}"))));
                    }
                };
                let line = record.position().map_or(self.n + 2, |p| p.line());
                if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
                    continue; // a blank line
                }
                self.n += 1;
                if record.len() != self.columns.len() {
                    return Some(Err(Problem::at(
                        file,
                        line,
                        format!("{} fields where the header has {}", record.len(), self.columns.len()),
                    )));
                }
                let mut values = BTreeMap::new();
                for (name, field) in self.columns.iter().zip(record.iter()) {
                    match std::str::from_utf8(field) {
                        Ok(v) => {
                            values.insert(name.clone(), v.to_string());
                        }
                        Err(_) => {
                            return Some(Err(Problem::at(file, line, format!("column {name:?} is not valid UTF-8"))))
                        }
                    }
                }
                let id = match id_col {
                    Some(i) => values.get(&self.columns[*i]).cloned().unwrap_or_default(),
                    None => self.n.to_string(),
                };
                return Some(match check_id(&id) {
                    Ok(()) => Ok(Row { line, id, values }),
                    Err(e) => Err(Problem::at(file, line, e)),
                });
            },
            Inner::Jsonl { lines, line, buf, done } => loop {
                if *done {
                    return None;
                }
                let file = Format::Jsonl.file_name();
                buf.clear();
                let read = (&mut *lines).take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', buf).await;
                let size = match read {
                    Ok(s) => s,
                    Err(e) => {
                        *done = true;
                        return Some(Err(Problem::at(file, *line + 1, format!("cannot read the manifest: {e}"))));
                    }
                };
                if size == 0 {
                    return None;
                }
                *line += 1;
                if buf.len() > MAX_LINE_BYTES {
                    *done = true;
                    return Some(Err(Problem::at(file, *line, format!("line longer than {MAX_LINE_BYTES} bytes"))));
                }
                let text = match std::str::from_utf8(buf) {
                    Ok(t) => t.trim_start_matches('\u{feff}').trim(),
                    Err(_) => return Some(Err(Problem::at(file, *line, "not valid UTF-8"))),
                };
                if text.is_empty() {
                    continue;
                }
                self.n += 1;
                let object: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
                    Ok(o) => o,
                    Err(e) => return Some(Err(Problem::at(file, *line, format!("not a JSON object: {e}")))),
                };
                let values: BTreeMap<String, String> = object
                    .into_iter()
                    .map(|(k, v)| {
                        let s = match v {
                            serde_json::Value::String(s) => s,
                            serde_json::Value::Null => String::new(),
                            other => other.to_string(),
                        };
                        (k, s)
                    })
                    .collect();
                if self.columns.is_empty() {
                    self.columns = values.keys().cloned().collect();
                }
                let id = values.get("id").cloned().unwrap_or_else(|| self.n.to_string());
                return Some(match check_id(&id) {
                    Ok(()) => Ok(Row { line: *line, id, values }),
                    Err(e) => Err(Problem::at(file, *line, e)),
                });
            },
        }
    }
}

/// Wraps a reader and fails once a line grows past [`MAX_LINE_BYTES`], so a
/// file without line breaks cannot make the CSV reader buffer all of it.
pub struct LineLimit<R> {
    inner: R,
    since_newline: usize,
}

impl<R> LineLimit<R> {
    fn new(inner: R) -> Self {
        LineLimit { inner, since_newline: 0 }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for LineLimit<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = std::pin::Pin::new(&mut this.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = &poll {
            for &b in &buf.filled()[before..] {
                if b == b'\n' {
                    this.since_newline = 0;
                } else {
                    this.since_newline += 1;
                    if this.since_newline > MAX_LINE_BYTES {
                        return std::task::Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("a line is longer than {MAX_LINE_BYTES} bytes"),
                        )));
                    }
                }
            }
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn rows(text: &[u8], format: Format) -> (Result<Vec<String>, Problem>, Vec<Result<Row, Problem>>) {
        let mut rows = match Rows::open(std::io::Cursor::new(text.to_vec()), format).await {
            Ok(r) => r,
            Err(p) => return (Err(p), vec![]),
        };
        let mut out = Vec::new();
        while let Some(r) = rows.next().await {
            out.push(r);
        }
        if format == Format::Jsonl && rows.columns.is_empty() && out.iter().all(|r| r.is_err()) && out.is_empty() {
            return (Err(Problem::at("manifest.jsonl", 1, "the manifest is empty")), out);
        }
        (Ok(rows.columns.clone()), out)
    }

    #[tokio::test]
    async fn csv_rows_get_ids_from_the_id_column_or_their_number() {
        let (cols, out) = rows(b"\xef\xbb\xbfimage_url,species\nhttp://a,x\n\nhttp://b,y\n", Format::Csv).await;
        assert_eq!(cols.unwrap(), ["image_url", "species"], "the BOM is dropped");
        let ok: Vec<_> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(ok.len(), 2);
        assert_eq!((ok[0].id.as_str(), ok[0].line), ("1", 2));
        assert_eq!(ok[1].id, "2", "a blank line is not a row");
        let (_, out) = rows(b"a\n1\n2\n3\n", Format::Csv).await;
        assert_eq!(out[2].as_ref().unwrap().line, 4, "lines count the header");
        let (_, out) = rows(b"id,url\nflower-7,\"a,b\"\n", Format::Csv).await;
        let row = out[0].clone().unwrap();
        assert_eq!(row.id, "flower-7");
        assert_eq!(row.values["url"], "a,b");
    }

    #[tokio::test]
    async fn csv_problems_name_their_line_and_reading_goes_on() {
        let (_, out) = rows(b"a,b\n1,2\n3\n4,\xff\n5,6\n", Format::Csv).await;
        assert!(out[0].is_ok());
        assert_eq!(out[1].as_ref().unwrap_err().line, Some(3));
        assert!(out[2].as_ref().unwrap_err().message.contains("UTF-8"));
        assert!(out[3].is_ok());
        let (cols, _) = rows(b"", Format::Csv).await;
        assert!(cols.unwrap_err().message.contains("empty"));
        let (cols, _) = rows(b"a,a\n", Format::Csv).await;
        assert!(cols.unwrap_err().message.contains("twice"));
    }

    #[tokio::test]
    async fn a_file_without_line_breaks_is_refused_not_buffered() {
        let huge = vec![b'x'; MAX_LINE_BYTES + 10];
        let (cols, out) = rows(&huge, Format::Csv).await;
        assert!(cols.is_err() || out.iter().any(|r| r.is_err()));
        let (_, out) = rows(&huge, Format::Jsonl).await;
        assert!(out[0].as_ref().unwrap_err().message.contains("longer"));
    }

    #[tokio::test]
    async fn jsonl_rows() {
        let (cols, out) = rows(b"{\"id\": \"a\", \"n\": 3}\n\nnot json\n{\"n\": 4}\n", Format::Jsonl).await;
        assert_eq!(cols.unwrap(), ["id", "n"]);
        assert_eq!(out[0].as_ref().unwrap().values["n"], "3");
        assert_eq!(out[1].as_ref().unwrap_err().line, Some(3));
        assert_eq!(out[2].as_ref().unwrap().id, "3", "the row number, counting non-blank lines");
    }
}
