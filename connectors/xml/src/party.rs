//! Parties of a document (buyer, seller), the rule that picks their number, the synthetic key
//! of a party without any identifier, and who "we" are (the direction of an invoice).

use crate::model::set;
use serde::Serialize;

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// ISO 3166 alpha-2 when the document has it coded, else the country name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        *self == Address::default()
    }
}

/// A party (buyer or seller).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Party {
    /// The buyer's chosen customer number (see the crate README for the rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_no: Option<String>,
    /// Where `customer_no` came from: `party_id`, `gln`, `vat_id`, `endpoint` or `synthetic`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_no_source: Option<&'static str>,
    /// The seller's number, chosen by the same rule (a supplier when the buyer is us).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier_no_source: Option<&'static str>,
    /// Party identification (UBL `PartyIdentification/ID`, CII `ram:ID`, openTRANS `PARTY_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
    /// The scheme or openTRANS `type` of `party_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party_id_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trade_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gln: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    /// Electronic address (UBL `EndpointID`, CII `URIUniversalCommunication/URIID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_scheme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(skip_serializing_if = "Address::is_empty")]
    pub address: Address,
}

impl Party {
    /// Applies the number rule of the e-invoice profiles: party identification, then GLN, then
    /// VAT ID, then the electronic address, then the synthetic key of name and address. Also
    /// uses an `EM` endpoint as e-mail when no contact e-mail is given, and a `0088` endpoint
    /// as GLN.
    pub fn finish_einvoice(&mut self) {
        if self.name.is_none() {
            self.name.clone_from(&self.trade_name);
        }
        if let (Some(ep), Some(scheme)) = (&self.endpoint, &self.endpoint_scheme) {
            match scheme.as_str() {
                "EM" => set(&mut self.email, &ep.clone()),
                "0088" => set(&mut self.gln, &ep.clone()),
                _ => {}
            }
        }
        let candidates = [
            ("party_id", self.party_id.clone()),
            ("gln", self.gln.clone()),
            ("vat_id", self.vat_id.clone()),
            ("endpoint", self.endpoint.clone()),
        ];
        self.choose(candidates);
        self.choose_synthetic();
    }

    /// A party known only by name (and address) gets the synthetic key `name:<hash>`.
    pub fn choose_synthetic(&mut self) {
        if self.customer_no.is_none()
            && let Some(key) = synthetic_key(self)
        {
            self.customer_no = Some(key);
            self.customer_no_source = Some("synthetic");
        }
    }

    /// The seller: the number chosen by the rule is its supplier number (ours for it, when we
    /// buy from it), not a customer number.
    pub fn into_seller(mut self) -> Self {
        self.supplier_no = self.customer_no.take();
        self.supplier_no_source = self.customer_no_source.take();
        self
    }

    pub fn choose<const N: usize>(&mut self, candidates: [(&'static str, Option<String>); N]) {
        if self.customer_no.is_some() {
            return;
        }
        if let Some((src, v)) = candidates.into_iter().find_map(|(s, v)| v.map(|v| (s, v))) {
            self.customer_no = Some(v);
            self.customer_no_source = Some(src);
        }
    }
}

/// The stable key of a party that carries no identifier (EN 16931 requires only the buyer's
/// name and country): `name:` and the first 16 hex digits of the BLAKE3 hash of
/// `name|postcode|country`, each normalised — the name lower-cased with umlauts folded
/// (`ä` → `ae`, `ß` → `ss`, accents dropped), every run of other characters one space; the
/// postcode upper-cased without spaces; the country upper-cased. `None` without a name.
pub fn synthetic_key(p: &Party) -> Option<String> {
    let name = fold_name(p.name.as_deref().or(p.trade_name.as_deref())?);
    if name.is_empty() {
        return None;
    }
    let postcode: String = p
        .address
        .postcode
        .as_deref()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect();
    let country = p
        .address
        .country
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_uppercase();
    let text = format!("{name}|{postcode}|{country}");
    let hash = blake3::hash(text.as_bytes()).to_hex();
    Some(format!("name:{}", &hash[..16]))
}

/// A name folded for comparison: lower case, German umlauts spelled out, accents dropped,
/// everything that is not a letter or digit one space.
pub fn fold_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        let folded: &str = match c {
            'ä' => "ae",
            'ö' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            'à' | 'á' | 'â' | 'ã' | 'å' => "a",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ø' => "o",
            'ù' | 'ú' | 'û' => "u",
            'ý' | 'ÿ' => "y",
            c if c.is_alphanumeric() => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(c);
                continue;
            }
            _ => {
                space = true;
                continue;
            }
        };
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push_str(folded);
    }
    out
}

