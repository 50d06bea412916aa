//! Finding a person in free text, precisely: an exact e-mail address, a phone number in any
//! notation that parses to the same E.164 number, or the full name as whole words (case and
//! umlauts folded, in the given order or surname first). Never substrings: erasing "e" or
//! "Meyer" alone is refused before it gets here (see [`Identifiers::parse`]).

use crate::identity::normalize::fold;
use crate::model::phone::parse_phone;
use regex::Regex;
use std::sync::LazyLock;

/// What erased text is replaced with.
pub const ERASED: &str = "[gelöscht]";

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+").expect("valid regex")
});
/// A run of digits with the separators of written phone numbers.
static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\(?[0-9][0-9 /().\-]{4,}[0-9]").expect("valid regex"));
static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\p{L}\p{M}\p{N}]+").expect("valid regex"));

/// A person's identifiers in comparable form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identifiers {
    /// Lower case.
    pub emails: Vec<String>,
    /// E.164.
    pub phones: Vec<String>,
    /// Each name as its folded words (at least two).
    pub names: Vec<Vec<String>>,
    pub region: String,
}

impl Identifiers {
    /// Checks and normalises what identifies a person; every problem is named.
    pub fn parse(
        email: Option<&str>,
        phone: Option<&str>,
        name: Option<&str>,
        region: &str,
    ) -> Result<Self, String> {
        let mut ids = Identifiers {
            region: region.to_owned(),
            ..Default::default()
        };
        if let Some(e) = email.map(str::trim).filter(|e| !e.is_empty()) {
            let e = e.to_lowercase();
            let ok = EMAIL.find(&e).is_some_and(|m| m.as_str() == e) && e.matches('@').count() == 1;
            if !ok {
                return Err(format!("email `{e}` is not an e-mail address"));
            }
            ids.emails.push(e);
        }
        if let Some(p) = phone.map(str::trim).filter(|p| !p.is_empty()) {
            let parsed = parse_phone(p, region)
                .map_err(|e| format!("phone `{p}` is not a phone number: {e}"))?;
            if parsed.e164.trim_start_matches('+').len() < 6 {
                return Err(format!("phone `{p}` is too short to name one person"));
            }
            ids.phones.push(parsed.e164);
        }
        if let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) {
            let words: Vec<String> = words(n).map(|(_, w)| w).collect();
            if words.len() < 2 || words.iter().any(|w| w.chars().count() < 2) {
                return Err(format!(
                    "name `{n}`: give the full name (first and last name, whole words of two or more letters)"
                ));
            }
            ids.names.push(words);
        }
        if ids.is_empty() {
            return Err("name an e-mail, a phone number or a full name".into());
        }
        Ok(ids)
    }

    pub fn is_empty(&self) -> bool {
        self.emails.is_empty() && self.phones.is_empty() && self.names.is_empty()
    }

    /// Does a (folded) full name equal one of the names, in order or surname first?
    pub fn is_name(&self, full: &str) -> bool {
        let w: Vec<String> = words(full).map(|(_, w)| w).collect();
        self.names.iter().any(|n| w == *n || w == surname_first(n))
    }

    pub fn is_email(&self, e: &str) -> bool {
        let e = e.trim().to_lowercase();
        !e.is_empty() && self.emails.contains(&e)
    }

    pub fn is_phone(&self, p: &str) -> bool {
        if self.phones.is_empty() {
            return false;
        }
        let e164 = if p.starts_with('+') && p[1..].bytes().all(|b| b.is_ascii_digit()) {
            p.to_owned()
        } else {
            match parse_phone(p, &self.region) {
                Ok(x) => x.e164,
                Err(_) => return false,
            }
        };
        self.phones.contains(&e164)
    }

    /// `text` with every mention of the person replaced by [`ERASED`]; `None` when there is none.
    pub fn redact(&self, text: &str) -> Option<String> {
        self.redact_words(text, false)
    }

    /// A row's columns redacted: when any of them mentions the person (an e-mail, a phone
    /// number, the full name), the row is about them, and each word of their name is erased in
    /// every column too ("Quastenflosser meldet Schaden"). `None` when the row does not
    /// mention them.
    pub fn redact_row(&self, cols: &[Option<String>]) -> Option<Vec<Option<String>>> {
        if !cols.iter().flatten().any(|c| self.redact(c).is_some()) {
            return None;
        }
        Some(
            cols.iter()
                .map(|c| {
                    c.as_ref()
                        .map(|c| self.redact_words(c, true).unwrap_or_else(|| c.clone()))
                })
                .collect(),
        )
    }

    fn redact_words(&self, text: &str, single_words: bool) -> Option<String> {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        if !self.emails.is_empty() {
            for m in EMAIL.find_iter(text) {
                if self.is_email(m.as_str().trim_end_matches('.')) {
                    spans.push((m.start(), m.end()));
                }
            }
        }
        if !self.phones.is_empty() {
            for m in PHONE.find_iter(text) {
                if self.is_phone(m.as_str()) {
                    spans.push((m.start(), m.end()));
                }
            }
        }
        if !self.names.is_empty() {
            let toks: Vec<((usize, usize), String)> = words(text).collect();
            if single_words {
                spans.extend(
                    toks.iter()
                        .filter(|t| self.names.iter().any(|n| n.contains(&t.1)))
                        .map(|t| t.0),
                );
            }
            for n in &self.names {
                for order in [n.clone(), surname_first(n)] {
                    if order.len() > toks.len() {
                        continue;
                    }
                    for i in 0..=toks.len() - order.len() {
                        let run = &toks[i..i + order.len()];
                        let adjacent = run.windows(2).all(|p| gap_ok(&text[p[0].0.1..p[1].0.0]));
                        if adjacent && run.iter().zip(&order).all(|(t, w)| t.1 == *w) {
                            // Each word on its own: separators (a CSV row's `;`) stay.
                            spans.extend(run.iter().map(|t| t.0));
                        }
                    }
                }
            }
        }
        if spans.is_empty() {
            return None;
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (s, e) in spans {
            if s < at {
                if e > at {
                    at = e;
                }
                continue;
            }
            out.push_str(&text[at..s]);
            out.push_str(ERASED);
            at = e;
        }
        out.push_str(&text[at..]);
        Some(out)
    }

    /// A JSON value with every string redacted; `true` when something changed.
    pub fn redact_json(&self, v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => match self.redact(s) {
                Some(r) => {
                    *s = r;
                    true
                }
                None => false,
            },
            serde_json::Value::Array(a) => a.iter_mut().fold(false, |c, x| self.redact_json(x) | c),
            serde_json::Value::Object(o) => {
                o.values_mut().fold(false, |c, x| self.redact_json(x) | c)
            }
            _ => false,
        }
    }
}

