//! Singer messages (one JSON object per stdout line) and the schemas records are checked
//! against. See <https://hub.meltano.com/singer/spec>.

use kontor_connector::Context;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// One message of the Singer protocol.
#[derive(Debug)]
pub enum Message {
    /// `{"type": "SCHEMA", "stream": …, "schema": {…}, "key_properties": […]}`.
    Schema {
        stream: String,
        schema: Value,
        key_properties: Vec<String>,
    },
    /// `{"type": "RECORD", "stream": …, "record": {…}}`.
    Record { stream: String, record: Value },
    /// `{"type": "STATE", "value": …}`.
    State { value: Value },
    /// Any other type (`ACTIVATE_VERSION`, `BATCH`, …).
    Other { kind: String },
}

/// Parses one line; the error is the reason the line is not a Singer message.
pub fn parse(line: &str) -> Result<Message, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let Value::Object(mut m) = v else {
        return Err("not a JSON object".into());
    };
    let kind = match m.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(_) => return Err("`type` is not a string".into()),
        None => return Err("no `type`".into()),
    };
    Ok(match kind.as_str() {
        "SCHEMA" => {
            let stream = stream_of(&m, &kind)?;
            let schema = match m.remove("schema") {
                Some(s @ (Value::Object(_) | Value::Bool(_))) => s,
                _ => return Err("SCHEMA without a `schema` object".into()),
            };
            let key_properties = match m.remove("key_properties") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .into_iter()
                    .map(|k| match k {
                        Value::String(s) => Ok(s),
                        _ => Err("`key_properties` must list strings".to_owned()),
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err("`key_properties` is not an array".into()),
            };
            Message::Schema {
                stream,
                schema,
                key_properties,
            }
        }
        "RECORD" => {
            let stream = stream_of(&m, &kind)?;
            match m.remove("record") {
                Some(record @ Value::Object(_)) => Message::Record { stream, record },
                Some(_) => return Err("`record` is not a JSON object".into()),
                None => return Err("RECORD without `record`".into()),
            }
        }
        "STATE" => match m.remove("value") {
            Some(value) => Message::State { value },
            None => return Err("STATE without `value`".into()),
        },
        _ => Message::Other { kind },
    })
}

fn stream_of(m: &Map<String, Value>, kind: &str) -> Result<String, String> {
    match m.get("stream") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(format!("{kind} without a `stream` name")),
    }
}

/// The latest SCHEMA of one stream, compiled.
pub struct StreamSchema {
    schema: Value,
    validator: jsonschema::Validator,
    pub key_properties: Vec<String>,
    /// The stream name shared by its records.
    pub name: Arc<str>,
    /// `plugin.stream` for mappings (`context = "plugin.stream"`).
    pub context: Arc<Context>,
}

impl StreamSchema {
    /// Checks a record; the error names the first violation and where it is.
    pub fn check(&self, record: &Value) -> Result<(), String> {
        self.validator.validate(record).map_err(|e| {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "/".to_owned() } else { at };
            crate::error::truncate(
                &format!(
                    "record violates the schema of stream `{}` at {at}: {e}",
                    self.name
                ),
                300,
            )
        })
    }
}

/// The schemas seen so far, by stream.
#[derive(Default)]
pub struct Schemas(HashMap<String, StreamSchema>);

impl Schemas {
    /// Sets (or replaces) a stream's schema. Formats (`date-time`, …) are not checked: taps
    /// differ too much in how strictly they follow them.
    pub fn set(
        &mut self,
        stream: String,
        schema: Value,
        key_properties: Vec<String>,
    ) -> Result<(), String> {
        if let Some(s) = self.0.get_mut(&stream)
            && s.schema == schema
        {
            s.key_properties = key_properties;
            return Ok(());
        }
        let validator = jsonschema::options()
            .should_validate_formats(false)
            .build(&schema)
            .map_err(|e| format!("invalid schema for stream `{stream}`: {e}"))?;
        let mut context = Context::new();
        context.insert("plugin.stream".into(), stream.clone());
        self.0.insert(
            stream.clone(),
            StreamSchema {
                schema,
                validator,
                key_properties,
                name: stream.as_str().into(),
                context: Arc::new(context),
            },
        );
        Ok(())
    }

    pub fn get(&self, stream: &str) -> Option<&StreamSchema> {
        self.0.get(stream)
    }

    pub fn contains(&self, stream: &str) -> bool {
        self.0.contains_key(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_three_message_kinds_and_others() {
        let m = parse(
            r#"{"type":"SCHEMA","stream":"c","schema":{"type":"object"},"key_properties":["id"]}"#,
        )
        .unwrap();
        assert!(
            matches!(m, Message::Schema { ref stream, ref key_properties, .. } if stream == "c" && key_properties == &["id"])
        );
        let m = parse(r#"{"type":"RECORD","stream":"c","record":{"id":1.50}}"#).unwrap();
        let Message::Record { record, .. } = m else {
            panic!("record expected: {m:?}")
        };
        // Numbers keep their text.
        assert_eq!(record.to_string(), r#"{"id":1.50}"#);
        let m = parse(r#"{"type":"STATE","value":{"bookmarks":{}}}"#).unwrap();
        assert!(matches!(m, Message::State { ref value } if value == &json!({"bookmarks": {}})));
        let m = parse(r#"{"type":"ACTIVATE_VERSION","stream":"c","version":1}"#).unwrap();
        assert!(matches!(m, Message::Other { ref kind } if kind == "ACTIVATE_VERSION"));
    }

    #[test]
    fn malformed_lines_say_why() {
        assert!(parse("hello").unwrap_err().starts_with("not JSON"));
        assert_eq!(parse("[1]").unwrap_err(), "not a JSON object");
        assert_eq!(parse(r#"{"stream":"c"}"#).unwrap_err(), "no `type`");
        assert_eq!(
            parse(r#"{"type":"RECORD","record":{}}"#).unwrap_err(),
            "RECORD without a `stream` name"
        );
        assert_eq!(
            parse(r#"{"type":"RECORD","stream":"c","record":[1]}"#).unwrap_err(),
            "`record` is not a JSON object"
        );
        assert_eq!(
            parse(r#"{"type":"STATE"}"#).unwrap_err(),
            "STATE without `value`"
        );
    }

    #[test]
    fn records_are_checked_against_their_schema() {
        let mut s = Schemas::default();
        let schema = json!({
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": ["string", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "at": {"type": "string", "format": "date-time"}
            },
            "required": ["id"]
        });
        s.set("c".into(), schema, vec!["id".into()]).unwrap();
        let c = s.get("c").unwrap();
        c.check(&json!({"id": 1, "name": null, "tags": ["a"], "at": "not checked"}))
            .unwrap();
        let e = c.check(&json!({"id": "1"})).unwrap_err();
        assert!(e.contains("at /id:") && e.contains("integer"), "{e}");
        let e = c.check(&json!({"id": 1, "tags": [1]})).unwrap_err();
        assert!(e.contains("at /tags/0:"), "{e}");
        let e = c.check(&json!({"name": "x"})).unwrap_err();
        assert!(e.contains("at /:") && e.contains("id"), "{e}");
        assert!(
            s.set("d".into(), json!({"type": 5}), Vec::new())
                .unwrap_err()
                .starts_with("invalid schema for stream `d`")
        );
    }
}
