//! The byte source under the XML parser: encoding detection and transcoding to UTF-8, line and
//! column tracking, and a hard cap on the bytes of one markup or text event so that a hostile
//! file cannot make the parser buffer gigabytes.

use crate::error::{ErrorKind, XmlError};
use encoding_rs::Encoding;
use std::io::{self, BufRead, Read};

const BUF_SIZE: usize = 64 * 1024;
/// How much of the file start is looked at for a byte order mark and the XML declaration.
const HEAD_SIZE: usize = 1024;

/// The encoding a file is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// UTF-8 bytes passed through; the parser rejects invalid sequences.
    Utf8,
    /// Transcoded to UTF-8 while reading.
    Transcode(&'static Encoding),
}

/// Finds the encoding from the byte order mark and the `encoding` of the XML declaration and
/// checks that both agree with the bytes. Returns the encoding and the number of BOM bytes.
pub fn detect(head: &[u8]) -> Result<(Detected, usize), XmlError> {
    let at_start = (1, 1);
    let err = |reason: String| XmlError::new(ErrorKind::Encoding, at_start, reason);
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        let declared = declared_encoding(&head[3..]);
        return match declared.as_deref().map(label_kind) {
            None | Some(LabelKind::Utf8) => Ok((Detected::Utf8, 3)),
            Some(_) => Err(err(format!(
                "the XML declaration says encoding=\"{}\" but the file starts with a UTF-8 byte order mark",
                declared.unwrap_or_default()
            ))),
        };
    }
    let utf16 = if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0x3C, 0x00, 0x3F, 0x00]) {
        Some(encoding_rs::UTF_16LE)
    } else if head.starts_with(&[0xFE, 0xFF]) || head.starts_with(&[0x00, 0x3C, 0x00, 0x3F]) {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    };
    if let Some(enc) = utf16 {
        let bom = usize::from(head.first() != Some(&0x3C) && head.first() != Some(&0x00)) * 2;
        let (text, _) = enc.decode_without_bom_handling(head.get(bom..).unwrap_or_default());
        let declared = declared_encoding(text.as_bytes());
        return match declared.as_deref().map(label_kind) {
            None | Some(LabelKind::Utf16) => Ok((Detected::Transcode(enc), 0)),
            Some(_) => Err(err(format!(
                "the XML declaration says encoding=\"{}\" but the bytes are UTF-16",
                declared.unwrap_or_default()
            ))),
        };
    }
    if head.starts_with(&[0x00, 0x00]) || head.starts_with(&[0x4C, 0x6F, 0xA7, 0x94]) {
        return Err(err("UTF-32 and EBCDIC files are not supported".into()));
    }
    let declared = declared_encoding(head);
    match declared.as_deref().map(label_kind) {
        None | Some(LabelKind::Utf8) => Ok((Detected::Utf8, 0)),
        Some(LabelKind::Utf16) => Err(err(format!(
            "the XML declaration says encoding=\"{}\" but the bytes are not UTF-16 (no byte order mark, ASCII markup)",
            declared.unwrap_or_default()
        ))),
        Some(LabelKind::Single(enc)) => Ok((Detected::Transcode(enc), 0)),
        Some(LabelKind::Unsupported) => Err(err(format!(
            "unsupported encoding \"{}\" in the XML declaration",
            declared.unwrap_or_default()
        ))),
    }
}

