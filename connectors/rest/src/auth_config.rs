//! Validation of `auth = { kind = ..., ... }` from the connector settings.

use crate::auth::{AuthKind, Plain};
use crate::config::AuthSettings;
use crate::secret::SecretRef;
use kontor_connector::{ConfigError, ConfigPart};
use reqwest::header::HeaderName;
use std::path::Path;
use url::Url;

/// Validates `auth = {...}` into an [`AuthKind`]; relative secret files are resolved against
/// the config folder.
pub fn auth_kind(
    a: &AuthSettings,
    base_url: &Url,
    base_dir: &Path,
) -> Result<AuthKind, ConfigError> {
    let cerr = |key: &str, msg: String| ConfigError::new(ConfigPart::Settings, &["auth", key], msg);
    for (key, v) in [
        ("token", &a.token),
        ("key", &a.key),
        ("api_key", &a.api_key),
        ("secret", &a.secret),
        ("api_secret", &a.api_secret),
        ("password", &a.password),
        ("client_secret", &a.client_secret),
    ] {
        if v.is_some() {
            return Err(cerr(
                key,
                format!(
                    "secrets must not be written into the config; use {key}_env = \"VAR\" or {key}_file = \"path\""
                ),
            ));
        }
    }
    let file = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base_dir.join(p)
        }
    };
    let secret = |env: &Option<String>, f: &Option<String>, name: &str| match (env, f) {
        (Some(e), None) => Ok(SecretRef::Env(e.clone())),
        (None, Some(p)) => Ok(SecretRef::File(file(p))),
        (Some(_), Some(_)) => Err(cerr(
            &format!("{name}_file"),
            format!("give either {name}_env or {name}_file, not both"),
        )),
        (None, None) => Err(cerr(
            &format!("{name}_env"),
            format!("auth kind `{}` needs {name}_env or {name}_file", a.kind),
        )),
    };
    let plain = |inline: &Option<String>, env: &Option<String>, name: &str| match (inline, env) {
        (Some(v), None) => Ok(Plain::Inline(v.clone())),
        (None, Some(e)) => Ok(Plain::Env(e.clone())),
        _ => Err(cerr(
            name,
            format!("give exactly one of {name} or {name}_env"),
        )),
    };
    // Keys each kind accepts (besides `kind`).
    let allowed: &[&str] = match a.kind.as_str() {
        "none" => &[],
        "bearer" | "token" => &["token_env", "token_file"],
        "api_key" => &["key_env", "key_file", "header", "query_param", "prefix"],
        "basic" => &["username", "username_env", "password_env", "password_file"],
        "sap_b1_session" => &[
            "username",
            "username_env",
            "password_env",
            "password_file",
            "company_db",
            "login_path",
        ],
        "oauth2_client_credentials" => &[
            "token_url",
            "tenant",
            "client_id",
            "client_id_env",
            "client_secret_env",
            "client_secret_file",
            "scope",
            "client_auth",
        ],
        other => {
            return Err(cerr(
                "kind",
                format!(
                    "unknown auth kind `{other}` (bearer, api_key, basic, token, sap_b1_session, oauth2_client_credentials, none)"
                ),
            ));
        }
    };
    let given = [
        ("token_env", a.token_env.is_some()),
        ("token_file", a.token_file.is_some()),
        ("key_env", a.key_env.is_some()),
        ("key_file", a.key_file.is_some()),
        ("header", a.header.is_some()),
        ("query_param", a.query_param.is_some()),
        ("prefix", a.prefix.is_some()),
        ("username", a.username.is_some()),
        ("username_env", a.username_env.is_some()),
        ("password_env", a.password_env.is_some()),
        ("password_file", a.password_file.is_some()),
        ("company_db", a.company_db.is_some()),
        ("login_path", a.login_path.is_some()),
        ("token_url", a.token_url.is_some()),
        ("tenant", a.tenant.is_some()),
        ("client_id", a.client_id.is_some()),
        ("client_id_env", a.client_id_env.is_some()),
        ("client_secret_env", a.client_secret_env.is_some()),
        ("client_secret_file", a.client_secret_file.is_some()),
        ("scope", a.scope.is_some()),
        ("client_auth", a.client_auth.is_some()),
    ];
    if let Some((k, _)) = given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
        return Err(cerr(k, format!("not used by auth kind `{}`", a.kind)));
    }
    Ok(match a.kind.as_str() {
        "none" => AuthKind::None,
        "bearer" => AuthKind::Bearer(secret(&a.token_env, &a.token_file, "token")?),
        "token" => AuthKind::Token(secret(&a.token_env, &a.token_file, "token")?),
        "api_key" => AuthKind::ApiKey {
            key: secret(&a.key_env, &a.key_file, "key")?,
            header: HeaderName::from_bytes(a.header.as_deref().unwrap_or("X-API-Key").as_bytes())
                .map_err(|_| cerr("header", "not a valid header name".into()))?,
            query_param: a.query_param.clone(),
            prefix: a.prefix.clone().unwrap_or_default(),
        },
        "basic" => AuthKind::Basic {
            username: plain(&a.username, &a.username_env, "username")?,
            password: secret(&a.password_env, &a.password_file, "password")?,
        },
        "sap_b1_session" => AuthKind::SapB1Session {
            company_db: a
                .company_db
                .clone()
                .ok_or_else(|| cerr("company_db", "sap_b1_session needs company_db".into()))?,
            username: plain(&a.username, &a.username_env, "username")?,
            password: secret(&a.password_env, &a.password_file, "password")?,
            login_url: crate::paging::build_url(
                base_url.as_str(),
                a.login_path.as_deref().unwrap_or("/b1s/v1/Login"),
                &[],
            )
            .map_err(|e| cerr("login_path", e))?,
        },
        "oauth2_client_credentials" => AuthKind::OAuth2 {
            token_url: match (&a.token_url, &a.tenant) {
                (Some(u), None) => Url::parse(u).map_err(|e| cerr("token_url", e.to_string()))?,
                (None, Some(t)) => entra_token_url(t).map_err(|e| cerr("tenant", e))?,
                (Some(_), Some(_)) => {
                    return Err(cerr(
                        "tenant",
                        "give either token_url or tenant (Microsoft Entra ID), not both".into(),
                    ));
                }
                (None, None) => {
                    return Err(cerr(
                        "token_url",
                        "oauth2 needs token_url, or tenant for Microsoft Entra ID".into(),
                    ));
                }
            },
            client_id: plain(&a.client_id, &a.client_id_env, "client_id")?,
            client_secret: secret(&a.client_secret_env, &a.client_secret_file, "client_secret")?,
            scope: a.scope.clone(),
            basic: match a.client_auth.as_deref() {
                None | Some("basic") => true,
                Some("post") => false,
                Some(o) => {
                    return Err(cerr("client_auth", format!("`{o}`: basic or post")));
                }
            },
        },
        _ => unreachable!("checked above"),
    })
}

