//! Reading one flat file into batches: encoding, delimiter sniffing, the DATEV EXTF header,
//! column-count checks, exact line numbers, resume by record count. Runs on a blocking thread.

use crate::lines::{LineTracker, Lines};
use crate::options::{CsvOptions, Encoding};
use kontor_connector::{
    Batch, ConnectorError, Context, Fields, Item, Position, RawRecord, RawReject, Row,
};
use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{Cursor, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

const SNIFF_BYTES: usize = 64 * 1024;

/// What the reader found out about a file before the first record.
pub struct FileReader {
    csv: csv::Reader<LineTracker<Box<dyn Read>>>,
    lines: Lines,
    hash: Hash,
    encoding: Encoding,
    header: Arc<Vec<String>>,
    context: Arc<Context>,
    stream: Option<Arc<str>>,
    source: Arc<str>,
    delimiter: u8,
    /// Data records consumed (records and rejects), for resume.
    pub consumed: u64,
    expected_hash: Option<String>,
    record: csv::ByteRecord,
}

impl FileReader {
    pub fn open(
        path: &Path,
        label: &str,
        opts: &CsvOptions,
        expected_hash: Option<String>,
    ) -> Result<Self, ConnectorError> {
        let io = |e: std::io::Error| ConnectorError::io(label, e);
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut prefix = Vec::with_capacity(SNIFF_BYTES);
        (&mut file)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut prefix)
            .map_err(io)?;

        // file -> hash (of the stored bytes) -> [UTF-16 -> UTF-8] -> skip BOM -> line tracker -> csv
        let hash = Hash::default();
        let hashed = Hashing {
            inner: Cursor::new(prefix.clone()).chain(file),
            hash: hash.clone(),
        };
        let mut encoding = opts.encoding;
        let utf16 = prefix.starts_with(&[0xFF, 0xFE])
            || prefix.starts_with(&[0xFE, 0xFF])
            || encoding == Encoding::Utf16;
        let (text, sniff): (Box<dyn Read>, Vec<u8>) = if utf16 {
            encoding = Encoding::Utf8;
            let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(if prefix.starts_with(&[0xFE, 0xFF]) {
                    Some(encoding_rs::UTF_16BE)
                } else {
                    Some(encoding_rs::UTF_16LE)
                })
                .build(hashed);
            let (sniff, _) = encoding_rs::UTF_16LE.decode_with_bom_removal(&prefix);
            (Box::new(decoded), sniff.into_owned().into_bytes())
        } else {
            (Box::new(hashed), prefix)
        };
        let mut skip_bom = 0;
        if sniff.starts_with(&[0xEF, 0xBB, 0xBF]) {
            skip_bom = 3;
            if encoding == Encoding::Auto {
                encoding = Encoding::Utf8;
            }
        }
        let mut first_lines = sniff[skip_bom..]
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let mut lines_before_header = opts.skip_lines as usize;
        for _ in 0..lines_before_header {
            first_lines.next();
        }
        let mut datev = false;
        let mut header_line = first_lines.next().unwrap_or_default();
        if opts.datev_auto && is_datev_meta(header_line) {
            datev = true;
            lines_before_header += 1;
            header_line = first_lines.next().unwrap_or_default();
        }
        let delimiter = opts.delimiter.unwrap_or_else(|| {
            if datev {
                b';'
            } else {
                sniff_delimiter(header_line, opts.quote)
            }
        });

        let lines = Lines::default();
        let tracked: Box<dyn Read> = Box::new(SkipBytes {
            inner: text,
            skip: skip_bom,
        });
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .quote(opts.quote)
            .buffer_capacity(64 * 1024)
            .from_reader(LineTracker::new(tracked, lines.clone()));
        let source: Arc<str> = Arc::from(label);
        let mut context = Context::new();
        context.insert("file".into(), label.to_owned());
        let mut record = csv::ByteRecord::new();
        let mut stream = None;
        for i in 0..lines_before_header {
            if !csv
                .read_byte_record(&mut record)
                .map_err(|e| csv_err(label, e))?
            {
                break;
            }
            if datev && i + 1 == lines_before_header {
                let meta: Vec<String> = record.iter().map(|f| decode_lossy(f, encoding)).collect();
                stream = datev_context(&meta, &mut context).map(Arc::from);
            }
        }
        let header: Vec<String> = if opts.header
            && csv
                .read_byte_record(&mut record)
                .map_err(|e| csv_err(label, e))?
        {
            record
                .iter()
                .map(|f| decode_lossy(f, encoding).trim().to_owned())
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            csv,
            lines,
            hash,
            encoding,
            header: Arc::new(header),
            context: Arc::new(context),
            stream,
            source,
            delimiter,
            consumed: 0,
            expected_hash,
            record,
        })
    }

    /// Skips records already committed by an interrupted run.
    pub fn skip(&mut self, n: u64) -> Result<(), ConnectorError> {
        while self.consumed < n {
            if !self
                .csv
                .read_byte_record(&mut self.record)
                .map_err(|e| csv_err(&self.source, e))?
            {
                break;
            }
            if !is_blank(&self.record) {
                self.consumed += 1;
            }
        }
        Ok(())
    }

    /// The next batch of up to `size` items and about
    /// [`MAX_BATCH_BYTES`](kontor_connector::MAX_BATCH_BYTES); `None` at the end of the file.
    pub fn next_batch(&mut self, size: usize) -> Result<Option<Batch>, ConnectorError> {
        let mut items = Vec::with_capacity(size.min(4096));
        let mut bytes = 0usize;
        while items.len() < size && bytes < kontor_connector::MAX_BATCH_BYTES {
            if !self
                .csv
                .read_byte_record(&mut self.record)
                .map_err(|e| csv_err(&self.source, e))?
            {
                self.verify_hash()?;
                break;
            }
            if is_blank(&self.record) {
                continue;
            }
            self.consumed += 1;
            let reported = self.record.position().map_or(0, csv::Position::byte);
            let line = self.lines.line_of(reported);
            let item = self.item(line);
            bytes += item.approx_bytes();
            items.push(item);
        }
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(Batch {
            items,
            position: kontor_connector::files::FilePosition {
                records: self.consumed,
            }
            .to_value(),
            bytes_read: Some(self.hash.bytes()),
        }))
    }

    fn item(&self, line: u64) -> Item {
        let position = Position::line(self.source.clone(), line);
        let expected = if self.header.is_empty() {
            self.record.len()
        } else {
            self.header.len()
        };
        if self.record.len() != expected {
            return Item::Reject(RawReject {
                position,
                field: None,
                reason: format!("expected {expected} columns, found {}", self.record.len()),
                raw: self.raw_line(),
            });
        }
        let values = match decode_record(&self.record, self.encoding) {
            Ok(v) => v,
            Err((col, reason)) => {
                return Item::Reject(RawReject {
                    position,
                    field: Some(
                        self.header
                            .get(col)
                            .cloned()
                            .unwrap_or_else(|| format!("column {}", col + 1)),
                    ),
                    reason,
                    raw: self.raw_line(),
                });
            }
        };
        let header = if self.header.is_empty() {
            Arc::new((1..=values.len()).map(|i| i.to_string()).collect())
        } else {
            self.header.clone()
        };
        Item::Record(RawRecord {
            fields: Fields::Row { header, values },
            position,
            context: self.context.clone(),
            stream: self.stream.clone(),
        })
    }

    /// The record as a CSV line (for quarantine).
    fn raw_line(&self) -> String {
        let mut w = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let _ = w.write_byte_record(&self.record);
        let bytes = w.into_inner().unwrap_or_default();
        decode_lossy(&bytes, self.encoding)
            .trim_end_matches('\n')
            .to_owned()
    }

    fn verify_hash(&mut self) -> Result<(), ConnectorError> {
        if let Some(want) = &self.expected_hash
            && *want != self.hash.hex()
        {
            return Err(ConnectorError::Unit {
                position: Position::line(self.source.clone(), 1),
                reason: "the file changed while it was read; it will be read again next time"
                    .into(),
            });
        }
        Ok(())
    }
}

