//! Hybrid PDF invoices (ZUGFeRD 1.0/2.x, Factur-X, XRechnung in a PDF/A-3): the embedded
//! invoice XML is found in the document's embedded files (`/Names /EmbeddedFiles`) and
//! associated files (`/AF`) and read like a plain XML file.
//!
//! The PDF is read with `lopdf` from memory (bounded by `max_pdf_bytes`, checked before
//! reading) with its decompression bound; a panic inside the PDF reader becomes a refusal.
//! The embedded XML is inflated while the XML reader consumes it (never whole in memory) and
//! at most `max_pdf_bytes` of it are read. Every refusal has a German reason for the
//! quarantine ("PDF enthält keine E-Rechnung", "PDF beschädigt: …").

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, Stream};
use std::io::Read;

/// Names of the invoice XML in the known hybrid formats, lower case (compared
/// case-insensitively: `ZUGFeRD-invoice.xml` is ZUGFeRD 1.0's name).
pub const INVOICE_NAMES: [&str; 3] = ["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml"];

/// Most name-tree nodes and file specifications looked at (hostile files loop or fan out).
const MAX_NODES: usize = 10_000;
const MAX_DEPTH: usize = 32;

/// Why a PDF is refused (German, for the quarantine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfError(pub String);

/// An embedded file: its name and its (still compressed) stream.
pub struct Embedded {
    pub name: String,
    stream: Stream,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("name", &self.name)
            .field("bytes", &self.stream.content.len())
            .finish()
    }
}

impl Embedded {
    /// Whether the name says XML (`*.xml`, or one of the known invoice names).
    pub fn is_xml(&self) -> bool {
        self.name.to_ascii_lowercase().ends_with(".xml") || self.mime_is_xml()
    }

    fn mime_is_xml(&self) -> bool {
        self.stream
            .dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .is_ok_and(|n| {
                let n = String::from_utf8_lossy(n).to_ascii_lowercase();
                n.ends_with("/xml") || n.ends_with("#2fxml")
            })
    }

    /// 0 for a known invoice name, 1 for other XML: the order in which candidates are tried.
    pub fn rank(&self) -> u8 {
        let lower = self.name.to_ascii_lowercase();
        u8::from(!INVOICE_NAMES.contains(&lower.as_str()))
    }

    /// The decoded content as a stream of at most `limit` bytes: `FlateDecode` is inflated
    /// while being read; other filters are decoded in memory (bounded by `limit`).
    pub fn reader(&self, limit: u64) -> Result<Box<dyn Read + Send>, PdfError> {
        let filters: Vec<Vec<u8>> = match self.stream.filters() {
            Ok(f) => f.into_iter().map(<[u8]>::to_vec).collect(),
            Err(_) => Vec::new(),
        };
        let content = self.stream.content.clone();
        let plain = self.stream.dict.get(b"DecodeParms").is_err();
        let inner: Box<dyn Read + Send> =
            match filters.as_slice() {
                [] => Box::new(std::io::Cursor::new(content)),
                [f] if f.as_slice() == b"FlateDecode" && plain => Box::new(
                    flate2::read::ZlibDecoder::new(std::io::Cursor::new(content)),
                ),
                _ => {
                    let max = usize::try_from(limit).unwrap_or(usize::MAX);
                    let bytes = self.stream.decompressed_content_with_limit(max).map_err(|e| {
                    PdfError(format!(
                        "PDF beschädigt: eingebettete Datei {} lässt sich nicht entpacken: {e}",
                        self.name
                    ))
                })?;
                    Box::new(std::io::Cursor::new(bytes))
                }
            };
        Ok(Box::new(Capped {
            inner,
            left: limit,
            limit,
        }))
    }
}

/// Refuses to deliver more than `limit` bytes (an error, not a silent cut).
struct Capped {
    inner: Box<dyn Read + Send>,
    left: u64,
    limit: u64,
}

impl Read for Capped {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a file of exactly `limit` bytes from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "eingebettete Datei größer als {} Bytes (max_pdf_bytes)",
                    self.limit
                ))),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// The embedded files of a PDF, invoice candidates first (known names, then other XML), and
/// the names of all embedded files. Catches a panic of the PDF reader.
pub fn embedded_files(bytes: &[u8]) -> Result<Vec<Embedded>, PdfError> {
    match std::panic::catch_unwind(|| read_embedded(bytes)) {
        Ok(r) => r,
        Err(_) => Err(PdfError(
            "PDF beschädigt: der PDF-Leser ist an der Datei gescheitert".into(),
        )),
    }
}

