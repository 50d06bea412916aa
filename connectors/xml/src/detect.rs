//! Which reader a file gets: a built-in profile chosen by root element and namespace, or the
//! generic record reader.

use crate::error::{ErrorKind, XmlError};
use crate::model::Doc;
use crate::reader::{Elem, Ev, SafeReader};
use serde::Deserialize;

pub const UBL_INVOICE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
pub const UBL_CREDIT_NOTE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";
pub const CII_NS: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
/// ZUGFeRD 1.0 (`CrossIndustryDocument`), read by the CII profile.
pub const ZUGFERD1_NS: &str = "urn:ferd:CrossIndustryDocument:invoice:1p0";
pub const OPENTRANS_NS: &str = "http://www.opentrans.org/XMLSchema/2.1";

/// The `format` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Auto,
    Ubl,
    Cii,
    Opentrans,
    Generic,
}

/// openTRANS 2.1 message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtKind {
    Order,
    OrderChange,
    OrderResponse,
    DispatchNotification,
    Invoice,
    /// A quote to the buyer.
    Quotation,
    /// The buyer's request for a quote.
    Rfq,
}

/// A built-in document profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Ubl,
    Cii,
    OpenTrans(OtKind),
}

impl Profile {
    /// The stream name: `RawRecord.stream` and the built-in mapping's name.
    pub fn stream(self) -> &'static str {
        match self {
            Profile::Ubl => "ubl",
            Profile::Cii => "cii",
            Profile::OpenTrans(OtKind::Order) => "opentrans-order",
            Profile::OpenTrans(OtKind::OrderChange) => "opentrans-orderchange",
            Profile::OpenTrans(OtKind::OrderResponse) => "opentrans-orderresponse",
            Profile::OpenTrans(OtKind::DispatchNotification) => "opentrans-dispatchnotification",
            Profile::OpenTrans(OtKind::Invoice) => "opentrans-invoice",
            Profile::OpenTrans(OtKind::Quotation) => "opentrans-quotation",
            Profile::OpenTrans(OtKind::Rfq) => "opentrans-rfq",
        }
    }

    pub const ALL_STREAMS: [&'static str; 9] = [
        "ubl",
        "cii",
        "opentrans-order",
        "opentrans-orderchange",
        "opentrans-orderresponse",
        "opentrans-dispatchnotification",
        "opentrans-invoice",
        "opentrans-quotation",
        "opentrans-rfq",
    ];
}

/// The profile of a root element, judged by local name and namespace.
pub fn profile_of(root: &Elem) -> Option<Profile> {
    let ns = root.own_namespace().unwrap_or_default();
    match (root.name.as_str(), ns) {
        ("Invoice", UBL_INVOICE_NS) | ("CreditNote", UBL_CREDIT_NOTE_NS) => Some(Profile::Ubl),
        ("CrossIndustryInvoice", CII_NS) | ("CrossIndustryDocument", ZUGFERD1_NS) => {
            Some(Profile::Cii)
        }
        (name, OPENTRANS_NS) => match name {
            "ORDER" => Some(Profile::OpenTrans(OtKind::Order)),
            "ORDERCHANGE" => Some(Profile::OpenTrans(OtKind::OrderChange)),
            "ORDERRESPONSE" => Some(Profile::OpenTrans(OtKind::OrderResponse)),
            "DISPATCHNOTIFICATION" => Some(Profile::OpenTrans(OtKind::DispatchNotification)),
            "INVOICE" => Some(Profile::OpenTrans(OtKind::Invoice)),
            "QUOTATION" => Some(Profile::OpenTrans(OtKind::Quotation)),
            "RFQ" => Some(Profile::OpenTrans(OtKind::Rfq)),
            _ => None,
        },
        _ => None,
    }
}

/// What to do with a file whose root element is `root`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Profile(Profile),
    Generic,
}

