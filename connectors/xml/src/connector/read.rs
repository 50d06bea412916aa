//! Reading one XML or PDF file into batches: the generic record path or a profile's
//! documents, resumable by the number of records consumed.

mod pdf_unit;

use super::*;
use pdf_unit::is_pdf;

/// A reader for one file (used by the connector; public for tests, fuzzing and benchmarks).
pub struct FileReader {
    state: Option<Box<ReadState>>,
}

/// Opens `path` for reading with the given format and limits (`record`: generic record path).
pub fn reader_for(
    path: PathBuf,
    format: Format,
    limits: Limits,
    record: Option<RecordPath>,
    batch_size: usize,
    skip: u64,
) -> FileReader {
    let label: Arc<str> = path.display().to_string().into();
    let shared = Arc::new(Shared {
        format,
        limits,
        record,
        batch_size: batch_size.max(1),
        own: OwnParty::default(),
    });
    open_file(path, label, shared, skip)
}

/// A reader over bytes in memory (fuzzing, tests); `label` names them in positions.
pub fn reader_for_bytes(
    bytes: Vec<u8>,
    label: &str,
    format: Format,
    limits: Limits,
    record: Option<RecordPath>,
    batch_size: usize,
) -> FileReader {
    let mut reader = reader_for(PathBuf::from(label), format, limits, record, batch_size, 0);
    if let Some(state) = reader.state.as_mut() {
        state.bytes = Some(bytes);
    }
    reader
}

pub(super) fn open_file(
    path: PathBuf,
    label: Arc<str>,
    shared: Arc<Shared>,
    skip: u64,
) -> FileReader {
    let mut context = Context::new();
    context.insert("file".to_owned(), label.to_string());
    FileReader {
        state: Some(Box::new(ReadState {
            path,
            label,
            shared,
            skip,
            context: Arc::new(context),
            phase: Phase::NotOpened,
            bytes: None,
        })),
    }
}

struct ReadState {
    path: PathBuf,
    label: Arc<str>,
    shared: Arc<Shared>,
    /// Records consumed before (resume position); afterwards the running count.
    skip: u64,
    context: Arc<Context>,
    phase: Phase,
    /// Content given in memory instead of the file at `path`.
    bytes: Option<Vec<u8>>,
}

enum Phase {
    NotOpened,
    Generic {
        reader: Box<SafeReader>,
        generic: Generic,
        records: u64,
    },
    Done,
}

#[async_trait]
impl BatchReader for FileReader {
    async fn next_batch(&mut self) -> Result<Option<Batch>, ConnectorError> {
        let Some(mut state) = self.state.take() else {
            return Ok(None);
        };
        let label = state.label.clone();
        let (state, result) = tokio::task::spawn_blocking(move || {
            let r = state.step();
            (state, r)
        })
        .await
        .map_err(|e| ConnectorError::Unit {
            position: Position {
                source: label,
                ..Position::default()
            },
            reason: format!("the XML reader failed unexpectedly: {e}"),
        })?;
        self.state = Some(state);
        result
    }
}

impl FileReader {
    /// Reads with our own identifiers known (tests): invoices to us are `received`.
    pub fn with_own(mut self, own: OwnParty) -> Self {
        if let Some(state) = self.state.as_mut() {
            let mut shared = (*state.shared).clone();
            shared.own = own;
            state.shared = Arc::new(shared);
        }
        self
    }

    /// The next batch, read on the calling thread (for benchmarks and fuzzing).
    pub fn next_batch_blocking(&mut self) -> Result<Option<Batch>, ConnectorError> {
        match self.state.as_mut() {
            Some(state) => state.step(),
            None => Ok(None),
        }
    }
}

impl ReadState {
    fn step(&mut self) -> Result<Option<Batch>, ConnectorError> {
        let result = self.step_inner();
        if result.is_err() {
            self.phase = Phase::Done;
        }
        result.map_err(|e| e.into_connector_error(self.label.clone()))
    }