fn read_embedded(bytes: &[u8]) -> Result<Vec<Embedded>, PdfError> {
    if !bytes.starts_with(b"%PDF-") && !bytes.get(..1024).is_some_and(|h| find(h, b"%PDF-")) {
        return Err(PdfError(
            "keine PDF-Datei: die Kennung %PDF- fehlt am Dateianfang".into(),
        ));
    }
    let options = LoadOptions {
        max_decompressed_size: Some(64 * 1024 * 1024),
        ..LoadOptions::default()
    };
    let mut doc = Document::load_mem_with_options(bytes, options)
        .map_err(|e| PdfError(format!("PDF beschädigt: {e}")))?;
    if doc.is_encrypted() && doc.authenticate_password("").is_err() {
        return Err(PdfError(
            "PDF verschlüsselt: ohne Passwort ist die eingebettete Rechnung nicht lesbar".into(),
        ));
    }
    let specs = file_specs(&doc)?;
    let mut out: Vec<Embedded> = Vec::new();
    let mut seen: Vec<ObjectId> = Vec::new();
    for (name, id) in specs {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        if let Some(Object::Stream(stream)) = doc.objects.remove(&id) {
            out.push(Embedded { name, stream });
        }
    }
    out.sort_by_key(|e| (!e.is_xml(), e.rank()));
    Ok(out)
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// (name, stream object) of every file specification in the embedded-files name tree and the
/// catalog's associated files.
fn file_specs(doc: &Document) -> Result<Vec<(String, ObjectId)>, PdfError> {
    let catalog = doc
        .catalog()
        .map_err(|e| PdfError(format!("PDF beschädigt: kein Dokumentkatalog ({e})")))?;
    let mut specs: Vec<&Dictionary> = Vec::new();
    let mut budget = MAX_NODES;
    if let Ok(names) = catalog.get(b"Names").and_then(|o| deref_dict(doc, o))
        && let Ok(tree) = names.get(b"EmbeddedFiles").and_then(|o| deref_dict(doc, o))
    {
        name_tree(doc, tree, 0, &mut budget, &mut specs);
    }
    if let Ok(af) = catalog
        .get(b"AF")
        .and_then(|o| doc.dereference(o).map(|(_, o)| o))
        && let Ok(list) = af.as_array()
    {
        for item in list.iter().take(budget) {
            if let Ok(d) = deref_dict(doc, item) {
                specs.push(d);
            }
        }
    }
    Ok(specs
        .into_iter()
        .filter_map(|spec| {
            let name = ["UF", "F"]
                .iter()
                .find_map(|k| {
                    let o = spec.get(k.as_bytes()).ok()?;
                    let (_, o) = doc.dereference(o).ok()?;
                    lopdf::decode_text_string(o).ok()
                })
                .unwrap_or_default();
            let ef = spec.get(b"EF").ok().and_then(|o| deref_dict(doc, o).ok())?;
            let id = ["UF", "F"]
                .iter()
                .find_map(|k| ef.get(k.as_bytes()).ok()?.as_reference().ok())?;
            Some((name, id))
        })
        .collect())
}

fn deref_dict<'a>(doc: &'a Document, o: &'a Object) -> lopdf::Result<&'a Dictionary> {
    doc.dereference(o)?.1.as_dict()
}

fn name_tree<'a>(
    doc: &'a Document,
    node: &'a Dictionary,
    depth: usize,
    budget: &mut usize,
    out: &mut Vec<&'a Dictionary>,
) {
    if depth > MAX_DEPTH || *budget == 0 {
        return;
    }
    *budget -= 1;
    if let Ok(names) = node
        .get(b"Names")
        .and_then(|o| doc.dereference(o).map(|(_, o)| o))
        && let Ok(list) = names.as_array()
    {
        for value in list.iter().skip(1).step_by(2) {
            if *budget == 0 {
                return;
            }
            *budget -= 1;
            if let Ok(d) = deref_dict(doc, value) {
                out.push(d);
            }
        }
    }
    if let Ok(kids) = node
        .get(b"Kids")
        .and_then(|o| doc.dereference(o).map(|(_, o)| o))
        && let Ok(list) = kids.as_array()
    {
        for kid in list {
            if let Ok(d) = deref_dict(doc, kid) {
                name_tree(doc, d, depth + 1, budget, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_pdf_and_garbage_are_refused_without_panic() {
        let e = embedded_files(b"hello").unwrap_err();
        assert!(e.0.contains("keine PDF-Datei"), "{e:?}");
        let e = embedded_files(
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        )
        .map(|v| v.len());
        // Either no embedded files or a refusal: never a panic.
        assert!(matches!(e, Ok(0) | Err(_)), "{e:?}");
        let e = embedded_files(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n").unwrap_err();
        assert!(e.0.starts_with("PDF beschädigt"), "{e:?}");
    }

    #[test]
    fn capped_reader_refuses_more_than_the_limit() {
        let mut r = Capped {
            inner: Box::new(std::io::Cursor::new(vec![1u8; 10])),
            left: 10,
            limit: 10,
        };
        let mut out = Vec::new();
        assert_eq!(r.read_to_end(&mut out).unwrap(), 10);
        let mut r = Capped {
            inner: Box::new(std::io::Cursor::new(vec![1u8; 11])),
            left: 10,
            limit: 10,
        };
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("größer als 10 Bytes"), "{e}");
    }
}