/// E-mail-like tokens of a text.
pub fn email_candidates(text: &str) -> impl Iterator<Item = String> + '_ {
    EMAIL
        .find_iter(text)
        .map(|m| m.as_str().trim_end_matches('.').to_owned())
}

/// Phone-number-like runs of a text.
pub fn phone_candidates(text: &str) -> impl Iterator<Item = String> + '_ {
    PHONE.find_iter(text).map(|m| m.as_str().to_owned())
}

/// Between two words of one name: spaces, a comma, a hyphen, a field separator.
fn gap_ok(gap: &str) -> bool {
    gap.chars().count() <= 3
        && gap
            .chars()
            .all(|c| c.is_whitespace() || ",;-.|\t\"'".contains(c))
}

fn surname_first(n: &[String]) -> Vec<String> {
    let mut v = Vec::with_capacity(n.len());
    if let Some((last, rest)) = n.split_last() {
        v.push(last.clone());
        v.extend(rest.iter().cloned());
    }
    v
}

/// Words of a text with their byte spans, folded (`Müller` → `mueller`).
pub fn words(text: &str) -> impl Iterator<Item = ((usize, usize), String)> + '_ {
    WORD.find_iter(text)
        .map(|m| ((m.start(), m.end()), fold(m.as_str()).replace(' ', "")))
        .filter(|(_, w)| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(e: Option<&str>, p: Option<&str>, n: Option<&str>) -> Identifiers {
        Identifiers::parse(e, p, n, "DE").unwrap()
    }

    #[test]
    fn vague_identifiers_are_refused() {
        for (e, p, n) in [
            (None, None, Some("e")),
            (None, None, Some("Meyer")),
            (None, None, Some("A. Meyer")),
            (Some("e"), None, None),
            (Some("@x.de"), None, None),
            (None, Some("12"), None),
            (None, Some("siehe Notiz"), None),
            (None, None, None),
        ] {
            assert!(
                Identifiers::parse(e, p, n, "DE").is_err(),
                "{e:?} {p:?} {n:?}"
            );
        }
    }

    #[test]
    fn whole_words_exact_addresses_and_any_phone_notation() {
        let i = ids(
            Some("Hildegard@Quasten.de"),
            Some("0221 1234567"),
            Some("Hildegard Quastenflosser"),
        );
        let t = "Rückruf: Frau hildegard QUASTENFLOSSER (hildegard@quasten.de, Tel. +49 (0)221 123 45 67) – \
                 Quastenflosser, Hildegard. Nicht: Hildegardis Quastenflosserin, xhildegard@quasten.de, 0221 1234568";
        let r = i.redact(t).unwrap();
        assert_eq!(r.matches(ERASED).count(), 6, "{r}");
        for kept in [
            "Hildegardis Quastenflosserin",
            "xhildegard@quasten.de",
            "0221 1234568",
        ] {
            assert!(r.contains(kept), "{kept} in {r}");
        }
        assert_eq!(i.redact("Beschwerde über eine Lieferung"), None);
        // Umlauts folded both ways; a CSV row keeps its columns.
        let m = ids(None, None, Some("Jürgen Müller"));
        assert_eq!(
            m.redact("70001;Juergen;Mueller;x").as_deref(),
            Some("70001;[gelöscht];[gelöscht];x")
        );
        assert!(m.is_name("MÜLLER, JÜRGEN") && !m.is_name("Jürgen Müller-Lüdenscheidt"));
    }
}
