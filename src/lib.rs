//! kontor: middleware between German ERP/WaWi back offices and the front office.

pub mod api;
#[doc(hidden)]
pub mod bench;
pub mod config;
pub mod demo;
pub mod diag;
pub mod directory;
pub mod identity;
pub mod mapping;
pub mod model;
pub mod registry;
pub mod schedule;
pub mod store;
pub mod sync;
pub mod sys;
#[doc(hidden)]
pub mod testing;
pub mod view;
