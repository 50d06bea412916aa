//! kontor's integration tests in one binary (one link instead of one per file): each file
//! is a module; `common` holds the shared test world and the `both_backends!` macro.

#[macro_use]
mod common;

mod api_e2e;
mod api_fuzz_e2e;
mod backup_e2e;
mod bench_cli;
mod builtin_mappings;
mod business_central_e2e;
mod calls_e2e;
mod card_e2e;
mod check_data_e2e;
mod cli_e2e;
mod cluster_e2e;
mod complaint_forward_e2e;
mod complaint_process_e2e;
mod conformance;
mod connectors_e2e;
mod demo_e2e;
mod desk_e2e;
mod diff_e2e;
mod directory_reload_e2e;
mod docker_files;
mod drift_alerts_e2e;
mod einvoice_cli;
mod einvoice_e2e;
mod files_inside;
mod front_e2e;
mod http_hardening_e2e;
mod identity_incremental_e2e;
mod identity_singletons_e2e;
mod identity_triage_e2e;
mod jtl_wawi_e2e;
mod kill_resume;
mod kill_resume_rest;
mod kill_resume_sql;
mod lexoffice_e2e;
mod lifecycle_e2e;
mod mapping_new_e2e;
mod observability_e2e;
mod oidc_e2e;
mod open_items_e2e;
mod paid_sources_e2e;
#[cfg(target_os = "linux")]
mod pg_sockets;
mod plugin_singer;
mod positions_e2e;
mod privacy_api_e2e;
mod privacy_e2e;
mod privacy_erase_e2e;
mod quarantine_lifecycle_e2e;
mod quotes_e2e;
mod records_cli;
mod reports_e2e;
mod scheduler_e2e;
mod secrets_cli;
mod signin_e2e;
mod snapshot_default_e2e;
mod snapshot_e2e;
mod sql_e2e;
mod store_cli;
mod store_suite;
mod sync_dropped;
mod web_e2e;
mod xentral_e2e;