/// The Microsoft Entra ID (v2.0) token endpoint of a tenant, given by its id (a GUID) or one of
/// its domains (`contoso.onmicrosoft.com`):
/// <https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow>.
pub fn entra_token_url(tenant: &str) -> Result<Url, String> {
    let t = tenant.trim();
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(format!(
            "`{tenant}` is not a tenant id or domain (letters, digits, `-`, `.`)"
        ));
    }
    Url::parse(&format!(
        "https://login.microsoftonline.com/{t}/oauth2/v2.0/token"
    ))
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(t: &str) -> AuthSettings {
        toml::from_str(t).unwrap()
    }

    #[test]
    fn inline_secrets_and_foreign_keys_are_rejected() {
        let base = Url::parse("https://erp").unwrap();
        let err = auth_kind(
            &settings("kind = 'bearer'\ntoken = 'abc'"),
            &base,
            Path::new("."),
        )
        .unwrap_err();
        assert_eq!(err.key, ["auth", "token"]);
        assert!(!err.to_string().contains("abc"));
        let err = auth_kind(
            &settings("kind = 'bearer'\ntoken_env = 'X'\ncompany_db = 'D'"),
            &base,
            Path::new("."),
        )
        .unwrap_err();
        assert_eq!(err.key, ["auth", "company_db"]);
        let err = auth_kind(
            &settings("kind = 'basic'\nusername = 'u'"),
            &base,
            Path::new("."),
        )
        .unwrap_err();
        assert_eq!(err.key, ["auth", "password_env"]);
        let k = auth_kind(
            &settings("kind = 'token'\ntoken_file = 'secrets/erpnext'"),
            &base,
            Path::new("/etc/kontor"),
        )
        .unwrap();
        assert!(
            matches!(k, AuthKind::Token(SecretRef::File(p)) if p == Path::new("/etc/kontor/secrets/erpnext"))
        );
    }

    #[test]
    fn oauth2_token_url_from_an_entra_tenant() {
        let base = Url::parse("https://api.businesscentral.dynamics.com/v2.0/Production").unwrap();
        let k = auth_kind(
            &settings(
                "kind = 'oauth2_client_credentials'\ntenant = 'contoso.onmicrosoft.com'\nclient_id = 'app'\nclient_secret_env = 'S'",
            ),
            &base,
            Path::new("."),
        )
        .unwrap();
        assert!(
            matches!(&k, AuthKind::OAuth2 { token_url, .. } if token_url.as_str() == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"),
            "{k:?}"
        );
        for bad in [
            "tenant = 'x/../evil'\ntoken_url = 'https://t'",
            "tenant = 'evil.com/x?'",
            "client_auth = 'post'",
        ] {
            let t = format!(
                "kind = 'oauth2_client_credentials'\nclient_id = 'app'\nclient_secret_env = 'S'\n{bad}"
            );
            let err = auth_kind(&settings(&t), &base, Path::new(".")).unwrap_err();
            assert!(
                err.key == ["auth", "tenant"] || err.key == ["auth", "token_url"],
                "{bad}: {err}"
            );
        }
    }
}
