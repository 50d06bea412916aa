//! Generic XML for home-grown exports: every element at the configured record path becomes one
//! JSON tree. Streaming: memory holds one record at a time.
//!
//! Conversion: an element becomes an object; attributes are `"@name"` (local name, namespace
//! declarations dropped); a child element is a key by its local name, repeated children become
//! an array; a leaf element without attributes is its text (a string, `""` when empty); the
//! text of an element that also has attributes or children is `"#text"` (trimmed when it has
//! children, whitespace-only text dropped). The record element itself is always an object.

use crate::error::{ErrorKind, XmlError};
use crate::reader::{Elem, Ev, SafeReader, is_xmlns, local_name};
use serde_json::{Map, Value};

/// Where records are: `/Export/Kunden/Kunde` (from the root), or `//Kunde` (anywhere).
/// Steps are matched by local name; a `prefix:` in a step is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPath {
    steps: Vec<String>,
    anywhere: bool,
}

impl RecordPath {
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (anywhere, rest) = match t.strip_prefix("//") {
            Some(rest) => (true, rest),
            None => match t.strip_prefix('/') {
                Some(rest) => (false, rest),
                None => {
                    return Err(format!(
                        "record path `{text}` must start with `/` (from the root, e.g. `/Export/Kunden/Kunde`) or `//` (anywhere, e.g. `//Kunde`)"
                    ));
                }
            },
        };
        let mut steps = Vec::new();
        for step in rest.split('/') {
            let local = local_name(step.trim());
            if local.is_empty() || local.contains(['[', ']', '@', '*', ' ']) {
                return Err(format!(
                    "record path `{text}`: step `{step}` is not an element name (no predicates, attributes or wildcards)"
                ));
            }
            steps.push(local.to_owned());
        }
        Ok(Self { steps, anywhere })
    }

    /// Whether the open elements `stack` (root first) are a record element.
    pub fn matches(&self, stack: &[String]) -> bool {
        if self.anywhere {
            stack.len() >= self.steps.len()
                && stack[stack.len() - self.steps.len()..] == self.steps[..]
        } else {
            stack == self.steps.as_slice()
        }
    }
}

/// What the generic reader found.
#[derive(Debug)]
pub enum Found {
    Record {
        tree: Value,
        line: u64,
        column: u64,
    },
    /// A record skipped unbuilt (resume).
    Skipped,
    /// A record larger than `max_record_bytes`; it was skipped.
    TooLarge {
        line: u64,
        column: u64,
        reason: String,
    },
}

struct Frame {
    name: String,
    obj: Map<String, Value>,
    text: String,
    has_children: bool,
}

impl Frame {
    fn new(el: Elem) -> (Self, usize) {
        let mut obj = Map::new();
        let mut bytes = el.name.len();
        for (k, v) in el.attrs {
            if is_xmlns(&k) {
                continue;
            }
            bytes += k.len() + v.len();
            obj.insert(format!("@{}", local_name(&k)), Value::String(v));
        }
        let frame = Frame {
            name: el.name,
            obj,
            text: String::new(),
            has_children: false,
        };
        (frame, bytes)
    }

    fn into_value(self, is_record: bool) -> Value {
        if self.obj.is_empty() && !self.has_children && !is_record {
            return Value::String(self.text);
        }
        let mut obj = self.obj;
        let text = if self.has_children {
            self.text.trim()
        } else {
            self.text.as_str()
        };
        if !text.trim().is_empty() {
            obj.insert("#text".to_owned(), Value::String(text.to_owned()));
        }
        Value::Object(obj)
    }

    fn add_child(&mut self, name: String, value: Value) {
        self.has_children = true;
        match self.obj.get_mut(&name) {
            Some(Value::Array(list)) => list.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                self.obj.insert(name, value);
            }
        }
    }
}

/// The generic record reader over one file.
pub struct Generic {
    path: RecordPath,
    /// The root element, already read for format detection.
    pending: Option<Elem>,
}

impl Generic {
    pub fn new(path: RecordPath, root: Elem) -> Self {
        Self {
            path,
            pending: Some(root),
        }
    }

    /// The next record, `None` at the end of the file. With `build = false` the record is
    /// skipped without building its tree.
    pub fn next(&mut self, r: &mut SafeReader, build: bool) -> Result<Option<Found>, XmlError> {
        loop {
            let ev = match self.pending.take() {
                Some(root) => Ev::Start(root),
                None => r.next_event()?,
            };
            match ev {
                Ev::Start(el) if self.path.matches(r.path()) => {
                    return read_record(r, el, build).map(Some);
                }
                Ev::Eof => return Ok(None),
                _ => {}
            }
        }
    }
}

