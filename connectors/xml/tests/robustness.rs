//! No input makes the readers panic: replays the fuzz regression inputs and runs a small
//! property test (mutated real documents) on every `cargo test`.

mod common;

use common::fixture;
use proptest::prelude::*;

#[test]
fn fuzz_regression_inputs_do_not_crash() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        kontor_xml::fuzzing::run(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n >= 4);
}

fn samples() -> Vec<Vec<u8>> {
    [
        "xrechnung/01.01a-INVOICE_ubl.xml",
        "xrechnung/01.20a-INVOICE_uncefact.xml",
        "opentrans/Example_ORDERRESPONSE_Testdistributor_Auftragsbestaetigung.xml",
        "opentrans/Example_DISPATCHNOTIFICATION_Testdistributor_Lieferavis.xml",
    ]
    .iter()
    .map(|f| std::fs::read(fixture(f)).unwrap())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_documents_never_panic(
        which in 0usize..4,
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        insert in prop::collection::vec(any::<u8>(), 0..16),
        at in any::<prop::sample::Index>(),
    ) {
        let mut doc = samples().swap_remove(which);
        for (i, b) in flips {
            let i = i.index(doc.len());
            doc[i] = b;
        }
        let pos = at.index(doc.len());
        doc.splice(pos..pos, insert);
        let keep = cut.index(doc.len() + 1).max(doc.len() / 2);
        doc.truncate(keep);
        kontor_xml::fuzzing::run(&doc);
    }
}

fn pdf_samples() -> Vec<Vec<u8>> {
    [
        "zugferd/EN16931_1_Teilrechnung.pdf",
        "zugferd/MustangBeispiel20221026.pdf",
    ]
    .iter()
    .map(|f| std::fs::read(fixture(f)).unwrap())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// Real hybrid PDFs with flipped bytes, an insertion and a cut: refused or read, never a
    /// panic, never an error that is no quarantine.
    #[test]
    fn mutated_hybrid_pdfs_never_panic(
        which in 0usize..2,
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..32),
        insert in prop::collection::vec(any::<u8>(), 0..16),
        at in any::<prop::sample::Index>(),
    ) {
        let mut doc = pdf_samples().swap_remove(which);
        for (i, b) in flips {
            let i = i.index(doc.len());
            doc[i] = b;
        }
        let pos = at.index(doc.len());
        doc.splice(pos..pos, insert);
        let keep = cut.index(doc.len() + 1).max(doc.len() * 3 / 4);
        doc.truncate(keep);
        kontor_xml::fuzzing::run_pdf(&doc);
    }
}