pub fn decide(format: Format, root: &Elem, has_record_path: bool) -> Result<Decision, XmlError> {
    let found = profile_of(root);
    let at = (root.line, root.column);
    let ns = root.own_namespace().unwrap_or("(none)");
    let describe = || format!("<{}> in namespace \"{ns}\"", root.qname());
    let wrong = |expected: &str| {
        XmlError::new(
            ErrorKind::Document,
            at,
            format!(
                "format = \"{}\" expects {expected}, found root {}",
                format_name(format),
                describe()
            ),
        )
    };
    match format {
        Format::Generic => Ok(Decision::Generic),
        Format::Auto => match found {
            Some(p) => Ok(Decision::Profile(p)),
            None if has_record_path => Ok(Decision::Generic),
            None => Err(XmlError::new(
                ErrorKind::Document,
                at,
                format!(
                    "unknown document: root {} is neither UBL Invoice/CreditNote, CII CrossIndustryInvoice (or ZUGFeRD 1.0 CrossIndustryDocument) nor an openTRANS 2.1 message, and no generic record path is configured",
                    describe()
                ),
            )),
        },
        Format::Ubl => match found {
            Some(Profile::Ubl) => Ok(Decision::Profile(Profile::Ubl)),
            _ => Err(wrong(&format!(
                "a UBL <Invoice> in \"{UBL_INVOICE_NS}\" or <CreditNote> in \"{UBL_CREDIT_NOTE_NS}\""
            ))),
        },
        Format::Cii => match found {
            Some(Profile::Cii) => Ok(Decision::Profile(Profile::Cii)),
            _ => Err(wrong(&format!(
                "a <CrossIndustryInvoice> in \"{CII_NS}\" or a ZUGFeRD 1.0 <CrossIndustryDocument> in \"{ZUGFERD1_NS}\""
            ))),
        },
        Format::Opentrans => match found {
            Some(p @ Profile::OpenTrans(_)) => Ok(Decision::Profile(p)),
            _ => Err(wrong(&format!(
                "an openTRANS ORDER, ORDERCHANGE, ORDERRESPONSE, DISPATCHNOTIFICATION or INVOICE in \"{OPENTRANS_NS}\""
            ))),
        },
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Auto => "auto",
        Format::Ubl => "ubl",
        Format::Cii => "cii",
        Format::Opentrans => "opentrans",
        Format::Generic => "generic",
    }
}

/// A profile reader: gets the events of the document below the root with the path relative
/// to the root.
pub trait Handler {
    fn start(&mut self, _path: &[&str], _el: &Elem) -> Result<(), XmlError> {
        Ok(())
    }
    /// Text of the element `el` at `path`.
    fn text(&mut self, path: &[&str], el: &Elem, text: &str);
    fn end(&mut self, _path: &[&str]) {}
    /// An embedded binary attachment (`el`) whose content was passed over: `payload` base64
    /// characters.
    fn attachment(&mut self, _el: &Elem, _payload: u64) {}
    fn finish(self) -> Doc;
}

/// Elements whose content is an embedded binary attachment (base64): UBL
/// `EmbeddedDocumentBinaryObject`, CII `AttachmentBinaryObject`. Their content is passed over
/// unparsed, so its size counts against no limit.
fn is_binary(name: &str) -> bool {
    name == "EmbeddedDocumentBinaryObject" || name == "AttachmentBinaryObject"
}

/// Reads the whole document below `root` into one [`Doc`].
pub fn read_document(r: &mut SafeReader, root: &Elem, profile: Profile) -> Result<Doc, XmlError> {
    let max_lines = r.limits().max_lines;
    let mut open: Vec<Elem> = Vec::new();
    match profile {
        Profile::Ubl => drive(r, &mut open, crate::ubl::Ubl::new(root, max_lines)),
        Profile::Cii => drive(r, &mut open, crate::cii::Cii::new(root, max_lines)),
        Profile::OpenTrans(kind) => drive(
            r,
            &mut open,
            crate::opentrans::OpenTrans::new(root, kind, max_lines),
        ),
    }
}

fn drive<H: Handler>(r: &mut SafeReader, open: &mut Vec<Elem>, mut h: H) -> Result<Doc, XmlError> {
    let max_kept = r.limits().max_file_bytes;
    loop {
        let ev = r.next_event()?;
        if r.kept() > max_kept {
            return Err(XmlError::new(
                ErrorKind::Limit,
                r.here(),
                format!(
                    "document larger than max_file_bytes = {max_kept} (embedded attachments not counted)"
                ),
            ));
        }
        let path: Vec<&str> = r.path().iter().skip(1).map(String::as_str).collect();
        match ev {
            Ev::Start(el) => {
                h.start(&path, &el)?;
                if is_binary(&el.name) {
                    drop(path);
                    let (_, payload) = r.skip_content()?;
                    h.attachment(&el, payload);
                }
                open.push(el);
            }
            Ev::Text(t) => {
                if let Some(el) = open.last()
                    && !t.trim().is_empty()
                {
                    h.text(&path, el, &t);
                }
            }
            Ev::End => {
                if path.is_empty() {
                    // The root closed: the rest must be whitespace, comments or PIs.
                    drop(path);
                    loop {
                        match r.next_event()? {
                            Ev::Eof => return Ok(h.finish()),
                            Ev::Text(_) | Ev::End | Ev::Start(_) => {}
                        }
                    }
                }
                h.end(&path);
                open.pop();
            }
            Ev::Eof => return Ok(h.finish()),
        }
    }
}

/// The error for a document with more line items than allowed.
pub fn too_many_lines(el: &Elem, max: usize) -> XmlError {
    XmlError::new(
        ErrorKind::Limit,
        (el.line, el.column),
        format!("more than {max} line items (max_lines)"),
    )
}
