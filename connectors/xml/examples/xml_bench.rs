//! Benchmark of the XML connector (not a test; run in release):
//!
//! ```text
//! cargo run --release -p kontor-xml --example xml_bench -- [--size-mb 1024] [--copies 150]
//! ```
//!
//! 1. Generic XML: writes a generated WaWi-style export of `--size-mb` MiB into a temp folder,
//!    streams it through the connector and prints MB/s and the peak RSS (`VmHWM`).
//! 2. Attachment: an XRechnung with a `--attachment-mb` MiB base64 attachment (BT-125), read
//!    through the connector; the peak RSS must stay that of part 1 (the attachment is passed
//!    over, never held).
//! 3. E-invoices: copies the real sample documents of `tests/fixtures/` `--copies` times into a
//!    temp folder, discovers and reads them all through the connector, prints documents per
//!    second and the RSS after every 10% (flat = no per-file leak).
//! 4. Hybrid PDFs: copies the four real ZUGFeRD/Factur-X PDFs of `tests/fixtures/zugferd` into
//!    a folder until it holds `--pdf-mb` MiB, reads every embedded invoice through the
//!    connector, prints e-invoices per second, MB/s and the peak RSS.

use kontor_connector::{ConnectorSpec, Item};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

fn status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) of this process so far, from `/proc/self/stat`.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name `(…)`: utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12);
    ticks as f64 / 100.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn generate(path: &Path, bytes: u64) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut written = 0u64;
    let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Export xmlns=\"urn:wawi:export\" erstellt=\"2026-01-31\">\n<Kunden>\n";
    out.write_all(head.as_bytes())?;
    written += head.len() as u64;
    let mut i = 0u64;
    while written < bytes {
        i += 1;
        let rec = format!(
            "<Kunde nr=\"{i:08}\" aktiv=\"ja\">\n  <Name>Musterfirma {i} GmbH &amp; Co. KG</Name>\n  <Strasse>Hauptstraße {}</Strasse><PLZ>{:05}</PLZ><Ort>Köln</Ort>\n  <Telefon typ=\"fest\">+49 221 {i}</Telefon><Telefon typ=\"mobil\">+49 170 {i}</Telefon>\n  <EMail>info{i}@example.de</EMail><UStId>DE{:09}</UStId>\n  <Offen waehrung=\"EUR\">{}.{:02}</Offen><Notiz><![CDATA[Rabatt <5%> ab {} Stück]]></Notiz>\n</Kunde>\n",
            i % 200,
            i % 99999,
            i % 1_000_000_000,
            i % 100_000,
            i % 100,
            i % 50
        );
        out.write_all(rec.as_bytes())?;
        written += rec.len() as u64;
    }
    let tail = "</Kunden>\n</Export>\n";
    out.write_all(tail.as_bytes())?;
    out.flush()?;
    Ok(i)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let size_mb = arg("--size-mb", 1024);
    let copies = arg("--copies", 150);
    let tmp = tempfile::tempdir().expect("temp dir");

    // 1. Generic XML.
    let file = tmp.path().join("export.xml");
    let t = Instant::now();
    let expected = generate(&file, size_mb * 1024 * 1024).expect("generate");
    let size = std::fs::metadata(&file).expect("size").len();
    println!(
        "generated {} ({:.0} MiB, {expected} records) in {:.1}s",
        file.display(),
        size as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let spec = ConnectorSpec {
        name: "bench".into(),
        settings: toml::from_str("path = \"export.xml\"\nformat = \"generic\"").expect("settings"),
        source: toml::from_str("record = \"/Export/Kunden/Kunde\"").expect("source"),
        base_dir: tmp.path().to_path_buf(),
        batch_size: 1000,
        own: Default::default(),
    };
    let conn = kontor_xml::build(spec).expect("connector");
    let units = conn.discover().await.expect("discover");
    let t = Instant::now();
    let cpu0 = cpu_secs();
    let mut reader = conn.open(&units[0], None).await.expect("open");
    let mut records = 0u64;
    let mut max_rss = 0;
    while let Some(batch) = reader.next_batch().await.expect("batch") {
        records += batch
            .items
            .iter()
            .filter(|i| matches!(i, Item::Record(_)))
            .count() as u64;
        max_rss = max_rss.max(status("VmRSS:"));
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    assert_eq!(records, expected, "every generated record read");
    println!(
        "generic XML: {records} records, {:.0} MiB in {secs:.1}s = {:.1} MB/s wall ({:.0} records/s); CPU {cpu:.1}s = {:.1} MB/s per CPU second; max RSS while reading {:.1} MiB; peak RSS (VmHWM) {:.1} MiB",
        size as f64 / 1048576.0,
        size as f64 / 1e6 / secs,
        records as f64 / secs,
        size as f64 / 1e6 / cpu.max(0.01),
        mib(max_rss),
        mib(status("VmHWM:"))
    );
    drop(reader);
    std::fs::remove_file(&file).expect("remove");
    let peak_generic = status("VmHWM:");

    // 2. A big embedded attachment.
    let att_mb = arg("--attachment-mb", 30);
    let dir = tmp.path().join("attachment");
    std::fs::create_dir(&dir).expect("dir");
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/xrechnung/01.01a-INVOICE_ubl.xml"),
    )
    .expect("sample");
    let (head, tail) = doc
        .split_once("<cac:AccountingSupplierParty>")
        .expect("supplier party");
    {
        let mut out = BufWriter::new(std::fs::File::create(dir.join("anlage.xml")).expect("file"));
        out.write_all(head.as_bytes()).expect("write");
        out.write_all(b"<cac:AdditionalDocumentReference><cbc:ID>Anlage</cbc:ID><cac:Attachment><cbc:EmbeddedDocumentBinaryObject mimeCode=\"application/pdf\" filename=\"anlage.pdf\">").expect("write");
        let line = [b'Q'; 76];
        for _ in 0..(att_mb * 1024 * 1024 / 77) {
            out.write_all(&line).expect("write");
            out.write_all(b"\n").expect("write");
        }
        out.write_all(b"</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference><cac:AccountingSupplierParty>").expect("write");
        out.write_all(tail.as_bytes()).expect("write");
        out.flush().expect("flush");
    }
    let att_size = std::fs::metadata(dir.join("anlage.xml"))
        .expect("size")
        .len();
    let spec = ConnectorSpec {
        name: "anlage".into(),
        settings: toml::from_str("path = \"attachment\"").expect("settings"),
        base_dir: tmp.path().to_path_buf(),
        batch_size: 1000,
        ..ConnectorSpec::default()
    };
    let conn = kontor_xml::build(spec).expect("connector");
    let t = Instant::now();
    let mut found = 0;
    for unit in conn.discover().await.expect("discover") {
        let mut reader = conn.open(&unit, None).await.expect("open");
        while let Some(batch) = reader.next_batch().await.expect("document") {
            found += batch.items.len();
        }
    }
    assert_eq!(found, 1, "the invoice with its attachment");
    println!(
        "attachment: one XRechnung of {:.1} MiB ({att_mb} MiB base64 attachment) read in {:.2}s; peak RSS (VmHWM) {:.1} MiB after it, {:.1} MiB before (generic XML)",
        att_size as f64 / 1048576.0,
        t.elapsed().as_secs_f64(),
        mib(status("VmHWM:")),
        mib(peak_generic)
    );
    std::fs::remove_dir_all(&dir).expect("remove");

    // 3. E-invoice folder.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let inbox = tmp.path().join("inbox");
    std::fs::create_dir(&inbox).expect("inbox");
    let mut samples = Vec::new();
    for folder in ["xrechnung", "opentrans"] {
        for entry in std::fs::read_dir(root.join(folder)).expect("fixtures") {
            let p = entry.expect("entry").path();
            if p.extension().is_some_and(|e| e == "xml") {
                samples.push(p);
            }
        }
    }
    let mut n = 0u64;
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for c in 0..copies {
        for s in &samples {
            // A comment makes every copy a distinct unit (content hash).
            let mut bytes = std::fs::read(s).expect("read sample");
            bytes.extend(format!("\n<!-- copy {c} -->\n").as_bytes());
            let p = inbox.join(format!(
                "{c:04}_{}",
                s.file_name().and_then(|f| f.to_str()).unwrap_or("x.xml")
            ));
            std::fs::write(&p, bytes).expect("write copy");
            std::fs::File::options()
                .write(true)
                .open(&p)
                .and_then(|f| f.set_modified(old))
                .expect("mtime");
            n += 1;
        }
    }
    let spec = ConnectorSpec {
        name: "einvoices".into(),
        settings: toml::from_str("path = \"inbox\"").expect("settings"),
        base_dir: tmp.path().to_path_buf(),
        batch_size: 1000,
        ..ConnectorSpec::default()
    };
    let Folder {
        docs,
        secs,
        cpu,
        discover_secs,
        rss,
    } = read_folder(spec, n).await;
    assert_eq!(docs, n);
    println!(
        "e-invoices: {docs} documents ({} samples x {copies}) read in {secs:.2}s = {:.0} docs/s wall, CPU {cpu:.2}s = {:.0} docs per CPU second (discover incl. hashing {discover_secs:.2}s, {:.0} files/s); RSS MiB after each 10%: [{}]; peak RSS (VmHWM) {:.1} MiB",
        samples.len(),
        docs as f64 / secs,
        docs as f64 / cpu.max(0.01),
        n as f64 / discover_secs,
        rss.join(", "),
        mib(status("VmHWM:"))
    );

    // 4. Hybrid PDFs.
    let pdf_mb = arg("--pdf-mb", 1024);
    if pdf_mb > 0 {
        bench_pdfs(tmp.path(), pdf_mb).await;
    }
}