/// Who "we" are: `[identity] own_vat_ids` and own GLNs. An invoice whose buyer is one of them
/// was received (its seller is a supplier); any other was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnParty {
    vat_ids: Vec<String>,
    glns: Vec<String>,
}

impl OwnParty {
    pub fn new(vat_ids: &[String], glns: &[String]) -> Self {
        Self {
            vat_ids: vat_ids
                .iter()
                .map(|v| norm_id(v))
                .filter(|v| !v.is_empty())
                .collect(),
            glns: glns
                .iter()
                .map(|v| norm_id(v))
                .filter(|v| !v.is_empty())
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.vat_ids.is_empty() && self.glns.is_empty()
    }

    /// Whether the party is us (by VAT ID or GLN; the VAT ID also as written in an endpoint).
    pub fn is_us(&self, p: &Party) -> bool {
        let vat = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|v| self.vat_ids.contains(&norm_id(v)))
        };
        let gln = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|v| self.glns.contains(&norm_id(v)))
        };
        vat(&p.vat_id)
            || gln(&p.gln)
            || (p.endpoint_scheme.as_deref() == Some("9930") && vat(&p.endpoint))
    }
}

/// VAT IDs and GLNs compare upper-cased, letters and digits only (`DE 123.456.788`).
fn norm_id(v: &str) -> String {
    v.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_rule_and_synthetic_key() {
        let mut p = Party {
            vat_id: Some("DE1".into()),
            endpoint: Some("a@b.de".into()),
            endpoint_scheme: Some("EM".into()),
            ..Party::default()
        };
        p.finish_einvoice();
        assert_eq!(
            (p.customer_no.as_deref(), p.customer_no_source),
            (Some("DE1"), Some("vat_id"))
        );
        assert_eq!(p.email.as_deref(), Some("a@b.de"));
        let mut p = Party {
            party_id: Some("K-7".into()),
            gln: Some("4000001000005".into()),
            ..Party::default()
        };
        p.finish_einvoice();
        assert_eq!(p.customer_no.as_deref(), Some("K-7"));

        // Only a name and an address: a stable key from the normalised name, postcode, country.
        let named = |name: &str, postcode: &str, country: &str| {
            let mut p = Party {
                name: Some(name.into()),
                address: Address {
                    postcode: Some(postcode.into()),
                    country: Some(country.into()),
                    ..Address::default()
                },
                ..Party::default()
            };
            p.finish_einvoice();
            assert_eq!(p.customer_no_source, Some("synthetic"));
            p.customer_no.unwrap()
        };
        let a = named("Müller & Söhne GmbH", "50667", "DE");
        assert!(a.starts_with("name:") && a.len() == 21, "{a}");
        assert_eq!(a, named("  MÜLLER  &  SÖHNE  GmbH ", "50667", "DE"));
        assert_eq!(a, named("mueller - soehne gmbh", "50 667", "de"));
        assert_ne!(a, named("Müller & Söhne GmbH", "50668", "DE"));
        assert_ne!(a, named("Müller & Söhne GmbH", "50667", "AT"));
        // Without a name there is no key (the mapping then rejects the document).
        let mut nameless = Party::default();
        nameless.finish_einvoice();
        assert_eq!(nameless.customer_no, None);
        assert_eq!(fold_name("Société Générale S.A."), "societe generale s a");
    }

    #[test]
    fn own_party_by_vat_id_or_gln() {
        let own = OwnParty::new(&["DE 123 456 788".into()], &["4000001000005".into()]);
        let p = |vat: Option<&str>, gln: Option<&str>| Party {
            vat_id: vat.map(str::to_owned),
            gln: gln.map(str::to_owned),
            ..Party::default()
        };
        assert!(own.is_us(&p(Some("de123456788"), None)));
        assert!(own.is_us(&p(None, Some("4000001000005"))));
        assert!(!own.is_us(&p(Some("DE999999999"), None)));
        assert!(!OwnParty::default().is_us(&p(Some("DE123456788"), None)));
        assert!(OwnParty::new(&[" ".into()], &[]).is_empty());
    }
}