    fn step_inner(&mut self) -> Result<Option<Batch>, XmlError> {
        if let Phase::NotOpened = self.phase {
            self.phase = Phase::Done;
            return self.open_and_start();
        }
        let batch_size = self.shared.batch_size;
        let Phase::Generic {
            reader,
            generic,
            records,
        } = &mut self.phase
        else {
            return Ok(None);
        };
        let mut items: Vec<Item> = Vec::new();
        let mut bytes = 0usize;
        let mut at_end = false;
        while items.len() < batch_size && bytes < kontor_connector::MAX_BATCH_BYTES {
            match generic.next(reader, true)? {
                Some(Found::Record { tree, line, column }) => {
                    *records += 1;
                    let item = Item::Record(RawRecord {
                        fields: Fields::Tree(tree),
                        position: pos(&self.label, line, column),
                        context: self.context.clone(),
                        stream: None,
                    });
                    bytes += item.approx_bytes();
                    items.push(item);
                }
                Some(Found::TooLarge {
                    line,
                    column,
                    reason,
                }) => {
                    *records += 1;
                    items.push(Item::Reject(RawReject {
                        position: pos(&self.label, line, column),
                        field: None,
                        reason,
                        raw: String::new(),
                    }));
                }
                Some(Found::Skipped) => *records += 1,
                None => {
                    at_end = true;
                    break;
                }
            }
        }
        let batch = Batch {
            position: kontor_connector::files::FilePosition { records: *records }.to_value(),
            bytes_read: Some(reader.consumed()),
            items,
        };
        if at_end {
            self.phase = Phase::Done;
            if batch.items.is_empty() {
                return Ok(None);
            }
        }
        Ok(Some(batch))
    }

    fn open_and_start(&mut self) -> Result<Option<Batch>, XmlError> {
        if is_pdf(&self.path) {
            return self.read_pdf();
        }
        let (raw, size) = self.open_raw()?;
        let limits = self.shared.limits;
        let mut reader = Box::new(SafeReader::new(raw, limits)?);
        let Some(root) = first_element(&mut reader)? else {
            return Ok(None);
        };
        match decide(self.shared.format, &root, self.shared.record.is_some())? {
            Decision::Profile(profile) => {
                if self.skip >= 1 {
                    // The document was delivered before (resume position `{"records": 1}`).
                    return Ok(None);
                }
                let label = self.label.clone();
                self.profile_batch(&mut reader, &root, profile, &label, size)
                    .map(Some)
            }
            Decision::Generic => {
                let Some(path) = self.shared.record.clone() else {
                    return Err(XmlError::new(
                        ErrorKind::Document,
                        (root.line, root.column),
                        "no record path configured",
                    ));
                };
                let mut generic = Generic::new(path, root);
                let mut records = 0;
                while records < self.skip {
                    match generic.next(&mut reader, false)? {
                        Some(_) => records += 1,
                        None => break,
                    }
                }
                self.phase = Phase::Generic {
                    reader,
                    generic,
                    records,
                };
                self.step_inner()
            }
        }
    }

    /// The file (or the bytes given in memory) and its size.
    fn open_raw(&mut self) -> Result<(Box<dyn std::io::Read + Send>, u64), XmlError> {
        let io_err = |e: std::io::Error| {
            XmlError::new(
                ErrorKind::Io,
                (0, 0),
                format!("{}: {e}", self.path.display()),
            )
        };
        Ok(match self.bytes.take() {
            Some(bytes) => {
                let size = bytes.len() as u64;
                (Box::new(std::io::Cursor::new(bytes)), size)
            }
            None => {
                let file = std::fs::File::open(&self.path).map_err(io_err)?;
                let size = file.metadata().map_err(io_err)?.len();
                (Box::new(file), size)
            }
        })
    }

    /// Reads one profile document below `root` into a batch of one record at `label`.
    fn profile_batch(
        &self,
        reader: &mut SafeReader,
        root: &Elem,
        profile: Profile,
        label: &Arc<str>,
        size: u64,
    ) -> Result<Batch, XmlError> {
        let mut doc = read_document(reader, root, profile)?;
        if matches!(profile, Profile::Ubl | Profile::Cii) {
            crate::rules::check(&mut doc);
            crate::rules::negative_invoice_as_credit_note(&mut doc);
        }
        doc.set_direction(&self.shared.own);
        let record = RawRecord {
            fields: Fields::Tree(doc.to_json()),
            position: pos(label, root.line, root.column),
            context: self.context.clone(),
            stream: Some(profile.stream().into()),
        };
        Ok(Batch {
            items: vec![Item::Record(record)],
            position: kontor_connector::files::FilePosition { records: 1 }.to_value(),
            bytes_read: Some(size),
        })
    }
}

/// The root element (`None` for a file without any element before its end).
fn first_element(reader: &mut SafeReader) -> Result<Option<Elem>, XmlError> {
    loop {
        match reader.next_event()? {
            Ev::Start(root) => return Ok(Some(root)),
            Ev::Text(_) | Ev::End => {}
            Ev::Eof => return Ok(None),
        }
    }
}

fn pos(label: &Arc<str>, line: u64, column: u64) -> Position {
    Position {
        source: label.clone(),
        line: Some(line),
        column: Some(column),
        ..Position::default()
    }
}
