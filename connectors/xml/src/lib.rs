//! kontor's XML connector.
//!
//! Reads German B2B documents (XRechnung/ZUGFeRD e-invoices as UBL or CII, also embedded in
//! hybrid PDF invoices, openTRANS 2.1 messages) with built-in profiles into one normalised JSON record per document, and generic
//! XML exports record by record. See the crate README for the JSON shape, the limits and the
//! safety rules.

mod cii;
pub mod connector;
pub mod detect;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod generic;
pub mod model;
mod opentrans;
pub mod party;
pub mod pdf;
pub mod reader;
pub mod rules;
mod source;
mod ubl;

pub use connector::{
    FileReader, Settings, SourceSettings, XmlConnector, build, reader_for, reader_for_bytes,
};
pub use detect::{Format, Profile};
pub use error::{ErrorKind, XmlError};
pub use generic::RecordPath;
pub use party::OwnParty;
pub use reader::Limits;

/// The built-in mappings of the profile streams: (stream name, mapping TOML). The files live in
/// this crate's `mappings/` folder; streams of the same JSON shape share one file.
pub const BUILTIN_MAPPINGS: &[(&str, &str)] = &[
    ("ubl", EINVOICE_MAPPING),
    ("cii", EINVOICE_MAPPING),
    ("opentrans-invoice", EINVOICE_MAPPING),
    ("opentrans-order", OPENTRANS_ORDER_MAPPING),
    ("opentrans-orderchange", OPENTRANS_ORDER_MAPPING),
    (
        "opentrans-orderresponse",
        include_str!("../mappings/opentrans-orderresponse.toml"),
    ),
    ("opentrans-quotation", OPENTRANS_QUOTE_MAPPING),
    ("opentrans-rfq", OPENTRANS_QUOTE_MAPPING),
    (
        "opentrans-dispatchnotification",
        include_str!("../mappings/opentrans-dispatchnotification.toml"),
    ),
];

const EINVOICE_MAPPING: &str = include_str!("../mappings/einvoice.toml");
const OPENTRANS_ORDER_MAPPING: &str = include_str!("../mappings/opentrans-order.toml");
const OPENTRANS_QUOTE_MAPPING: &str = include_str!("../mappings/opentrans-quotation.toml");