/// BLAKE3 of the bytes read so far.
#[derive(Clone, Default)]
struct Hash(Rc<RefCell<(blake3::Hasher, u64)>>);

impl Hash {
    fn hex(&self) -> String {
        self.0.borrow().0.finalize().to_hex().to_string()
    }
    fn bytes(&self) -> u64 {
        self.0.borrow().1
    }
}

struct Hashing<R> {
    inner: R,
    hash: Hash,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut h = self.hash.0.borrow_mut();
        h.0.update(&buf[..n]);
        h.1 += n as u64;
        Ok(n)
    }
}

/// Drops the first `skip` bytes (a BOM).
struct SkipBytes<R> {
    inner: R,
    skip: usize,
}

impl<R: Read> Read for SkipBytes<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.skip > 0 {
            let mut tmp = [0u8; 4];
            let n = self.inner.read(&mut tmp[..self.skip.min(4)])?;
            if n == 0 {
                return Ok(0);
            }
            self.skip -= n;
        }
        self.inner.read(buf)
    }
}

fn csv_err(label: &str, e: csv::Error) -> ConnectorError {
    ConnectorError::io(label, e)
}

fn is_blank(rec: &csv::ByteRecord) -> bool {
    rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// `EXTF`/`DTVF` in the first field of the first line.
fn is_datev_meta(line: &[u8]) -> bool {
    let l = line.strip_prefix(b"\"").unwrap_or(line);
    l.starts_with(b"EXTF") || l.starts_with(b"DTVF")
}

/// The delimiters a file may use, in the order ties are decided (German exports use `;`).
pub(crate) const DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];

