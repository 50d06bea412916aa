//! Feeds arbitrary bytes to the XML readers (see `kontor_xml::fuzzing::run`): auto-detection
//! with the profile readers, the generic record reader, and the profiles forced by wrapping the
//! input in a UBL, CII or openTRANS root. Any panic, hang or runaway allocation is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kontor_xml::fuzzing::run(data);
});
