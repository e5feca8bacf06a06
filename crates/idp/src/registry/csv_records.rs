//! CSV records with the file line each one starts on, so a rejected record is reported where
//! an operator finds it in an editor.
//!
//! The `csv` crate numbers a record from where it stopped reading the one before, and that is
//! not always the record's first line: a CRLF line end stops it before the `\n` (every record
//! one line early, the first data record numbered 1, like a record count), and blank lines
//! before a record are counted as its own. This reader drives `csv-core` itself: it skips the
//! line ends and blank lines before each record, counting them, so a record's number is the
//! line of its first byte, and every `\n` inside a quoted field still counts for the records
//! after it. Lines are counted by their `\n` (LF or CRLF ends), as editors, `sed -n` and
//! `csv-core` count them. Parsing is `csv-core`'s own (RFC 4180 quoting, CR, LF or CRLF record
//! ends), as in `csv`.

use std::io::BufRead;

/// A record longer than this is refused unread (a registry record is a few hundred bytes).
pub(crate) const MAX_RECORD: usize = 64 * 1024;
/// A record with more fields than this is refused (the registry format has ten).
const MAX_FIELDS: usize = 256;
/// The UTF-8 byte order mark some spreadsheets write at the start of a CSV file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a record could not be read.
#[derive(Debug)]
pub(crate) enum CsvError {
    /// Reading the file failed: nothing after this can be read.
    Io(std::io::Error),
    /// The record is longer than [`MAX_RECORD`] bytes or has more than [`MAX_FIELDS`] fields.
    TooLong,
    /// Field `field` (from 1) is not UTF-8.
    NotUtf8 {
        /// The field, counting from 1.
        field: usize,
    },
}

impl std::fmt::Display for CsvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "read error: {e}"),
            Self::TooLong => write!(
                f,
                "record longer than {} KiB or with more than {MAX_FIELDS} fields",
                MAX_RECORD / 1024
            ),
            Self::NotUtf8 { field } => write!(f, "field {field} is not UTF-8"),
        }
    }
}

/// Reads CSV records one at a time from `input`, each with the line it starts on.
pub(crate) struct CsvRecords<R: BufRead> {
    input: R,
    core: csv_core::Reader,
    /// The line of the next unread byte, from 1.
    line: u64,
    /// The current record's field bytes, and where each field ends in them.
    fields: Vec<u8>,
    ends: Vec<usize>,
    at_start: bool,
    done: bool,
}

impl<R: BufRead> CsvRecords<R> {
    pub(crate) fn new(input: R) -> Self {
        Self {
            input,
            core: csv_core::Reader::new(),
            line: 1,
            fields: vec![0; 1024],
            ends: vec![0; 16],
            at_start: true,
            done: false,
        }
    }

