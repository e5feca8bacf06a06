//! Streaming import of registry files (CSV with a header row, or JSON Lines): records are read
//! one at a time, checked, and written in batches; a bad line is reported with its number and
//! reason and the import goes on.

use std::io::BufRead;

use llavero_store::{Person, Store, StoreError};

use super::csv_records::{CsvError, CsvRecords, MAX_RECORD};
use super::record::{RawRecord, RecordError};

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// Comma-separated values with a header row naming the fields.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl ImportFormat {
    /// The format a file name implies: `.csv`, or `.jsonl` / `.ndjson`.
    #[must_use]
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            _ => None,
        }
    }
}

/// A refused line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    /// 1-based line number in the file.
    pub line: u64,
    /// Why.
    pub reason: RecordError,
}

/// The result of an import.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Records read (good and bad).
    pub read: u64,
    /// Records inserted or replaced by a newer one.
    pub written: u64,
    /// Good records the registry already had (same or newer).
    pub unchanged: u64,
    /// Bad lines, in file order.
    pub rejected: Vec<RejectedLine>,
    /// Accounts disabled because their person is no longer active.
    pub disabled_accounts: u64,
}

/// Records per transaction.
const BATCH: usize = 5_000;

/// Reads `input` and upserts every good record, calling `progress(records_read)` after each
/// batch.
pub async fn import<R: BufRead>(
    store: &Store,
    input: R,
    format: ImportFormat,
    now: i64,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::default();
    let mut batch: Vec<Person> = Vec::with_capacity(BATCH);
    let mut records = RecordReader::new(input, format);
    while let Some((line, record)) = records.next_record() {
        report.read += 1;
        match record.and_then(RawRecord::into_person) {
            Ok(person) => batch.push(person),
            Err(reason) => report.rejected.push(RejectedLine { line, reason }),
        }
        if batch.len() == BATCH {
            flush(store, &mut batch, now, &mut report).await?;
            progress(report.read);
        }
    }
    flush(store, &mut batch, now, &mut report).await?;
    progress(report.read);
    Ok(report)
}

async fn flush(
    store: &Store,
    batch: &mut Vec<Person>,
    now: i64,
    report: &mut ImportReport,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let outcome = store.upsert_people(batch, now).await?;
    report.written += outcome.written;
    report.unchanged += outcome.unchanged;
    report.disabled_accounts += outcome.disabled_accounts.len() as u64;
    for account in outcome.disabled_accounts {
        let event = llavero_store::NewAuditEvent {
            kind: "account.disabled".into(),
            account_id: Some(account),
            detail: serde_json::json!({"reason": "civil registry status change"}),
            ..llavero_store::NewAuditEvent::default()
        };
        store.append_audit(&event, now).await?;
    }
    batch.clear();
    Ok(())
}

/// Lines longer than this are refused unread (a registry record is a few hundred bytes).
const MAX_LINE: usize = MAX_RECORD;

enum Source<R: BufRead> {
    /// The records, and the header row once read.
    Csv(Box<CsvRecords<R>>, Option<csv::StringRecord>),
    Json(R),
}

/// Yields `(line number, record)` pairs, never failing as a whole: I/O errors end the stream
/// with one last rejected line.
struct RecordReader<R: BufRead> {
    source: Source<R>,
    line: u64,
    done: bool,
}

impl<R: BufRead> RecordReader<R> {
    fn new(input: R, format: ImportFormat) -> Self {
        let source = match format {
            ImportFormat::Csv => Source::Csv(Box::new(CsvRecords::new(input)), None),
            ImportFormat::JsonLines => Source::Json(input),
        };
        Self {
            source,
            line: 0,
            done: false,
        }
    }

    fn next_record(&mut self) -> Option<(u64, Result<RawRecord, RecordError>)> {
        if self.done {
            return None;
        }
        match &mut self.source {
            Source::Csv(records, headers) => {
                let (line, record) = records.next_record()?;
                let record = match record {
                    Ok(record) => record,
                    Err(e) => {
                        let fatal = matches!(e, CsvError::Io(_)) || headers.is_none();
                        if fatal {
                            self.done = true;
                        }
                        let reason = if headers.is_none() {
                            format!("unreadable header row: {e}")
                        } else {
                            e.to_string()
                        };
                        return Some((line, Err(RecordError::Syntax(reason))));
                    }
                };
                let Some(headers) = headers else {
                    *headers = Some(record);
                    return self.next_record();
                };
                if record.len() != headers.len() {
                    let reason = format!(
                        "{} fields where the header has {}",
                        record.len(),
                        headers.len()
                    );
                    return Some((line, Err(RecordError::Syntax(reason))));
                }
                Some((
                    line,
                    record
                        .deserialize(Some(headers))
                        .map_err(|e| RecordError::Syntax(csv_reason(&e))),
                ))
            }
            Source::Json(input) => loop {
                let mut buf = Vec::new();
                self.line += 1;
                match (&mut *input)
                    .take(MAX_LINE as u64 + 1)
                    .read_until(b'\n', &mut buf)
                {
                    Ok(0) => return None,
                    Ok(_) if buf.len() > MAX_LINE && !buf.ends_with(b"\n") => {
                        // Skip the rest of the over-long line.
                        let mut rest = Vec::new();
                        let _ = input.read_until(b'\n', &mut rest);
                        return Some((
                            self.line,
                            Err(RecordError::Syntax("line longer than 64 KiB".into())),
                        ));
                    }
                    Ok(_) => {
                        if buf.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        let parsed = serde_json::from_slice::<RawRecord>(&buf)
                            .map_err(|e| RecordError::Syntax(e.to_string()));
                        return Some((self.line, parsed));
                    }
                    Err(e) => {
                        self.done = true;
                        return Some((
                            self.line,
                            Err(RecordError::Syntax(format!("read error: {e}"))),
                        ));
                    }
                }
            },
        }
    }
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
        other => format!("{other:?}"),
    }
}

use std::io::Read as _;
