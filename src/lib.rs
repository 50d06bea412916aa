//! kontor: middleware between German ERP/WaWi back offices and the front office.

pub mod diag;
pub mod mapping;
pub mod model;
pub mod store;
#[doc(hidden)]
pub mod testing;
