//! Writes a generated German invoice export: `cargo run --example gen_invoices -- FILE ROWS`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(rows)) = (args.get(1), args.get(2).and_then(|r| r.parse().ok())) else {
        eprintln!("usage: gen_invoices FILE ROWS [BROKEN_EVERY]");
        std::process::exit(2);
    };
    let broken = args.get(3).and_then(|b| b.parse().ok());
    match kontor::bench::write_invoice_export(std::path::Path::new(path), rows, broken) {
        Ok(bytes) => eprintln!("{rows} rows, {bytes} bytes"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