enum LabelKind {
    Utf8,
    Utf16,
    Single(&'static Encoding),
    Unsupported,
}

fn label_kind(label: &str) -> LabelKind {
    let lower = label.trim().to_ascii_lowercase();
    if lower == "utf-8" || lower == "utf8" {
        return LabelKind::Utf8;
    }
    if lower.starts_with("utf-16") || lower.starts_with("ucs-2") || lower == "unicode" {
        return LabelKind::Utf16;
    }
    match Encoding::for_label(lower.as_bytes()) {
        // Labels such as `us-ascii` and `iso-8859-1` map to windows-1252 (WHATWG), a superset.
        Some(enc) if enc == encoding_rs::UTF_8 => LabelKind::Utf8,
        Some(enc) if enc.is_single_byte() => LabelKind::Single(enc),
        _ => LabelKind::Unsupported,
    }
}

/// The `encoding` pseudo-attribute of an XML declaration at the very start of `head`.
fn declared_encoding(head: &[u8]) -> Option<String> {
    let rest = head.strip_prefix(b"<?xml")?;
    let end = find(rest, b"?>").unwrap_or(rest.len());
    let decl = rest.get(..end)?;
    let at = find(decl, b"encoding")?;
    let mut i = at + b"encoding".len();
    while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if decl.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let quote = *decl.get(i).filter(|q| **q == b'"' || **q == b'\'')?;
    let value = decl.get(i + 1..)?;
    let close = value.iter().position(|b| *b == quote)?;
    Some(String::from_utf8_lossy(value.get(..close)?).into_owned())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Opens `raw` for the parser: sniffs the first bytes, then passes UTF-8 through or transcodes.
pub fn open(mut raw: Box<dyn Read + Send>, event_cap: u64) -> Result<Tracked, XmlError> {
    let mut head = Vec::with_capacity(HEAD_SIZE);
    (&mut raw)
        .take(HEAD_SIZE as u64)
        .read_to_end(&mut head)
        .map_err(|e| XmlError::new(ErrorKind::Io, (1, 1), e.to_string()))?;
    let (detected, bom) = detect(&head)?;
    head.drain(..bom.min(head.len()));
    let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(head).chain(raw));
    let inner: Box<dyn Read + Send> = match detected {
        Detected::Utf8 => chained,
        Detected::Transcode(enc) => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .bom_override(true)
                .build(chained),
        ),
    };
    Ok(Tracked::new(inner, event_cap, detected))
}

/// A buffered reader that counts lines and columns of the bytes the parser has consumed and
/// refuses to deliver more than `cap` bytes for one event (between two [`Tracked::mark`]s).
pub struct Tracked {
    inner: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    line: u64,
    /// Characters since the start of the line.
    col: u64,
    consumed: u64,
    /// Bytes passed over unparsed (embedded binary attachments).
    skipped: u64,
    mark: u64,
    cap: u64,
    capped: bool,
    pub detected: Detected,
}

