//! Exact line numbers for csv records.
//!
//! The csv crate reports a record's start as the end of the previous record, before any blank
//! lines it skipped, so its line numbers drift after blank lines. [`LineTracker`] watches the
//! bytes going into the csv reader and remembers where line breaks are, so a record's real
//! first line can be computed from the reported offset.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;

#[derive(Debug, Default)]
struct State {
    /// Offsets of CR and LF bytes not yet pruned, ascending, with whether it is a LF.
    breaks: VecDeque<(u64, bool)>,
    /// LFs pruned from the front.
    pruned_lf: u64,
    /// Bytes seen.
    offset: u64,
}

/// Shared view on the tracker state.
#[derive(Debug, Clone, Default)]
pub struct Lines(Rc<RefCell<State>>);

impl Lines {
    /// The 1-based line of the record whose reported start offset is `reported`; forgets line
    /// breaks before it.
    pub fn line_of(&self, reported: u64) -> u64 {
        let mut s = self.0.borrow_mut();
        // Skip the line breaks of blank lines.
        let mut start = reported;
        let mut i = s.breaks.partition_point(|(o, _)| *o < start);
        while let Some((o, _)) = s.breaks.get(i) {
            if *o != start {
                break;
            }
            start += 1;
            i += 1;
        }
        let mut lf_before = s.pruned_lf;
        for (o, is_lf) in s.breaks.iter() {
            if *o >= start {
                break;
            }
            if *is_lf {
                lf_before += 1;
            }
        }
        // Prune everything before the record start.
        while s.breaks.front().is_some_and(|(o, _)| *o < start) {
            if let Some((_, true)) = s.breaks.pop_front() {
                s.pruned_lf += 1;
            }
        }
        lf_before + 1
    }
}

/// A reader that records line breaks.
pub struct LineTracker<R> {
    inner: R,
    lines: Lines,
}

impl<R: Read> LineTracker<R> {
    pub fn new(inner: R, lines: Lines) -> Self {
        Self { inner, lines }
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut s = self.lines.0.borrow_mut();
        let base = s.offset;
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' || *b == b'\r' {
                s.breaks.push_back((base + i as u64, *b == b'\n'));
            }
        }
        s.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_exact_after_blank_lines_crlf_and_quoted_newlines() {
        let data = "a;b\r\n1;2\r\n\r\n3;4\n;\n\n5;\"x;\ny\"\n  \n";
        let lines = Lines::default();
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(b';')
            .from_reader(LineTracker::new(data.as_bytes(), lines.clone()));
        let got: Vec<(String, u64)> = r
            .byte_records()
            .map(|rec| {
                let rec = rec.unwrap();
                let line = lines.line_of(rec.position().unwrap().byte());
                (
                    String::from_utf8_lossy(rec.get(0).unwrap()).into_owned(),
                    line,
                )
            })
            .collect();
        let want = [("a", 1), ("1", 2), ("3", 4), ("", 5), ("5", 7), ("  ", 9)];
        assert_eq!(got, want.map(|(a, b)| (a.to_owned(), b)));
    }
}
