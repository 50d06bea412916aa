//! A hardened pull parser over quick-xml: no DTDs, no entities beyond the predefined five,
//! bounded depth, text and attribute sizes, UTF-8 checked, positions as line and column.
//!
//! It yields a simplified event stream: [`Ev::Start`] (an empty element becomes a start and an
//! end), [`Ev::Text`] (character data, CDATA and references merged into one string),
//! [`Ev::End`] and [`Ev::Eof`]. Comments and processing instructions are skipped.

use crate::error::{ErrorKind, XmlError};
use crate::source::Tracked;
use quick_xml::events::{BytesStart, Event};
use std::io::Read;

/// Longest element name (with prefix); real names are short, long ones only cost memory.
pub const MAX_NAME_BYTES: usize = 1024;

/// Most attributes on one element.
pub const MAX_ATTRS: usize = 256;

/// The first `max` bytes of `s` (on a character boundary).
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Limits that protect memory and time against hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest element nesting.
    pub max_depth: usize,
    /// Longest text of one element (after merging character data and references).
    pub max_text_bytes: usize,
    /// Most bytes of one element's attributes (names and values added up).
    pub max_attr_bytes: usize,
    /// Largest profile document (e-invoice, openTRANS message).
    pub max_file_bytes: u64,
    /// Largest generic record (names, attributes and text added up).
    pub max_record_bytes: usize,
    /// Most line items in one profile document.
    pub max_lines: usize,
    /// Largest PDF file (hybrid invoices), and most bytes of its embedded XML.
    pub max_pdf_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 256,
            max_text_bytes: 1024 * 1024,
            max_attr_bytes: 64 * 1024,
            max_file_bytes: 64 * 1024 * 1024,
            max_record_bytes: 16 * 1024 * 1024,
            max_lines: 100_000,
            max_pdf_bytes: 128 * 1024 * 1024,
        }
    }
}

/// An element start.
#[derive(Debug, Clone, Default)]
pub struct Elem {
    /// Local name (without prefix).
    pub name: String,
    /// Namespace prefix as written, if any.
    pub prefix: Option<String>,
    /// Attributes as written (qualified name, unescaped value), namespace declarations included.
    pub attrs: Vec<(String, String)>,
    pub line: u64,
    pub column: u64,
}

impl Elem {
    /// An attribute value by local name (prefix ignored, namespace declarations never match).
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| !is_xmlns(k) && local_name(k) == local)
            .map(|(_, v)| v.as_str())
    }

    /// The namespace URI of this element, when declared on the element itself (the root).
    pub fn own_namespace(&self) -> Option<&str> {
        let want = match &self.prefix {
            Some(p) => format!("xmlns:{p}"),
            None => "xmlns".to_owned(),
        };
        self.attrs
            .iter()
            .find(|(k, _)| *k == want)
            .map(|(_, v)| v.as_str())
    }

    /// The name as written (`prefix:local`).
    pub fn qname(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}:{}", self.name),
            None => self.name.clone(),
        }
    }
}

pub fn is_xmlns(qname: &str) -> bool {
    qname == "xmlns" || qname.starts_with("xmlns:")
}

pub fn local_name(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, l)| l)
}

#[derive(Debug)]
pub enum Ev {
    Start(Elem),
    Text(String),
    End,
    Eof,
}

/// The hardened reader. `path()` is the list of open elements (local names); after an
/// [`Ev::End`] it still contains the closed element until the next call.
pub struct SafeReader {
    xml: quick_xml::Reader<Tracked>,
    buf: Vec<u8>,
    limits: Limits,
    stack: Vec<String>,
    lines: Vec<u64>,
    pop_next: bool,
    /// Events read ahead: at most a start and the end of an empty element.
    pending: std::collections::VecDeque<Ev>,
    /// Text being merged from pieces.
    text: String,
    root_done: bool,
    done: bool,
}