impl Tracked {
    pub fn new(inner: Box<dyn Read + Send>, cap: u64, detected: Detected) -> Self {
        Self {
            inner,
            buf: vec![0; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            filled: 0,
            line: 1,
            col: 0,
            consumed: 0,
            skipped: 0,
            mark: 0,
            cap,
            capped: false,
            detected,
        }
    }

    /// Line and column (1-based) of the next unconsumed byte.
    pub fn here(&self) -> (u64, u64) {
        (self.line, self.col + 1)
    }

    /// Starts a new event: the cap counts from here.
    pub fn mark(&mut self) {
        self.mark = self.consumed;
    }

    /// Whether the last read failed because the cap was hit.
    pub fn capped(&self) -> bool {
        self.capped
    }

    /// Bytes (UTF-8) consumed by the parser so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Bytes passed over by [`Tracked::skip_to_markup`] so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Consumes character data up to (not including) the next `<` without buffering it, 64 KiB
    /// at a time: the content of an embedded binary attachment (base64), which can be many MB.
    /// Returns the bytes passed over and how many of them were base64 payload characters
    /// (letters, digits, `+`, `/`, `-`, `_`; padding and whitespace not counted).
    pub fn skip_to_markup(&mut self) -> io::Result<(u64, u64)> {
        let (mut bytes, mut payload) = (0u64, 0u64);
        loop {
            // Skipped content is no single parser event: the event cap does not apply.
            self.mark = self.consumed;
            let avail = self.fill_buf()?;
            if avail.is_empty() {
                break;
            }
            let (n, done) = match avail.iter().position(|b| *b == b'<') {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            let chunk = avail.get(..n).unwrap_or_default();
            payload += chunk
                .iter()
                .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
                .count() as u64;
            self.consume(n);
            bytes += n as u64;
            if done {
                break;
            }
        }
        self.mark = self.consumed;
        self.skipped += bytes;
        Ok((bytes, payload))
    }
}

impl Read for Tracked {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Tracked {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.consumed.saturating_sub(self.mark) > self.cap {
            self.capped = true;
            return Err(io::Error::other("event larger than the limit"));
        }
        if self.pos >= self.filled {
            self.pos = 0;
            self.filled = 0;
            loop {
                match self.inner.read(&mut self.buf) {
                    Ok(n) => {
                        self.filled = n;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(self.buf.get(self.pos..self.filled).unwrap_or_default())
    }

    fn consume(&mut self, amt: usize) {
        let end = (self.pos + amt).min(self.filled);
        let chunk = self.buf.get(self.pos..end).unwrap_or_default();
        match chunk.iter().rposition(|b| *b == b'\n') {
            Some(last) => {
                self.line += chunk.iter().filter(|b| **b == b'\n').count() as u64;
                self.col = count_chars(chunk.get(last + 1..).unwrap_or_default());
            }
            None => self.col += count_chars(chunk),
        }
        self.consumed += (end - self.pos) as u64;
        self.pos = end;
    }
}

/// Characters in UTF-8 bytes: every byte that is not a continuation byte.
fn count_chars(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| (**b as i8) >= -0x40).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_is_read() {
        assert_eq!(
            declared_encoding(b"<?xml version='1.0' encoding = \"ISO-8859-1\"?><a/>").as_deref(),
            Some("ISO-8859-1")
        );
        assert_eq!(declared_encoding(b"<?xml version='1.0'?><a/>"), None);
        assert_eq!(declared_encoding(b"<a/>"), None);
    }

    #[test]
    fn encodings_are_detected_and_contradictions_rejected() {
        let d = detect;
        assert_eq!(d(b"<a/>").unwrap(), (Detected::Utf8, 0));
        assert_eq!(
            d(b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>").unwrap(),
            (Detected::Utf8, 3)
        );
        assert_eq!(
            d(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>")
                .unwrap()
                .0,
            Detected::Transcode(encoding_rs::WINDOWS_1252)
        );
        assert_eq!(
            d(b"<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>")
                .unwrap()
                .0,
            Detected::Transcode(encoding_rs::ISO_8859_15)
        );
        let e = d(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Encoding);
        assert!(e.reason.contains("UTF-16"), "{}", e.reason);
        assert!(d(b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"windows-1252\"?>").is_err());
        assert!(d(b"<?xml version=\"1.0\" encoding=\"klingon\"?>").is_err());
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        assert_eq!(
            d(&utf16).unwrap().0,
            Detected::Transcode(encoding_rs::UTF_16LE)
        );
    }

    #[test]
    fn lines_and_columns_follow_consumption() {
        let mut t = Tracked::new(
            Box::new(io::Cursor::new("ab\ncä\nxyz".as_bytes().to_vec())),
            100,
            Detected::Utf8,
        );
        assert_eq!(t.here(), (1, 1));
        let n = t.fill_buf().unwrap().len();
        assert_eq!(n, 10);
        t.consume(6); // "ab\ncä" (ä is two bytes)
        assert_eq!(t.here(), (2, 3));
        t.consume(2);
        assert_eq!(t.here(), (3, 2));
    }

    #[test]
    fn skipping_passes_over_any_length_and_counts_lines() {
        let mut body = b"QUJD\nREVG==".to_vec();
        body.extend(std::iter::repeat_n(b'A', 300_000));
        body.extend_from_slice(b"</x>");
        let mut t = Tracked::new(Box::new(io::Cursor::new(body)), 10, Detected::Utf8);
        t.mark();
        let (bytes, payload) = t.skip_to_markup().unwrap();
        assert_eq!((bytes, payload), (300_011, 300_008));
        assert_eq!(t.here(), (2, 300_007));
        assert_eq!(t.skipped(), 300_011);
        assert_eq!(t.fill_buf().unwrap(), b"</x>");
    }

    #[test]
    fn cap_stops_reading() {
        let mut t = Tracked::new(
            Box::new(io::Cursor::new(vec![b'a'; 100])),
            10,
            Detected::Utf8,
        );
        t.mark();
        let _ = t.fill_buf().unwrap();
        t.consume(11);
        assert!(t.fill_buf().is_err());
        assert!(t.capped());
        t.mark();
        assert!(t.fill_buf().is_ok());
    }
}