/// Part 4: a folder of `mb` MiB of real hybrid PDF invoices, each copy unique.
async fn bench_pdfs(tmp: &Path, mb: u64) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/zugferd");
    let samples: Vec<Vec<u8>> = [
        "EN16931_1_Teilrechnung.pdf",
        "MustangBeispiel20221026.pdf",
        "invalidPDF.pdf",
        "validV2PDF.pdf",
    ]
    .iter()
    .map(|f| std::fs::read(root.join(f)).expect("sample PDF"))
    .collect();
    let dir = tmp.join("pdfs");
    std::fs::create_dir(&dir).expect("dir");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let (mut bytes, mut n) = (0u64, 0u64);
    let t = Instant::now();
    'fill: loop {
        for (i, s) in samples.iter().enumerate() {
            if bytes >= mb * 1024 * 1024 {
                break 'fill;
            }
            // A comment after %%EOF makes every copy a distinct unit; readers ignore it.
            let mut b = s.clone();
            b.extend(format!("\n% copy {n}\n").as_bytes());
            let p = dir.join(format!("{n:06}_{i}.pdf"));
            std::fs::write(&p, &b).expect("write PDF");
            std::fs::File::options()
                .write(true)
                .open(&p)
                .and_then(|f| f.set_modified(old))
                .expect("mtime");
            bytes += b.len() as u64;
            n += 1;
        }
    }
    println!(
        "generated {n} hybrid PDFs, {:.0} MiB, in {:.1}s",
        bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let spec = ConnectorSpec {
        name: "pdfs".into(),
        settings: toml::from_str("path = \"pdfs\"").expect("settings"),
        base_dir: tmp.to_path_buf(),
        batch_size: 1000,
        ..ConnectorSpec::default()
    };
    let Folder {
        docs,
        secs,
        cpu,
        discover_secs,
        rss,
    } = read_folder(spec, n).await;
    assert_eq!(docs, n, "every PDF holds an invoice");
    println!(
        "hybrid PDFs: {docs} e-invoices from {:.0} MiB of PDFs in {secs:.1}s = {:.0} e-invoices/s wall ({:.1} MB/s), CPU {cpu:.1}s = {:.0} e-invoices per CPU second (discover incl. hashing {discover_secs:.1}s); RSS MiB after each 10%: [{}]; peak RSS (VmHWM) {:.1} MiB",
        bytes as f64 / 1048576.0,
        docs as f64 / secs,
        bytes as f64 / 1e6 / secs,
        docs as f64 / cpu.max(0.01),
        rss.join(", "),
        mib(status("VmHWM:"))
    );
    std::fs::remove_dir_all(&dir).expect("remove");
}

/// What reading a folder of documents took.
struct Folder {
    docs: u64,
    secs: f64,
    cpu: f64,
    discover_secs: f64,
    /// RSS (MiB) after each tenth of the folder.
    rss: Vec<String>,
}

/// Discovers the `n` files of the connector's folder and reads them all, one unit each.
async fn read_folder(spec: ConnectorSpec, n: u64) -> Folder {
    let conn = kontor_xml::build(spec).expect("connector");
    let t = Instant::now();
    let units = conn.discover().await.expect("discover");
    let discover_secs = t.elapsed().as_secs_f64();
    assert_eq!(units.len() as u64, n);
    let t = Instant::now();
    let cpu0 = cpu_secs();
    let mut docs = 0u64;
    let mut rss = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        let mut reader = conn.open(unit, None).await.expect("open");
        while let Some(batch) = reader.next_batch().await.expect("document") {
            docs += batch.items.len() as u64;
        }
        if (i + 1) % (units.len() / 10).max(1) == 0 {
            rss.push(format!("{:.1}", mib(status("VmRSS:"))));
        }
    }
    Folder {
        docs,
        secs: t.elapsed().as_secs_f64(),
        cpu: cpu_secs() - cpu0,
        discover_secs,
        rss,
    }
}
