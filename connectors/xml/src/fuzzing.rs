//! The fuzzing entry point, shared by the cargo-fuzz target and the regression tests.

use crate::connector::reader_for_bytes;
use crate::detect::Format;
use crate::generic::RecordPath;
use crate::reader::Limits;
use kontor_connector::{ConnectorError, Item};

const ROOTS: [(&str, &str); 4] = [
    (
        "<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">",
        "</Invoice>",
    ),
    (
        "<rsm:CrossIndustryInvoice xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\">",
        "</rsm:CrossIndustryInvoice>",
    ),
    (
        "<ORDERRESPONSE xmlns=\"http://www.opentrans.org/XMLSchema/2.1\">",
        "</ORDERRESPONSE>",
    ),
    (
        "<DISPATCHNOTIFICATION xmlns=\"http://www.opentrans.org/XMLSchema/2.1\">",
        "</DISPATCHNOTIFICATION>",
    ),
];

/// Small limits, so that fuzzing reaches the limit paths.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_depth: 64,
        max_text_bytes: 4096,
        max_attr_bytes: 1024,
        max_file_bytes: 1 << 20,
        max_record_bytes: 16 * 1024,
        max_lines: 1000,
        max_pdf_bytes: 1 << 20,
    }
}

/// Reads `bytes` to the end; returns the records and rejects read, or the unit error.
pub fn read(
    bytes: Vec<u8>,
    format: Format,
    record: Option<&str>,
    limits: Limits,
) -> Result<Vec<Item>, ConnectorError> {
    let record = record.and_then(|r| RecordPath::parse(r).ok());
    let mut reader = reader_for_bytes(bytes, "fuzz.xml", format, limits, record, 7);
    let mut items = Vec::new();
    while let Some(batch) = reader.next_batch_blocking()? {
        items.extend(batch.items);
    }
    Ok(items)
}

/// One fuzz input read as a hybrid PDF invoice (`fuzz.pdf`): a refusal is fine, a panic, a
/// hang or an error that is no unit error (quarantine) is a bug.
pub fn run_pdf(data: &[u8]) {
    let mut reader = reader_for_bytes(
        data.to_vec(),
        "fuzz.pdf",
        Format::Auto,
        fuzz_limits(),
        None,
        7,
    );
    loop {
        match reader.next_batch_blocking() {
            Ok(Some(batch)) => {
                for item in batch.items {
                    if let Item::Record(r) = item {
                        let _ = r.to_json();
                    }
                }
            }
            Ok(None) => return,
            Err(ConnectorError::Unit { position, reason }) => {
                assert!(!reason.is_empty() && position.source.starts_with("fuzz.pdf"));
                return;
            }
            Err(other) => panic!("unexpected error kind: {other}"),
        }
    }
}

/// One fuzz input: auto-detection, auto with a generic record path, generic, and the input
/// wrapped in a profile root chosen by its first byte. Panics only on a bug (an error without
/// a position).
pub fn run(data: &[u8]) {
    let check = |res: Result<Vec<Item>, ConnectorError>| match res {
        Ok(items) => {
            for item in items {
                if let Item::Record(r) = item {
                    let _ = r.to_json();
                }
            }
        }
        Err(ConnectorError::Unit { position, .. }) => {
            assert!(
                position.line.is_some() && position.column.is_some(),
                "unit error without line/column"
            );
        }
        Err(other) => panic!("unexpected error kind: {other}"),
    };
    check(read(data.to_vec(), Format::Auto, None, fuzz_limits()));
    check(read(
        data.to_vec(),
        Format::Auto,
        Some("//r"),
        fuzz_limits(),
    ));
    check(read(
        data.to_vec(),
        Format::Generic,
        Some("/a/b"),
        fuzz_limits(),
    ));
    if let Some((first, rest)) = data.split_first() {
        let (open, close) = ROOTS[usize::from(*first) % ROOTS.len()];
        let mut wrapped = Vec::with_capacity(rest.len() + open.len() + close.len());
        wrapped.extend_from_slice(open.as_bytes());
        wrapped.extend_from_slice(rest);
        wrapped.extend_from_slice(close.as_bytes());
        check(read(wrapped, Format::Auto, None, fuzz_limits()));
    }
}
