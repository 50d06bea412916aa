//! Paths into tree records (XML converted to JSON, JSON from APIs):
//! `BUYER/PARTY_ID`, `@type`, `lines[2]`, `PARTY[PARTY_ROLE='buyer']`, `PARTY_ID[@type='x']`.

use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreePath {
    pub absolute: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub select: Option<Select>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    Index(usize),
    Filter { key: String, value: String },
}

impl TreePath {
    pub fn parse(s: &str) -> Result<TreePath, String> {
        let absolute = s.starts_with('/');
        let body = s.trim_start_matches('/');
        if body.is_empty() {
            return Err(format!("path `{s}` is empty"));
        }
        let mut steps = Vec::new();
        for part in split_steps(body) {
            steps.push(parse_step(&part).map_err(|e| format!("path `{s}`: {e}"))?);
        }
        Ok(TreePath { absolute, steps })
    }

    /// A path that looks up exactly one top-level key (for `column = "…"` on trees).
    pub fn key(name: &str) -> TreePath {
        TreePath {
            absolute: false,
            steps: vec![Step {
                name: name.to_owned(),
                select: None,
            }],
        }
    }

    /// The value at this path; `ctx` is the current element (inside `each`), `root` the record.
    pub fn resolve<'a>(&self, root: &'a Value, ctx: &'a Value) -> Option<&'a Value> {
        let mut cur = if self.absolute { root } else { ctx };
        for step in &self.steps {
            if let Value::Array(items) = cur {
                cur = items.first()?;
            }
            let mut next = cur.get(step.name.as_str())?;
            match &step.select {
                None => {}
                Some(Select::Index(i)) => {
                    next = match next {
                        Value::Array(items) => items.get(*i)?,
                        other if *i == 0 => other,
                        _ => return None,
                    }
                }
                Some(Select::Filter { key, value }) => {
                    let hit = |el: &Value| {
                        el.get(key.as_str())
                            .and_then(scalar)
                            .is_some_and(|v| v == value.as_str())
                    };
                    next = match next {
                        Value::Array(items) => items.iter().find(|el| hit(el))?,
                        other if hit(other) => other,
                        _ => return None,
                    }
                }
            }
            cur = next;
        }
        Some(cur)
    }
}

fn split_steps(body: &str) -> Vec<String> {
    // '/' inside a [filter='a/b'] does not split.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for c in body.chars() {
        match (c, quote) {
            ('\'' | '"', None) if depth > 0 => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('[', None) => depth += 1,
            (']', None) => depth -= 1,
            ('/', None) if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

fn parse_step(part: &str) -> Result<Step, String> {
    let (name, select) = match part.find('[') {
        None => (part, None),
        Some(i) => {
            let inner = part[i + 1..]
                .strip_suffix(']')
                .ok_or_else(|| format!("`{part}`: missing `]`"))?;
            (&part[..i], Some(parse_select(inner)?))
        }
    };
    if name.is_empty() {
        return Err(format!("`{part}`: empty step"));
    }
    if name.contains(['[', ']', '=', '\'', '"']) {
        return Err(format!("`{part}`: invalid name"));
    }
    Ok(Step {
        name: name.to_owned(),
        select,
    })
}

fn parse_select(inner: &str) -> Result<Select, String> {
    if let Ok(i) = inner.trim().parse::<usize>() {
        return Ok(Select::Index(i));
    }
    let (key, value) = inner
        .split_once('=')
        .ok_or_else(|| format!("`[{inner}]`: expected an index or key='value'"))?;
    let value = value.trim();
    let unquoted = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
        .ok_or_else(|| format!("`[{inner}]`: quote the value: key='value'"))?;
    Ok(Select::Filter {
        key: key.trim().to_owned(),
        value: unquoted.to_owned(),
    })
}

/// The text of a scalar value: strings, numbers (exact text), booleans, an element's `#text`,
/// the first element of an array. `None` for null and objects without text.
pub fn scalar(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        Value::Object(m) => m.get("#text").and_then(scalar),
        Value::Array(items) => items.first().and_then(scalar),
        Value::Null => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(doc: &Value, p: &str) -> Option<String> {
        TreePath::parse(p)
            .unwrap()
            .resolve(doc, doc)
            .and_then(scalar)
            .map(|c| c.into_owned())
    }

    #[test]
    fn steps_attributes_indexes_and_filters() {
        let doc: Value = serde_json::from_str(r##"{
            "PARTIES": {"PARTY": [
                {"PARTY_ROLE": "supplier", "PARTY_ID": {"@type": "x", "#text": "S1"}},
                {"PARTY_ROLE": "buyer", "PARTY_ID": [{"@type": "buyer_specific", "#text": "B9"}, {"@type": "supplier_specific", "#text": "0042"}]}
            ]},
            "lines": [{"qty": 1.50}, {"qty": 2}],
            "amount": 1234.5678901234567890123
        }"##).unwrap();
        assert_eq!(
            get(
                &doc,
                "PARTIES/PARTY[PARTY_ROLE='buyer']/PARTY_ID[@type='supplier_specific']"
            )
            .as_deref(),
            Some("0042")
        );
        assert_eq!(
            get(&doc, "PARTIES/PARTY/PARTY_ID/@type").as_deref(),
            Some("x")
        );
        assert_eq!(
            get(&doc, "PARTIES/PARTY[1]/PARTY_ROLE").as_deref(),
            Some("buyer")
        );
        assert_eq!(get(&doc, "lines[1]/qty").as_deref(), Some("2"));
        assert_eq!(
            get(&doc, "amount").as_deref(),
            Some("1234.5678901234567890123")
        );
        assert_eq!(
            get(&doc, "PARTIES/PARTY[PARTY_ROLE='delivery']/PARTY_ID"),
            None
        );
        assert_eq!(get(&doc, "nothing/here"), None);
    }

    #[test]
    fn relative_and_absolute() {
        let doc = json!({"number": "A1", "lines": [{"sku": "X"}]});
        let line = &doc["lines"][0];
        let abs = TreePath::parse("/number").unwrap();
        assert_eq!(
            abs.resolve(&doc, line).and_then(scalar).as_deref(),
            Some("A1")
        );
        let rel = TreePath::parse("sku").unwrap();
        assert_eq!(
            rel.resolve(&doc, line).and_then(scalar).as_deref(),
            Some("X")
        );
    }

    #[test]
    fn bad_paths_are_errors() {
        for bad in ["", "/", "a[", "a[x=1]", "a/[0]", "a]"] {
            assert!(TreePath::parse(bad).is_err(), "{bad}");
        }
        assert!(TreePath::parse("a[k='x/y']/b").is_ok());
    }
}