    /// The next record and the line it starts on; `None` at the end of the input. After an
    /// I/O error there is nothing more.
    pub(crate) fn next_record(&mut self) -> Option<(u64, Result<csv::StringRecord, CsvError>)> {
        if self.done {
            return None;
        }
        match self.skip_line_ends() {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some((self.line, Err(CsvError::Io(e))));
            }
        }
        let line = self.line;
        match self.read_fields() {
            Ok(Some(fields)) => Some((line, fields)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some((line, Err(CsvError::Io(e))))
            }
        }
    }

    /// Skips the line ends (and so the blank lines) before the next record, and a byte order
    /// mark at the start of the file; false if the input ends first.
    fn skip_line_ends(&mut self) -> std::io::Result<bool> {
        loop {
            let (skipped, newlines, more) = {
                let buf = self.input.fill_buf()?;
                if buf.is_empty() {
                    return Ok(false);
                }
                if std::mem::take(&mut self.at_start) && buf.starts_with(BOM) {
                    (BOM.len(), 0, true)
                } else {
                    let skipped = buf
                        .iter()
                        .position(|b| !matches!(b, b'\r' | b'\n'))
                        .unwrap_or(buf.len());
                    let newlines = newlines(buf.get(..skipped).unwrap_or_default());
                    (skipped, newlines, skipped == buf.len())
                }
            };
            self.input.consume(skipped);
            self.line += newlines;
            if !more {
                return Ok(true);
            }
        }
    }

    /// Feeds `csv-core` until it has a whole record; `Ok(None)` if the input held none.
    fn read_fields(&mut self) -> std::io::Result<Option<Result<csv::StringRecord, CsvError>>> {
        let (mut out, mut nends) = (0, 0);
        let mut too_long = false;
        loop {
            let (result, consumed, newlines) = {
                let buf = self.input.fill_buf()?;
                let output = self.fields.get_mut(out..).unwrap_or_default();
                let ends = self.ends.get_mut(nends..).unwrap_or_default();
                let (result, nin, nout, nend) = self.core.read_record(buf, output, ends);
                out += nout;
                nends += nend;
                (result, nin, newlines(buf.get(..nin).unwrap_or_default()))
            };
            self.input.consume(consumed);
            self.line += newlines;
            match result {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    if self.fields.len() < MAX_RECORD {
                        self.fields.resize(self.fields.len() * 2, 0);
                    } else {
                        // Read on to the record's end, keeping nothing.
                        too_long = true;
                        out = 0;
                    }
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    if self.ends.len() < MAX_FIELDS {
                        self.ends.resize(self.ends.len() * 2, 0);
                    } else {
                        too_long = true;
                        nends = 0;
                    }
                }
                csv_core::ReadRecordResult::Record if too_long => {
                    return Ok(Some(Err(CsvError::TooLong)));
                }
                csv_core::ReadRecordResult::Record => return Ok(Some(self.record(nends))),
                csv_core::ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// The record of the first `nends` fields read.
    fn record(&self, nends: usize) -> Result<csv::StringRecord, CsvError> {
        let ends = self.ends.get(..nends).unwrap_or_default();
        let mut record = csv::ByteRecord::with_capacity(ends.last().copied().unwrap_or(0), nends);
        let mut start = 0;
        for &end in ends {
            record.push_field(self.fields.get(start..end).unwrap_or_default());
            start = end;
        }
        csv::StringRecord::from_byte_record(record).map_err(|e| CsvError::NotUtf8 {
            field: e.utf8_error().field() + 1,
        })
    }
}

#[expect(
    clippy::naive_bytecount,
    reason = "a record is a few hundred bytes: not worth a dependency"
)]
fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record's first line and fields.
    fn lines_and_records(text: &[u8]) -> Vec<(u64, Vec<String>)> {
        let mut reader = CsvRecords::new(text);
        let mut out = Vec::new();
        while let Some((line, record)) = reader.next_record() {
            let record = record.unwrap();
            out.push((line, record.iter().map(str::to_owned).collect()));
        }
        out
    }

    fn lines(text: &[u8]) -> Vec<u64> {
        lines_and_records(text)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn numbers_records_by_the_line_they_start_on() {
        assert_eq!(lines(b"h1,h2\na,b\nc,d\n"), [1, 2, 3]);
        assert_eq!(lines(b"h1,h2\r\na,b\r\nc,d\r\n"), [1, 2, 3], "CRLF");
        assert_eq!(lines(b"h1,h2\na,b\nc,d"), [1, 2, 3], "no final line end");
        assert_eq!(
            lines(b"\nh1,h2\n\n\r\na,b\n\nc,d\n\n"),
            [2, 5, 7],
            "blank lines"
        );
        assert_eq!(
            lines_and_records(b"h1,h2\r\n\"two\r\nlines\",b\r\n\"x\"\"y\",\"\"\r\nc,d"),
            [
                (1, vec!["h1".to_owned(), "h2".to_owned()]),
                (2, vec!["two\r\nlines".to_owned(), "b".to_owned()]),
                (4, vec!["x\"y".to_owned(), String::new()]),
                (5, vec!["c".to_owned(), "d".to_owned()]),
            ],
            "a quoted field over two lines"
        );
        assert_eq!(
            lines_and_records(b"\xEF\xBB\xBFrun,x\n"),
            [(1, vec!["run".to_owned(), "x".to_owned()])],
            "byte order mark"
        );
        assert!(lines(b"").is_empty());
        assert!(lines(b"\r\n\n").is_empty());
    }

    #[test]
    fn refuses_long_records_and_bad_utf8_and_reads_on() {
        let mut text = b"h\n\"".to_vec();
        text.extend(std::iter::repeat_n(b'a', MAX_RECORD * 2));
        text.extend(b"\nstill\"\nnext\n\xFF,x\nlast\n");
        let mut reader = CsvRecords::new(text.as_slice());
        assert_eq!(reader.next_record().unwrap().0, 1);
        let (line, long) = reader.next_record().unwrap();
        assert_eq!(line, 2);
        assert!(matches!(long, Err(CsvError::TooLong)));
        let (line, next) = reader.next_record().unwrap();
        assert_eq!((line, next.unwrap().get(0)), (4, Some("next")));
        let (line, bad) = reader.next_record().unwrap();
        assert_eq!(line, 5);
        assert!(matches!(bad, Err(CsvError::NotUtf8 { field: 1 })));
        assert_eq!(reader.next_record().unwrap().0, 6);
        assert!(reader.next_record().is_none());
    }

    #[test]
    fn many_fields_are_refused() {
        let text = format!("h\n{}\nok\n", ",".repeat(MAX_FIELDS * 2));
        let mut reader = CsvRecords::new(text.as_bytes());
        reader.next_record();
        assert!(matches!(
            reader.next_record(),
            Some((2, Err(CsvError::TooLong)))
        ));
        assert_eq!(reader.next_record().unwrap().0, 3);
    }
}