/// How often each of [`DELIMITERS`] occurs outside quotes in `line`.
pub(crate) fn delimiter_counts(line: &[u8], quote: u8) -> [usize; 4] {
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    for b in line {
        if *b == quote {
            in_quotes = !in_quotes;
        } else if !in_quotes && let Some(i) = DELIMITERS.iter().position(|c| c == b) {
            counts[i] += 1;
        }
    }
    counts
}

/// The delimiter that occurs most often outside quotes in the header line.
fn sniff_delimiter(line: &[u8], quote: u8) -> u8 {
    let counts = delimiter_counts(line, quote);
    let cands = DELIMITERS;
    // Ties go to ';' (German exports).
    let best = (0..4)
        .max_by_key(|i| (counts[*i], std::cmp::Reverse(*i)))
        .unwrap_or(0);
    if counts[best] == 0 { b';' } else { cands[best] }
}

/// Fills the context from a DATEV EXTF header; returns the stream name (`datev/<format>`).
fn datev_context(meta: &[String], ctx: &mut Context) -> Option<String> {
    let keys = [
        (1, "datev.version"),
        (2, "datev.category"),
        (3, "datev.format_name"),
        (4, "datev.format_version"),
        (5, "datev.created"),
        (10, "datev.consultant"),
        (11, "datev.client"),
        (12, "datev.fiscal_year_start"),
        (13, "datev.account_length"),
        (14, "datev.period_from"),
        (15, "datev.period_to"),
        (16, "datev.description"),
        (21, "datev.currency"),
    ];
    for (i, k) in keys {
        if let Some(v) = meta.get(i).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            ctx.insert(k.to_owned(), v.to_owned());
        }
    }
    // The exports of one DATEV client (consultant and client number) share their account
    // numbers: the source names its system, which a connector without `system` takes.
    if let (Some(b), Some(m)) = (ctx.get("datev.consultant"), ctx.get("datev.client")) {
        let system = format!("datev:{b}:{m}");
        ctx.insert("source.system".to_owned(), system);
    }
    meta.get(3).map(|f| format!("datev/{}", f.trim()))
}

fn decode_lossy(bytes: &[u8], enc: Encoding) -> String {
    match enc {
        Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        Encoding::Latin9 => encoding_rs::ISO_8859_15
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
        Encoding::Auto => match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        },
        _ => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// Decodes a record; the error names the 0-based column and the reason.
fn decode_record(rec: &csv::ByteRecord, enc: Encoding) -> Result<Row, (usize, String)> {
    let mut row = Row::with_capacity(rec.as_slice().len() + 16, rec.len());
    let auto_utf8 = enc == Encoding::Auto && std::str::from_utf8(rec.as_slice()).is_ok();
    for (i, f) in rec.iter().enumerate() {
        let text: Cow<str> = match enc {
            Encoding::Utf8 => Cow::Borrowed(std::str::from_utf8(f).map_err(|e| {
                (i, format!("invalid UTF-8 at byte {} of the value; is the file Windows-1252? set encoding = \"windows-1252\"", e.valid_up_to() + 1))
            })?),
            Encoding::Auto if auto_utf8 => Cow::Borrowed(std::str::from_utf8(f).unwrap_or_default()),
            Encoding::Latin9 => encoding_rs::ISO_8859_15.decode_without_bom_handling(f).0,
            Encoding::Windows1252 | Encoding::Latin1 if looks_like_utf8(f) => {
                return Err((i, "the value looks like UTF-8 (e.g. Ã¼ for ü) but the encoding is set to windows-1252; set encoding = \"utf-8\" or \"auto\"".into()));
            }
            _ => encoding_rs::WINDOWS_1252.decode_without_bom_handling(f).0,
        };
        row.push(&text);
    }
    Ok(row)
}

/// Valid UTF-8 with multi-byte sequences: in a Windows-1252 file that is a wrong encoding.
fn looks_like_utf8(bytes: &[u8]) -> bool {
    !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok()
}
