//! URL building, query encoding, RFC 8288 `Link` headers and URL redaction.

use url::Url;

/// Percent-encodes a query component. Unreserved characters and the OData-friendly sub-delims
/// `$ ' ( ) * , : ; @ / !` stay as they are; space becomes `%20` (not `+`, which OData servers
/// may take literally).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'$'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b','
            | b':'
            | b';'
            | b'@'
            | b'/'
            | b'!' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `base_url` + `path` + encoded parameters (in the given order).
pub fn build_url(base: &str, path: &str, params: &[(String, String)]) -> Result<Url, String> {
    let mut s = String::with_capacity(base.len() + path.len() + 64);
    s.push_str(base.trim_end_matches('/'));
    s.push_str(path);
    for (i, (k, v)) in params.iter().enumerate() {
        s.push(if i == 0 && !path.contains('?') {
            '?'
        } else {
            '&'
        });
        s.push_str(&encode_component(k));
        s.push('=');
        s.push_str(&encode_component(v));
    }
    Url::parse(&s).map_err(|e| format!("invalid URL from base_url and path `{path}`: {e}"))
}

/// Sets (replaces or appends) one query parameter, keeping the others' encoding untouched.
pub fn set_param(url: &mut Url, key: &str, value: &str) {
    let enc_key = encode_component(key);
    let mut parts: Vec<String> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let k = p.split('=').next().unwrap_or("");
            k != enc_key && decode(k) != key
        })
        .map(str::to_owned)
        .collect();
    parts.push(format!("{enc_key}={}", encode_component(value)));
    url.set_query(Some(&parts.join("&")));
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("k={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A URL fit for positions, errors and logs: user info dropped and the values of the given
/// query parameters (API keys) replaced by `***`.
pub fn redact_url(url: &Url, secret_params: &[String]) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    if !secret_params.is_empty()
        && let Some(q) = url.query()
    {
        let parts: Vec<String> = q
            .split('&')
            .map(|p| {
                let k = p.split('=').next().unwrap_or("");
                if secret_params.iter().any(|s| s == k || *s == decode(k)) {
                    format!("{k}=***")
                } else {
                    p.to_owned()
                }
            })
            .collect();
        u.set_query(Some(&parts.join("&")));
    }
    u.to_string()
}

/// The target of the `rel="next"` link of an RFC 8288 `Link` header (several header lines
/// may be passed).
pub fn link_next<'a>(headers: impl Iterator<Item = &'a str>) -> Option<String> {
    for h in headers {
        let mut rest = h;
        loop {
            let start = rest.find('<')?;
            let end = start + rest[start..].find('>')?;
            let target = &rest[start + 1..end];
            let after = &rest[end + 1..];
            // Parameters run until the next link (a `,` followed by `<`) outside quotes.
            let mut in_quotes = false;
            let mut stop = after.len();
            for (i, c) in after.char_indices() {
                match c {
                    '"' => in_quotes = !in_quotes,
                    ',' if !in_quotes && after[i + 1..].trim_start().starts_with('<') => {
                        stop = i;
                        break;
                    }
                    _ => {}
                }
            }
            let params = &after[..stop];
            for p in params.split(';') {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                if k.trim().eq_ignore_ascii_case("rel") {
                    let v = v.trim().trim_matches('"');
                    if v.split_whitespace().any(|r| r.eq_ignore_ascii_case("next")) {
                        return Some(target.to_owned());
                    }
                }
            }
            if stop >= after.len() {
                break;
            }
            rest = &after[stop + 1..];
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_urls_with_spaces_and_json() {
        let u = build_url(
            "https://erp.example.com/",
            "/api/resource/Sales Invoice",
            &[
                (
                    "filters".into(),
                    r#"[["modified",">=","2024-01-15 10:00:00"]]"#.into(),
                ),
                ("order_by".into(), "modified asc, name asc".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://erp.example.com/api/resource/Sales%20Invoice?filters=%5B%5B%22modified%22,%22%3E%3D%22,%222024-01-15%2010:00:00%22%5D%5D&order_by=modified%20asc,%20name%20asc"
        );
        let pairs: Vec<(String, String)> =
            u.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        assert_eq!(pairs[1].1, "modified asc, name asc");
    }

    #[test]
    fn set_param_replaces_and_redact_hides() {
        let mut u = Url::parse("http://h/x?%24skip=20&api_key=abc&b=1").unwrap();
        set_param(&mut u, "$skip", "40");
        assert_eq!(u.as_str(), "http://h/x?api_key=abc&b=1&$skip=40");
        assert_eq!(
            redact_url(&u, &["api_key".into()]),
            "http://h/x?api_key=***&b=1&$skip=40"
        );
        let u = Url::parse("http://user:pw@h/x").unwrap();
        assert_eq!(redact_url(&u, &[]), "http://h/x");
    }

    #[test]
    fn link_header_next() {
        let h = r#"<https://api.example.com/items?page=1>; rel="prev first", <https://api.example.com/items?page=3&q=a,b>; rel="next"; title="n, ext""#;
        assert_eq!(
            link_next([h].into_iter()).as_deref(),
            Some("https://api.example.com/items?page=3&q=a,b")
        );
        assert_eq!(link_next([r#"<x>; rel="last""#].into_iter()), None);
        assert_eq!(
            link_next([r#"<a>; rel=prev"#, r#"<b>; rel=next"#].into_iter()).as_deref(),
            Some("b")
        );
    }
}
