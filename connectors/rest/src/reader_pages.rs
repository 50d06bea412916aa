//! Page-number paging's safeguards for [`EndpointReader`]: the overlap probe that detects a
//! shifted result, the API's result window (`max_results`), a server that caps the page
//! size, and groups of equal stamps larger than a page.

use super::EndpointReader;
use crate::endpoint::Paging;
use crate::error::RestError;
use crate::paging::build_url;
use serde_json::Value;

impl EndpointReader {
    /// `page` paging with `verify_overlap`, going on by page number.
    pub(super) fn probe_due(&self) -> bool {
        matches!(
            self.ep.paging,
            Paging::Page {
                verify_overlap: true,
                ..
            }
        ) && self.consumed > 0
            && self.overlap.is_some()
    }

    /// Asks (after the next page arrived) for the previous page's last record alone
    /// (`page = consumed − 1`, size 1). Records only ever leave a position towards the end
    /// (a change moves a record behind all others in a modified sort, a deletion removes it),
    /// so if that record is still where it was, it was there when the page was served too,
    /// and the page began right after it: nothing was skipped.
    pub(super) async fn probe_unshifted(&self) -> Result<bool, RestError> {
        let Paging::Page {
            page_param,
            size_param,
            first_page,
            ..
        } = &self.ep.paging
        else {
            return Ok(true);
        };
        let mut params = self.base_params();
        params.push((
            page_param.clone(),
            (first_page + self.consumed - 1).to_string(),
        ));
        params.push((size_param.clone(), "1".into()));
        let url =
            build_url(&self.shared.base_url, &self.ep.path, &params).map_err(RestError::Config)?;
        let headers = self.render(&self.ep.headers, None);
        let check = records_check(self.ep.records.clone());
        let resp = self.shared.http.get_json(&url, &headers, &check).await?;
        let first = match self.ep.records.get(&resp.body) {
            Some(Value::Array(a)) => a.first().map(|r| self.key(r)),
            _ => None,
        };
        Ok(first.is_some() && first == self.overlap)
    }

    /// A page starting at `offset` of the current query must end within `max_results`.
    pub(super) fn check_window(&self, offset: u64) -> Result<(), RestError> {
        match self.ep.max_results {
            Some(max) if offset + u64::from(self.page_size) > max => Err(RestError::ResultWindow {
                stream: self.ep.stream.clone(),
                max,
                at: match (self.incremental, self.anchor) {
                    (true, Some(a)) => a.to_text(),
                    _ => "(none: the query has no modified-since filter)".into(),
                },
            }),
            _ => Ok(()),
        }
    }

    /// A short page whose answer says there is a next one: the server allows fewer records
    /// per page than asked for. Go on with its size; when the pages read so far do not line
    /// up with it, start the query again (what was delivered is skipped by cursor or id).
    pub(super) fn server_caps_page_size(&mut self, n: u64, before: u64) {
        let cap = u32::try_from(n).unwrap_or(u32::MAX).max(1);
        tracing::info!(stream = %self.ep.stream, asked = self.page_size, got = cap,
            "the server caps the page size; paging on with its size");
        self.size_cap = cap;
        self.page_size = cap;
        if !before.is_multiple_of(u64::from(cap)) {
            self.consumed = 0;
            self.query_prev = None;
        }
    }

    /// A full page of records with the same modified-since filter value (a group of equal
    /// timestamps larger than a page). Page numbers cannot be verified, so the query starts
    /// again with a larger page until the group fits; at `max_page_size` it goes on by page
    /// number (not drift-safe, logged).
    pub(super) fn tie_on_page_paging(&mut self) {
        let window = self
            .ep
            .max_results
            .map_or(u32::MAX, |m| u32::try_from(m).unwrap_or(u32::MAX));
        let max = self.ep.max_page_size.min(self.size_cap).min(window);
        if self.page_size < max {
            self.page_size = self.page_size.saturating_mul(2).min(max);
            self.consumed = 0;
            self.query_prev = None;
        } else if !self.warned_tie {
            self.warned_tie = true;
            let verified = matches!(
                self.ep.paging,
                Paging::Page {
                    verify_overlap: true,
                    ..
                }
            );
            tracing::warn!(stream = %self.ep.stream, page_size = self.page_size, verified,
                "more records share one filter value than fit into max_page_size; paging by page number (drift-safe only with verify_overlap)");
        }
    }
}

/// The body check of a page request: the records array must be there (else retried).
pub(super) fn records_check(
    records_path: crate::endpoint::JsonPath,
) -> impl Fn(&Value) -> Result<(), String> + Sync {
    move |body: &Value| match records_path.get(body) {
        Some(Value::Array(_) | Value::Null) => Ok(()),
        Some(_) => Err(format!("`{records_path}` is not an array")),
        None if records_path.is_root() => Err("the body is not an array".into()),
        None => Err(format!("no `{records_path}` in the response")),
    }
}