impl SafeReader {
    pub fn new(raw: Box<dyn Read + Send>, limits: Limits) -> Result<Self, XmlError> {
        let cap =
            (limits.max_text_bytes.max(limits.max_attr_bytes) as u64).saturating_add(64 * 1024);
        let tracked = crate::source::open(raw, cap)?;
        let mut xml = quick_xml::Reader::from_reader(tracked);
        let cfg = xml.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
        Ok(Self {
            xml,
            buf: Vec::with_capacity(4096),
            limits,
            stack: Vec::new(),
            lines: Vec::new(),
            pop_next: false,
            pending: std::collections::VecDeque::with_capacity(2),
            text: String::new(),
            root_done: false,
            done: false,
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Local names of the open elements, the root first.
    pub fn path(&self) -> &[String] {
        &self.stack
    }

    /// Bytes consumed so far (of the UTF-8 stream).
    pub fn consumed(&self) -> u64 {
        self.xml.get_ref().consumed()
    }

    /// Bytes of the document that were parsed (consumed minus attachment content passed
    /// over): what `max_file_bytes` bounds.
    pub fn kept(&self) -> u64 {
        let t = self.xml.get_ref();
        t.consumed().saturating_sub(t.skipped())
    }

    /// Passes over the character data of the element just started (an embedded binary
    /// attachment) without buffering it, up to its next markup. Returns the bytes passed over
    /// and the base64 payload characters among them; `(0, 0)` for an empty element.
    pub fn skip_content(&mut self) -> Result<(u64, u64), XmlError> {
        if !self.pending.is_empty() {
            return Ok((0, 0));
        }
        let at = self.here();
        self.xml.get_mut().skip_to_markup().map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::InvalidData {
                ErrorKind::Encoding
            } else {
                ErrorKind::Io
            };
            self.err(kind, at, format!("reading an embedded attachment: {e}"))
        })
    }

    /// Line and column of the next unread byte.
    pub fn here(&self) -> (u64, u64) {
        self.xml.get_ref().here()
    }

    fn err(&self, kind: ErrorKind, at: (u64, u64), reason: impl Into<String>) -> XmlError {
        XmlError::new(kind, at, reason)
    }

    /// The next event.
    pub fn next_event(&mut self) -> Result<Ev, XmlError> {
        if self.pop_next {
            self.pop_next = false;
            self.stack.pop();
            self.lines.pop();
        }
        if let Some(ev) = self.pending.pop_front() {
            return self.deliver(ev);
        }
        self.text.clear();
        let mut text_at = (0, 0);
        loop {
            self.buf.clear();
            self.xml.get_mut().mark();
            let at = self.here();
            let event = match self.xml.read_event_into(&mut self.buf) {
                Ok(ev) => ev,
                Err(e) => return Err(self.parse_error(e, at)),
            };
            let piece: Option<std::borrow::Cow<'_, str>> = match &event {
                Event::Text(t) => Some(t.xml10_content()),
                Event::CData(c) => Some(c.xml10_content()),
                Event::GeneralRef(r) => Some(std::borrow::Cow::Owned(resolve_ref(r, at)?)),
                _ => None,
            };
            if let Some(piece) = piece {
                if self.text.is_empty() {
                    text_at = at;
                }
                if self.text.len() + piece.len() > self.limits.max_text_bytes {
                    return Err(self.err(
                        ErrorKind::Limit,
                        text_at,
                        format!(
                            "text longer than {} bytes (max_text_bytes)",
                            self.limits.max_text_bytes
                        ),
                    ));
                }
                self.text.push_str(&piece);
                continue;
            }
            let ev = match event {
                Event::Start(e) => Some(Self::start_elem(&self.limits, &e, at)?),
                Event::Empty(e) => {
                    let start = Self::start_elem(&self.limits, &e, at)?;
                    self.pending.push_back(Ev::End);
                    Some(start)
                }
                Event::End(_) => Some(Ev::End),
                Event::Eof => Some(Ev::Eof),
                Event::DocType(_) => {
                    return Err(self.err(
                        ErrorKind::Doctype,
                        at,
                        "DOCTYPE declarations are not allowed: DTDs and entities are never processed (XXE and entity-expansion protection)",
                    ));
                }
                Event::Decl(d) => {
                    if let Ok(v) = d.version()
                        && v != "1.0"
                        && v != "1.1"
                    {
                        return Err(XmlError::new(
                            ErrorKind::Syntax,
                            at,
                            format!("unsupported XML version {v}"),
                        ));
                    }
                    None
                }
                Event::Comment(_) | Event::PI(_) => None,
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => None,
            };
            if let Some(ev) = ev {
                // Whitespace-only text (indentation) is not delivered.
                if self.text.trim_ascii().is_empty() {
                    return self.deliver(ev);
                }
                self.pending.push_front(ev);
                let text = std::mem::take(&mut self.text);
                return self.deliver(Ev::Text(text));
            }
        }
    }

    /// Bookkeeping before an event leaves: depth, root, end of file.
    fn deliver(&mut self, ev: Ev) -> Result<Ev, XmlError> {
        match &ev {
            Ev::Start(e) => {
                if self.root_done {
                    return Err(self.err(
                        ErrorKind::Syntax,
                        (e.line, e.column),
                        format!("element <{}> after the end of the root element", e.qname()),
                    ));
                }
                if self.stack.len() >= self.limits.max_depth {
                    return Err(self.err(
                        ErrorKind::Limit,
                        (e.line, e.column),
                        format!(
                            "elements nested deeper than {} (max_depth)",
                            self.limits.max_depth
                        ),
                    ));
                }
                self.stack.push(e.name.clone());
                self.lines.push(e.line);
            }
            Ev::End => {
                self.pop_next = true;
                if self.stack.len() == 1 {
                    self.root_done = true;
                }
            }
            Ev::Text(t) => {
                if self.stack.is_empty() && !t.trim().is_empty() {
                    return Err(self.err(
                        ErrorKind::Syntax,
                        self.here(),
                        "text outside the root element",
                    ));
                }
            }
            Ev::Eof => {
                if let (Some(name), Some(line)) = (self.stack.last(), self.lines.last()) {
                    return Err(self.err(
                        ErrorKind::Syntax,
                        self.here(),
                        format!("unexpected end of file: element <{name}> opened at line {line} is not closed (truncated file?)"),
                    ));
                }
                if !self.root_done {
                    return Err(self.err(
                        ErrorKind::Syntax,
                        self.here(),
                        "no root element: the file holds no XML element",
                    ));
                }
                self.done = true;
            }
        }
        Ok(ev)
    }

