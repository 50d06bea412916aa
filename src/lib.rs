//! kontor: middleware between German ERP/WaWi back offices and the front office.

pub mod alert;
pub mod api;
#[doc(hidden)]
pub mod bench;
pub mod cluster;
pub mod config;
pub mod conformance;
pub mod demo;
pub mod diag;
pub mod directory;
pub mod front;
pub mod identity;
pub mod mapping;
pub mod metrics;
pub mod model;
pub mod registry;
pub mod schedule;
pub mod scheduler;
pub mod store;
pub mod sync;
pub mod sys;
#[doc(hidden)]
#[cfg(any(test, feature = "testsuite"))]
pub mod testing;
pub mod view;
