//! Prints the raw records the XML connector makes of the given files, one JSON object per line
//! (`cargo run -p kontor-xml --example xml_dump -- FILE… [--record /Path/To/Record]`).

use kontor_connector::Item;
use kontor_xml::{Format, Limits, RecordPath, reader_for};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut record = None;
    if let Some(i) = args.iter().position(|a| a == "--record") {
        record = args
            .get(i + 1)
            .map(|p| RecordPath::parse(p).expect("record path"));
        args.drain(i..(i + 2).min(args.len()));
    }
    for file in args {
        let mut reader = reader_for(
            file.clone().into(),
            Format::Auto,
            Limits::default(),
            record.clone(),
            1000,
            0,
        );
        loop {
            match reader.next_batch_blocking() {
                Ok(Some(batch)) => {
                    for item in batch.items {
                        match item {
                            Item::Record(r) => println!(
                                "{}",
                                serde_json::json!({"position": r.position.to_string(), "stream": r.stream.as_deref(), "fields": r.to_json()["tree"]})
                            ),
                            Item::Reject(r) => eprintln!("reject {}: {}", r.position, r.reason),
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    eprintln!("error {e}");
                    break;
                }
            }
        }
    }
}