    fn start_elem(limits: &Limits, e: &BytesStart<'_>, at: (u64, u64)) -> Result<Ev, XmlError> {
        let qname: String = e.name().as_ref().to_owned();
        let (prefix, name) = match qname.split_once(':') {
            Some((p, l)) => (Some(p.to_owned()), l.to_owned()),
            None => (None, qname),
        };
        if name.len() + prefix.as_ref().map_or(0, String::len) > MAX_NAME_BYTES {
            return Err(XmlError::new(
                ErrorKind::Limit,
                at,
                format!(
                    "element name longer than {MAX_NAME_BYTES} bytes: <{}…>",
                    truncate(&name, 64)
                ),
            ));
        }
        let mut attr_bytes = 0usize;
        if name.is_empty() {
            return Err(XmlError::new(
                ErrorKind::Syntax,
                at,
                "element without a name",
            ));
        }
        let mut attrs = Vec::new();
        for (i, attr) in e.attributes().with_checks(true).enumerate() {
            // The duplicate check is quadratic in the number of attributes: bound it.
            if i >= MAX_ATTRS {
                return Err(XmlError::new(
                    ErrorKind::Limit,
                    at,
                    format!(
                        "more than {MAX_ATTRS} attributes on <{}>",
                        truncate(&name, 64)
                    ),
                ));
            }
            let attr = attr
                .map_err(|err| XmlError::new(ErrorKind::Syntax, at, format!("attribute: {err}")))?;
            let key: String = attr.key.as_ref().to_owned();
            attr_bytes += key.len() + attr.value.len();
            if attr_bytes > limits.max_attr_bytes {
                return Err(XmlError::new(
                    ErrorKind::Limit,
                    at,
                    format!(
                        "attributes of <{name}> longer than {} bytes (max_attr_bytes), at attribute {}",
                        limits.max_attr_bytes,
                        truncate(&key, 64)
                    ),
                ));
            }
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| {
                    let kind = if err.to_string().contains("entity") {
                        ErrorKind::Entity
                    } else {
                        ErrorKind::Syntax
                    };
                    XmlError::new(
                        kind,
                        at,
                        format!("attribute {key} of <{name}>: {err} (entities are never expanded)"),
                    )
                })?;
            attrs.push((key, value.into_owned()));
        }
        Ok(Ev::Start(Elem {
            name,
            prefix,
            attrs,
            line: at.0,
            column: at.1,
        }))
    }

    fn parse_error(&self, e: quick_xml::Error, at: (u64, u64)) -> XmlError {
        if self.xml.get_ref().capped() {
            let cap = self.limits.max_text_bytes.max(self.limits.max_attr_bytes);
            return self.err(
                ErrorKind::Limit,
                at,
                format!(
                    "text, comment or tag longer than {cap} bytes (max_text_bytes / max_attr_bytes)"
                ),
            );
        }
        let kind = match &e {
            quick_xml::Error::Io(_) => ErrorKind::Io,
            quick_xml::Error::Encoding(_) => ErrorKind::Encoding,
            quick_xml::Error::Escape(_) => ErrorKind::Entity,
            _ => ErrorKind::Syntax,
        };
        let reason = match (&e, self.xml.get_ref().detected) {
            (quick_xml::Error::Encoding(_), crate::source::Detected::Utf8) => {
                format!("{e}: the bytes are not valid UTF-8 (declared or default encoding UTF-8)")
            }
            (quick_xml::Error::Io(io), _) if io.kind() == std::io::ErrorKind::InvalidData => {
                format!("the bytes are not valid in the declared encoding: {e}")
            }
            _ => e.to_string(),
        };
        let at = if matches!(kind, ErrorKind::Syntax) && reason.contains("end of") {
            self.here()
        } else {
            at
        };
        self.err(kind, at, reason)
    }
}

/// Resolves `&name;`: the five predefined entities and character references only.
fn resolve_ref(r: &quick_xml::events::BytesRef<'_>, at: (u64, u64)) -> Result<String, XmlError> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c.to_string()),
            Ok(None) | Err(_) => Err(XmlError::new(
                ErrorKind::Syntax,
                at,
                format!("invalid character reference &{};", r.xml10_content()),
            )),
        };
    }
    let name = r.xml10_content();
    let resolved = match name.as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        other => {
            return Err(XmlError::new(
                ErrorKind::Entity,
                at,
                format!(
                    "undefined entity reference &{other}; (only the five predefined XML entities are allowed; entities are never expanded)"
                ),
            ));
        }
    };
    Ok(resolved.to_owned())
}

#[cfg(test)]
mod tests;
