//! Feeds arbitrary bytes to the XML readers: auto-detection with the profile readers, the
//! generic record reader, and (by the first byte) the profiles forced by wrapping the input in
//! a UBL, CII or openTRANS root. Any panic, hang or runaway allocation is a bug.

#![no_main]

use kontor_connector::Item;
use kontor_xml::{Format, Limits, RecordPath, reader_for_bytes};
use libfuzzer_sys::fuzz_target;

const ROOTS: [(&str, &str); 4] = [
    ("<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">", "</Invoice>"),
    (
        "<rsm:CrossIndustryInvoice xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\">",
        "</rsm:CrossIndustryInvoice>",
    ),
    ("<ORDERRESPONSE xmlns=\"http://www.opentrans.org/XMLSchema/2.1\">", "</ORDERRESPONSE>"),
    ("<DISPATCHNOTIFICATION xmlns=\"http://www.opentrans.org/XMLSchema/2.1\">", "</DISPATCHNOTIFICATION>"),
];

fn run(bytes: Vec<u8>, format: Format, record: Option<&str>) {
    let limits = Limits {
        max_depth: 64,
        max_text_bytes: 4096,
        max_attr_bytes: 1024,
        max_file_bytes: 1 << 20,
        max_record_bytes: 16 * 1024,
        max_lines: 1000,
    };
    let record = record.and_then(|r| RecordPath::parse(r).ok());
    let mut reader = reader_for_bytes(bytes, "fuzz.xml", format, limits, record, 7);
    for _ in 0..10_000 {
        match reader.next_batch_blocking() {
            Ok(Some(batch)) => {
                for item in batch.items {
                    if let Item::Record(r) = item {
                        let _ = r.to_json();
                    }
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    run(data.to_vec(), Format::Auto, None);
    run(data.to_vec(), Format::Auto, Some("//r"));
    run(data.to_vec(), Format::Generic, Some("/a/b"));
    if let Some((first, rest)) = data.split_first() {
        let (open, close) = ROOTS[usize::from(*first) % ROOTS.len()];
        let mut wrapped = Vec::with_capacity(rest.len() + open.len() + close.len());
        wrapped.extend_from_slice(open.as_bytes());
        wrapped.extend_from_slice(rest);
        wrapped.extend_from_slice(close.as_bytes());
        run(wrapped, Format::Auto, None);
    }
});
