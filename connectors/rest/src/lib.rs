//! kontor's REST/OData connector.
//!
//! A generic REST source configured by the mapping file's `[source]` section (endpoints per
//! entity, JSON path of the records, paging style, incremental fields) or by a built-in
//! profile (`erpnext`, `sap-b1`, `weclapp`, `jtl-wawi`), with auth, rate limiting and retries.
//! See `connectors/rest/README.md` for the configuration keys and the profiles.
//!
//! # Cursor semantics
//! Each endpoint is one [`kontor_connector::Unit`] committed incrementally. A batch is one
//! page; its position is the cursor that is safe to commit with exactly its records:
//! `{"modified": "<last delivered stamp>", "ids": [<ids delivered at exactly that stamp>]}`,
//! capped at the run start minus `safety_margin`. A record is skipped when the cursor covers
//! it (older stamp, or same stamp and id in `ids`), so nothing is delivered twice across runs
//! and a failed run resumes from its last committed page. Full-refresh endpoints emit
//! `{"full_refresh": true, ...}` (informational: every run starts from the beginning).
//!
//! Drift (records created or modified while paging), per style, in incremental mode (the
//! server sorts by `(modified, id)`; a new or modified record moves to the end):
//! - `offset`/`page`: after each page the query is *re-anchored*: the next request filters
//!   `modified >= <last stamp>` from offset 0 / the first page. No position depends on
//!   earlier rows, so nothing shifts. When the filter value does not change (more equal
//!   stamps than a page, or a date-only filter as in SAP B1), `offset` paging re-reads the
//!   previous page's last record and restarts the query when it moved (drift detected);
//!   `page` paging doubles the page size up to `max_page_size` and restarts; beyond that it
//!   pages by number and logs that this is not drift-safe.
//! - `next_link`/`link_header`/`cursor`: the server's continuation is followed. Safe when the
//!   server's links/tokens are keyset or snapshot based; an offset-based link (SAP B1's
//!   `odata.nextLink` is `$skip`) can skip a record when an earlier one moves — use `offset`
//!   paging for such servers.
//! - Records are checked to arrive in ascending stamp order; otherwise the run fails
//!   ([`RestError::Unsorted`]) instead of committing an unsafe cursor.
//!
//! Full refresh: sorted by id (`full_query`), deduplicated by id within the run; `offset`
//! paging still verifies the overlap and restarts on drift.

mod auth;
mod auth_config;
mod config;
mod connector;
mod cursor;
mod derive_lookup;
mod endpoint;
mod error;
mod fanout;
mod http;
mod lookup;
#[cfg(feature = "mock")]
pub mod mock;
mod paging;
mod profiles;
mod reader;
mod secret;
mod stamp;

pub use connector::{KIND, RestConnector, build};
pub use error::RestError;
pub use profiles::{
    BUILTIN_MAPPINGS, NAMES as PROFILES, ProfileInfo, StreamInfo, info as profile_info,
    infos as profile_infos,
};
pub use secret::Secret;
