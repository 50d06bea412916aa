//! Reading a backup: the header, then a thread that parses and checks the rest.

use super::*;

/// What the reader thread hands to the restore.
pub(crate) enum Item {
    Table(TableHead),
    Rows(Vec<Vec<Val>>),
    EndTable,
    /// The trailer checked out: counts and hash match.
    End,
}

pub(crate) type Input = mpsc::Receiver<Result<Item, String>>;

/// Opens a backup file (plain or gzip) and reads its header; the rest is read by a thread.
pub(super) fn open_dump(path: &Path) -> Result<(Header, Input), StoreError> {
    let err = |m: String| StoreError::Data(format!("{}: {m}", path.display()));
    let mut file =
        std::io::BufReader::new(std::fs::File::open(path).map_err(|e| err(e.to_string()))?);
    let magic = file.fill_buf().map_err(|e| err(e.to_string()))?;
    if magic.starts_with(b"SQLite format 3\0") {
        return Err(err(
            "this is a SQLite database file, not a kontor backup: use it as the store (url = \"sqlite://…\"), or `kontor backup` it from there"
                .into(),
        ));
    }
    let mut reader: Box<dyn BufRead + Send> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            flate2::read::GzDecoder::new(file),
        ))
    } else {
        Box::new(file)
    };
    let mut first = Vec::new();
    reader
        .read_until(b'\n', &mut first)
        .map_err(|e| err(e.to_string()))?;
    let header: Header = serde_json::from_slice(&first)
        .ok()
        .filter(|h: &Header| h.format == FORMAT)
        .ok_or_else(|| {
            err("not a kontor backup (its first line is no kontor-backup header)".into())
        })?;
    if header.version != FORMAT_VERSION {
        return Err(err(format!(
            "backup format version {} is not supported by this kontor (it reads version {FORMAT_VERSION})",
            header.version
        )));
    }
    let (tx, rx) = mpsc::channel(8);
    std::thread::spawn(move || {
        let mut hash = blake3::Hasher::new();
        hash.update(&first);
        if let Err(e) = read_items(reader, &mut hash, &tx) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    Ok((header, rx))
}

fn read_items(
    mut r: Box<dyn BufRead + Send>,
    hash: &mut blake3::Hasher,
    tx: &mpsc::Sender<Result<Item, String>>,
) -> Result<(), String> {
    let send = |item: Item| {
        tx.blocking_send(Ok(item))
            .map_err(|_| "restore stopped".to_string())
    };
    let mut line = Vec::new();
    let mut n = 1u64;
    let (mut tables, mut rows) = (0u64, 0u64);
    let mut table: Option<(String, usize, u64)> = None;
    let mut batch: Vec<Vec<Val>> = Vec::new();
    let mut batch_bytes = 0;
    loop {
        line.clear();
        let read = r
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("line {}: {e}", n + 1))?;
        n += 1;
        let at = |m: String| format!("line {n}: {m}");
        if read == 0 || !line.ends_with(b"\n") {
            return Err(
                "the backup is incomplete (it ends before its trailer): the file was cut off"
                    .into(),
            );
        }
        if line.first() == Some(&b'[') {
            let Some((name, width, count)) = table.as_mut() else {
                return Err(at("a row outside a table".into()));
            };
            hash.update(&line);
            let values: Vec<serde_json::Value> =
                serde_json::from_slice(&line).map_err(|e| at(e.to_string()))?;
            if values.len() != *width {
                return Err(at(format!(
                    "table {name}: {} values for {width} columns",
                    values.len()
                )));
            }
            let row = values
                .into_iter()
                .map(decode)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| at(format!("table {name}: {e}")))?;
            *count += 1;
            batch_bytes += line.len();
            batch.push(row);
            if batch.len() >= BATCH_ROWS || batch_bytes >= BATCH_BYTES {
                send(Item::Rows(std::mem::take(&mut batch)))?;
                batch_bytes = 0;
            }
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&line).map_err(|e| at(e.to_string()))?;
        if let Some(end) = v.get("end") {
            let want_hash = end["blake3"].as_str().unwrap_or_default();
            if table.is_some() {
                return Err(at("the trailer comes inside a table".into()));
            }
            if end["tables"].as_u64() != Some(tables) || end["rows"].as_u64() != Some(rows) {
                return Err(at(format!(
                    "the trailer says {} tables / {} rows, the file has {tables} / {rows}",
                    end["tables"], end["rows"]
                )));
            }
            if hash.finalize().to_hex().as_str() != want_hash {
                return Err("the backup is damaged: its BLAKE3 checksum does not match".into());
            }
            return send(Item::End);
        }
        hash.update(&line);
        if let Some(name) = v.get("end_table") {
            let Some((t, _, count)) = table.take() else {
                return Err(at("end of a table that did not start".into()));
            };
            if name.as_str() != Some(t.as_str()) || v["rows"].as_u64() != Some(count) {
                return Err(at(format!(
                    "table {t}: the file says {} rows, it has {count}",
                    v["rows"]
                )));
            }
            if !batch.is_empty() {
                send(Item::Rows(std::mem::take(&mut batch)))?;
                batch_bytes = 0;
            }
            tables += 1;
            rows += count;
            send(Item::EndTable)?;
        } else if v.get("table").is_some() {
            if table.is_some() {
                return Err(at("a table starts inside another".into()));
            }
            let head: TableHead = serde_json::from_value(v).map_err(|e| at(e.to_string()))?;
            table = Some((head.table.clone(), head.columns.len(), 0));
            send(Item::Table(head))?;
        } else {
            return Err(at("unknown line".into()));
        }
    }
}

// ---------------------------------------------------------------- restore
