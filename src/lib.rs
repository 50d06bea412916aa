//! kontor: middleware between German ERP/WaWi back offices and the front office.

#[doc(hidden)]
pub mod bench;
pub mod config;
pub mod diag;
pub mod identity;
pub mod mapping;
pub mod model;
pub mod registry;
pub mod store;
pub mod sync;
#[doc(hidden)]
pub mod testing;
