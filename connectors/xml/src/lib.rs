//! kontor's XML connector.
//!
//! Reads German B2B documents (XRechnung/ZUGFeRD e-invoices as UBL or CII, openTRANS 2.1
//! messages) with built-in profiles into one normalised JSON record per document, and generic
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
pub mod reader;
mod source;
mod ubl;

pub use connector::{
    FileReader, Settings, SourceSettings, XmlConnector, build, reader_for, reader_for_bytes,
};
pub use detect::{Format, Profile};
pub use error::{ErrorKind, XmlError};
pub use generic::RecordPath;
pub use reader::Limits;

/// The built-in mappings of the profile streams: (stream name, mapping TOML).
pub const BUILTIN_MAPPINGS: &[(&str, &str)] = &[
    ("ubl", include_str!("../../../mappings/builtin/ubl.toml")),
    ("cii", include_str!("../../../mappings/builtin/cii.toml")),
    (
        "opentrans-order",
        include_str!("../../../mappings/builtin/opentrans-order.toml"),
    ),
    (
        "opentrans-orderchange",
        include_str!("../../../mappings/builtin/opentrans-orderchange.toml"),
    ),
    (
        "opentrans-orderresponse",
        include_str!("../../../mappings/builtin/opentrans-orderresponse.toml"),
    ),
    (
        "opentrans-dispatchnotification",
        include_str!("../../../mappings/builtin/opentrans-dispatchnotification.toml"),
    ),
    (
        "opentrans-invoice",
        include_str!("../../../mappings/builtin/opentrans-invoice.toml"),
    ),
];
