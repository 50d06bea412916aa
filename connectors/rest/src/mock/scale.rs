//! Bigger mock data for benchmarks, and the connector keys that log in to a mock.

use super::{Flavor, MockErp, erp, fixtures};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const HALF_YEAR_MS: i64 = 182 * 86_400_000;

/// Every fixture record of the profile `copies` times: ids made unique (numbers shifted by
/// 10,000,000 per copy, text ids suffixed `-<copy>`) and modification times spread over half
/// a year, oldest first, all in the past — the shape of a big tenant on a first sync.
pub fn scaled_fixtures(flavor: Flavor, copies: usize) -> BTreeMap<String, Vec<Value>> {
    let base = fixtures::for_flavor(flavor);
    let total: usize = base.values().map(Vec::len).sum::<usize>() * copies.max(1);
    // Spread over half a year (at least a second apart), as a tenant's history is.
    let step = (HALF_YEAR_MS / total.max(1) as i64).max(1000);
    let mut ms = chrono::Utc::now().timestamp_millis() - 86_400_000 - total as i64 * step;
    let mut out = BTreeMap::new();
    for (stream, records) in base {
        let id_field = erp::id_field(flavor, &stream);
        let mut list = Vec::with_capacity(records.len() * copies.max(1));
        for copy in 0..copies.max(1) {
            for rec in &records {
                let mut rec = rec.clone();
                if copy > 0 {
                    let id = match rec.get(id_field) {
                        Some(Value::Number(n)) => match n.as_i64() {
                            Some(i) => json!(i + copy as i64 * 10_000_000),
                            None => json!(format!("{n}-{copy}")),
                        },
                        Some(Value::String(s)) => match s.parse::<i64>() {
                            Ok(i) => json!((i + copy as i64 * 10_000_000).to_string()),
                            Err(_) => json!(format!("{s}-{copy}")),
                        },
                        _ => Value::Null,
                    };
                    if !id.is_null() {
                        rec[id_field] = id;
                    }
                }
                if flavor == Flavor::JtlWawi {
                    // JTL's increment is the creation time, which set_modified keeps.
                    rec["CreationDate"] = Value::Null;
                }
                ms += step;
                erp::set_modified(flavor, &mut rec, ms);
                list.push(rec);
            }
        }
        out.insert(stream, list);
    }
    out
}

impl MockErp {
    /// The `[[connector]]` keys that log in to this mock as `profile` (auth and, for
    /// Business Central, the company), with the secret read from `secret_file`; and the
    /// secret to write there.
    pub fn connector_keys(&self, profile: &str, secret_file: &str) -> (String, &'static str) {
        let f = secret_file;
        match profile {
            "erpnext" => (
                format!("auth = {{ kind = \"token\", token_file = \"{f}\" }}"),
                super::ERPNEXT_TOKEN,
            ),
            "weclapp" => (
                format!(
                    "auth = {{ kind = \"api_key\", header = \"AuthenticationToken\", key_file = \"{f}\" }}"
                ),
                super::WECLAPP_TOKEN,
            ),
            "sap-b1" => (
                format!(
                    "auth = {{ kind = \"sap_b1_session\", company_db = \"{}\", username = \"{}\", password_file = \"{f}\" }}",
                    super::SAP_COMPANY_DB,
                    super::SAP_USER
                ),
                super::SAP_PASSWORD,
            ),
            "business-central" => (
                format!(
                    "auth = {{ kind = \"oauth2_client_credentials\", token_url = \"{}\", client_id = \"{}\", client_secret_file = \"{f}\" }}\ncompany = \"{}\"",
                    self.bc_token_url(),
                    super::BC_CLIENT_ID,
                    super::BC_COMPANY
                ),
                super::BC_CLIENT_SECRET,
            ),
            "jtl-wawi" => (
                format!(
                    "auth = {{ kind = \"api_key\", header = \"Authorization\", prefix = \"Wawi \", key_file = \"{f}\" }}"
                ),
                super::JTL_API_KEY,
            ),
            "lexoffice" => (
                format!("auth = {{ kind = \"bearer\", token_file = \"{f}\" }}"),
                super::LEXOFFICE_TOKEN,
            ),
            _ => (
                format!("auth = {{ kind = \"bearer\", token_file = \"{f}\" }}"),
                super::XENTRAL_TOKEN,
            ),
        }
    }
}
