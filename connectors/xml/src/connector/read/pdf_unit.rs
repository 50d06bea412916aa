//! A hybrid PDF invoice as a unit of the XML connector: the embedded invoice XML read like a
//! file of its own (see [`crate::pdf`]).

use super::{ReadState, first_element};
use crate::detect::{OtKind, Profile, decide, profile_of};
use crate::error::{ErrorKind, XmlError};
use crate::reader::SafeReader;
use kontor_connector::Batch;
use std::io::Read;
use std::sync::Arc;

impl ReadState {
    /// A hybrid PDF invoice: the embedded invoice XML read like a file of its own, positions
    /// as `file.pdf#factur-x.xml:line:col`.
    pub(super) fn read_pdf(&mut self) -> Result<Option<Batch>, XmlError> {
        let refuse = |reason: String| XmlError::new(ErrorKind::Pdf, (0, 0), reason);
        let max = self.shared.limits.max_pdf_bytes;
        let (raw, size) = self.open_raw()?;
        if size > max {
            return Err(refuse(format!(
                "PDF zu groß: {size} Bytes (max_pdf_bytes = {max})"
            )));
        }
        if self.skip >= 1 {
            return Ok(None);
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        raw.take(max).read_to_end(&mut bytes).map_err(|e| {
            XmlError::new(
                ErrorKind::Io,
                (0, 0),
                format!("{}: {e}", self.path.display()),
            )
        })?;
        let files = crate::pdf::embedded_files(&bytes).map_err(|e| refuse(e.0))?;
        drop(bytes);
        let mut broken: Option<XmlError> = None;
        let mut others: Vec<String> = Vec::new();
        for f in &files {
            if !f.is_xml() {
                others.push(f.name.clone());
                continue;
            }
            let label: Arc<str> = format!("{}#{}", self.label, f.name).into();
            let inside = |e: XmlError| e.inside(&label, &f.name);
            let attempt = f
                .reader(max)
                .map_err(|e| refuse(e.0))
                .and_then(|raw| SafeReader::new(raw, self.shared.limits).map_err(inside))
                .and_then(|mut r| Ok((first_element(&mut r).map_err(inside)?, r)));
            let (root, mut reader) = match attempt {
                Ok((Some(root), r)) => (root, r),
                Ok((None, _)) => continue,
                Err(e) => {
                    // A damaged XML is reported unless another attachment is the invoice (the
                    // candidates come best first, so the first damage is the one to name).
                    broken.get_or_insert(e);
                    continue;
                }
            };
            match profile_of(&root) {
                Some(p @ (Profile::Ubl | Profile::Cii | Profile::OpenTrans(OtKind::Invoice))) => {
                    decide(self.shared.format, &root, false).map_err(inside)?;
                    return self
                        .profile_batch(&mut reader, &root, p, &label, size)
                        .map(Some)
                        .map_err(inside);
                }
                _ => others.push(format!("{} (<{}>)", f.name, root.qname())),
            }
        }
        if let Some(e) = broken {
            return Err(e);
        }
        Err(refuse(if others.is_empty() {
            "PDF enthält keine E-Rechnung: keine eingebettete Datei".to_owned()
        } else {
            format!(
                "PDF enthält keine E-Rechnung: eingebettet sind nur {}",
                others.join(", ")
            )
        }))
    }
}

/// Whether a file is read as a hybrid PDF invoice (by its extension).
pub(super) fn is_pdf(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
}
