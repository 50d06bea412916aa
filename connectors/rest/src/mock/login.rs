//! How a connector signs in to each profile's mock: the one place every test that configures
//! a built-in profile against its mock takes the connector's `auth` from.

use super::{
    BC_CLIENT_ID, BC_CLIENT_SECRET, BC_COMPANY, ERPNEXT_TOKEN, Flavor, JTL_API_KEY,
    LEXOFFICE_TOKEN, MockErp, SAP_COMPANY_DB, SAP_PASSWORD, SAP_USER, WECLAPP_TOKEN, XENTRAL_TOKEN,
};

/// The secret the mock of `profile` expects: a token, API key, password or client secret.
pub fn secret_of(profile: &str) -> &'static str {
    match Flavor::profile(profile) {
        Some(Flavor::ErpNext) => ERPNEXT_TOKEN,
        Some(Flavor::SapB1) => SAP_PASSWORD,
        Some(Flavor::Weclapp) => WECLAPP_TOKEN,
        Some(Flavor::Xentral) => XENTRAL_TOKEN,
        Some(Flavor::Lexoffice) => LEXOFFICE_TOKEN,
        Some(Flavor::BusinessCentral) => BC_CLIENT_SECRET,
        Some(Flavor::JtlWawi) => JTL_API_KEY,
        Some(Flavor::Generic(_)) | None => panic!("no mock login for `{profile}`"),
    }
}

impl MockErp {
    /// The connector keys that sign in to this mock as the profile `profile`: `auth = {…}`
    /// reading [`secret_of`] from the file `secret_file`, and what the profile needs beside
    /// it (Business Central's `company`). Xentral's and lexoffice's documented rate limits
    /// (100/min, 2/s) are raised so that tests do not wait; `tests/lexoffice.rs` tests the
    /// documented one.
    pub fn connector_auth(&self, profile: &str, secret_file: &str) -> String {
        let f = secret_file;
        match Flavor::profile(profile) {
            Some(Flavor::ErpNext) => format!(r#"auth = {{ kind = "token", token_file = "{f}" }}"#),
            Some(Flavor::Weclapp) => format!(
                r#"auth = {{ kind = "api_key", header = "AuthenticationToken", key_file = "{f}" }}"#
            ),
            Some(Flavor::Xentral | Flavor::Lexoffice) => format!(
                "auth = {{ kind = \"bearer\", token_file = \"{f}\" }}\nrate_limit = \"1000/s\""
            ),
            Some(Flavor::BusinessCentral) => format!(
                "auth = {{ kind = \"oauth2_client_credentials\", token_url = \"{}\", client_id = \"{BC_CLIENT_ID}\", client_secret_file = \"{f}\" }}\ncompany = \"{BC_COMPANY}\"",
                self.bc_token_url(),
            ),
            Some(Flavor::JtlWawi) => format!(
                r#"auth = {{ kind = "api_key", header = "Authorization", prefix = "Wawi ", key_file = "{f}" }}"#
            ),
            Some(Flavor::SapB1) => format!(
                r#"auth = {{ kind = "sap_b1_session", company_db = "{SAP_COMPANY_DB}", username = "{SAP_USER}", password_file = "{f}" }}"#
            ),
            Some(Flavor::Generic(_)) | None => panic!("no mock login for `{profile}`"),
        }
    }
}
