//! People's accounts: argon2id password hashes, session ids and their CSRF tokens.
//!
//! A session id is 256 random bits (the cookie's value); the store keeps its BLAKE3 hash. The
//! CSRF token is derived from the session id with a keyed BLAKE3 (another function than the
//! stored hash), so the server can check it without storing it and the store's hash does not
//! give it away.

use super::auth::{Role, hash_token, new_token};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;

/// The cookie that carries the session id.
pub const SESSION_COOKIE: &str = "kontor_session";
/// The header that carries the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The shortest password `kontor user add` accepts.
pub const MIN_PASSWORD: usize = 10;

/// Roles people can have (cti is for the telephone system's token).
pub const PERSON_ROLES: [Role; 3] = [Role::Sales, Role::Service, Role::Ops];

/// An argon2id hash (PHC string) of `password` with a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches `hash` (a PHC string). `None` (no such user, or no password):
/// verifies against a dummy hash, so that an unknown name takes as long as a wrong password.
pub fn verify_password(hash: Option<&str>, password: &str) -> bool {
    let dummy = dummy_hash();
    let (phc, real) = match hash {
        Some(h) => (h, true),
        None => (dummy, false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        // A damaged hash: still spend the time.
        if let Ok(d) = PasswordHash::new(dummy) {
            let _ = Argon2::default().verify_password(password.as_bytes(), &d);
        }
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password(&new_token()).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$W8n7S5Yy0t7R2VY5d7v0pS2w8x4mV9qW6cF7tJ8yQ0Q".into()
        })
    })
}

/// Checks the password's quality for a new account (length only: a pass phrase is fine).
pub fn password_problem(password: &str) -> Option<String> {
    (password.chars().count() < MIN_PASSWORD)
        .then(|| format!("the password must have at least {MIN_PASSWORD} characters"))
}

/// User names: 1–64 letters, digits and `- _ . @` (an e-mail address works).
pub fn valid_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.@".contains(c))
}

/// A new session id (the cookie's value) and the hash the store keeps.
pub fn new_session() -> (String, String) {
    let id = new_token().replacen("kontor_", "", 1);
    let hash = session_hash(&id);
    (id, hash)
}

/// What the store keeps of a session id.
pub fn session_hash(id: &str) -> String {
    hash_token(id)
}

/// The CSRF token of a session.
pub fn csrf_token(session_id: &str) -> String {
    blake3::derive_key("kontor 2026 session csrf token", session_id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `given` is the session's CSRF token (compared in constant time).
pub fn csrf_ok(session_id: &str, given: &str) -> bool {
    constant_eq(&csrf_token(session_id), given)
}

/// `a == b` in a time that does not depend on where they differ.
pub fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The session id in a `Cookie` header, if any.
pub fn session_cookie(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value of a new session (`Secure` behind https).
pub fn set_cookie(session_id: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={session_id}; HttpOnly; SameSite=Strict; Path=/{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("Korrekt Pferd Batterie").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(Some(&h), "Korrekt Pferd Batterie"));
        assert!(!verify_password(Some(&h), "korrekt pferd batterie"));
        assert!(!verify_password(None, "Korrekt Pferd Batterie"));
        assert!(!verify_password(Some("not a hash"), "x"));
        assert!(password_problem("kurz").is_some());
        assert!(password_problem("lang genug!").is_none());
    }

    #[test]
    fn sessions_cookies_and_csrf() {
        let (id, hash) = new_session();
        assert_eq!(id.len(), 43);
        assert!(!hash.contains(&id));
        let csrf = csrf_token(&id);
        assert_ne!(csrf, hash);
        assert!(csrf_ok(&id, &csrf));
        assert!(!csrf_ok(&id, &csrf_token(&new_session().0)));
        assert!(!csrf_ok(&id, ""));
        let header = format!("a=b; {SESSION_COOKIE}={id}; c=d");
        assert_eq!(session_cookie(&header), Some(id.as_str()));
        assert_eq!(session_cookie("a=b"), None);
        assert!(set_cookie(&id, true).ends_with("; Secure"));
        assert!(!set_cookie(&id, false).contains("Secure"));
        assert!(valid_user_name("anna.schmidt@example.de") && !valid_user_name("a b"));
    }
}
