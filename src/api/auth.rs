//! API tokens and roles. A token is shown once when it is created; the store keeps only its
//! BLAKE3 hash (tokens are 256 random bits, so a fast hash is enough).

use rand::RngCore;
use serde::Serialize;
use std::fmt;

/// Who may do what (SPEC): sales and service read customers; cti looks up callers; ops runs
/// syncs and decides identity questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Sales,
    Service,
    Ops,
    Cti,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Sales, Role::Service, Role::Ops, Role::Cti];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sales => "sales",
            Role::Service => "service",
            Role::Ops => "ops",
            Role::Cti => "cti",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Roles allowed to read customers (search, merged view, availability).
pub const CUSTOMER_READERS: &[Role] = &[Role::Sales, Role::Service];
/// Roles allowed to look up callers.
pub const PHONE_LOOKUP: &[Role] = &[Role::Cti, Role::Sales, Role::Service];
/// Roles allowed to run syncs and decide identity questions.
pub const OPERATORS: &[Role] = &[Role::Ops];

/// A new random token: `kontor_` and 43 base64url characters.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::from("kontor_");
    // 6 bits per character from a bit stream (256 bits → 43 characters).
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            s.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        s.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    s
}

/// What the store keeps of a token.
pub fn hash_token(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// Token names: what ops will recognise (a team, an application), 1–64 characters.
pub fn valid_token_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.@ ".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), "kontor_".len() + 43);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(!hash_token(&a).contains(&a));
        assert_eq!(Role::parse("cti"), Some(Role::Cti));
        assert_eq!(Role::parse("admin"), None);
        assert!(valid_token_name("Vertrieb Nord") && !valid_token_name(""));
    }
}