fn read_record(r: &mut SafeReader, el: Elem, build: bool) -> Result<Found, XmlError> {
    let (line, column) = (el.line, el.column);
    let depth = r.path().len();
    let max = r.limits().max_record_bytes;
    let mut frames: Vec<Frame> = Vec::new();
    let mut bytes = 0usize;
    let mut too_large = false;
    if build {
        let (frame, b) = Frame::new(el);
        bytes += b;
        frames.push(frame);
    }
    loop {
        let ev = r.next_event()?;
        let building = build && !too_large;
        match ev {
            Ev::Start(child) if building => {
                let (frame, b) = Frame::new(child);
                bytes += b;
                frames.push(frame);
            }
            Ev::Text(t) if building => {
                bytes += t.len();
                if let Some(top) = frames.last_mut() {
                    top.text.push_str(&t);
                }
            }
            Ev::End if r.path().len() == depth => {
                if too_large {
                    return Ok(Found::TooLarge {
                        line,
                        column,
                        reason: format!(
                            "record larger than {max} bytes (max_record_bytes); skipped"
                        ),
                    });
                }
                if !build {
                    return Ok(Found::Skipped);
                }
                let tree = frames
                    .pop()
                    .map(|f| f.into_value(true))
                    .unwrap_or(Value::Null);
                return Ok(Found::Record { tree, line, column });
            }
            Ev::End if building => {
                if let Some(frame) = frames.pop() {
                    let name = frame.name.clone();
                    let value = frame.into_value(false);
                    if let Some(parent) = frames.last_mut() {
                        parent.add_child(name, value);
                    }
                }
            }
            Ev::Eof => {
                return Err(XmlError::new(
                    ErrorKind::Syntax,
                    r.here(),
                    "unexpected end of file inside a record",
                ));
            }
            _ => {}
        }
        if building && bytes > max {
            too_large = true;
            frames = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Limits;
    use serde_json::json;

    fn records(xml: &str, path: &str) -> Vec<Value> {
        let mut r = SafeReader::new(
            Box::new(std::io::Cursor::new(xml.as_bytes().to_vec())),
            Limits::default(),
        )
        .unwrap();
        let root = loop {
            if let Ev::Start(e) = r.next_event().unwrap() {
                break e;
            }
        };
        let mut g = Generic::new(RecordPath::parse(path).unwrap(), root);
        let mut out = Vec::new();
        while let Some(f) = g.next(&mut r, true).unwrap() {
            if let Found::Record { tree, line, .. } = f {
                out.push(json!({ "line": line, "tree": tree }));
            }
        }
        out
    }

    #[test]
    fn elements_become_json() {
        let xml = r#"<x:Export xmlns:x="urn:x"><x:Kunden>
<Kunde nr="0012" xml:lang="de"><Name>Müller &amp; Söhne</Name><Tel>1</Tel><Tel>2</Tel><Tel>3</Tel>
<Adresse typ="R"><Ort>Köln</Ort></Adresse><Leer/><Notiz b="1">x</Notiz><Mix>a<b>c</b>d</Mix></Kunde>
<Kunde nr="0013"/>
</x:Kunden></x:Export>"#;
        let got = records(xml, "/Export/x:Kunden/Kunde");
        assert_eq!(
            got,
            [
                json!({"line": 2, "tree": {"@nr": "0012", "@lang": "de", "Name": "Müller & Söhne", "Tel": ["1", "2", "3"],
                    "Adresse": {"@typ": "R", "Ort": "Köln"}, "Leer": "", "Notiz": {"@b": "1", "#text": "x"},
                    "Mix": {"b": "c", "#text": "ad"}}}),
                json!({"line": 4, "tree": {"@nr": "0013"}}),
            ]
        );
        assert_eq!(records(xml, "//Kunde").len(), 2);
        assert_eq!(records(xml, "/Kunden/Kunde").len(), 0);
    }

    #[test]
    fn record_paths_are_checked() {
        assert!(RecordPath::parse("Export/Kunde").is_err());
        assert!(RecordPath::parse("/Export/Kunde[1]").is_err());
        assert!(RecordPath::parse("/Export//Kunde").is_err());
        let p = RecordPath::parse("//a:B/C").unwrap();
        assert!(p.matches(&["R".into(), "B".into(), "C".into()]));
        assert!(!p.matches(&["C".into()]));
    }
}
