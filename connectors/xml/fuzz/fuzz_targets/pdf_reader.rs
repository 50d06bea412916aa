//! Feeds arbitrary bytes to the hybrid PDF invoice reader (see `kontor_xml::fuzzing::run_pdf`):
//! lopdf's document model, the embedded-files name tree, the streamed inflation of the embedded
//! XML and the profile readers behind it. Any panic, hang or runaway allocation is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kontor_xml::fuzzing::run_pdf(data);
});
