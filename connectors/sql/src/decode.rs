//! Column values → JSON, exactly: decimals as their text, dates as `YYYY-MM-DD`, timestamps as
//! text, integers as numbers, NULL as null. Floating point columns are passed as their
//! shortest text (the caller warns once per column).

use crate::value::Val;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::mysql::{MySqlRow, MySqlTypeInfo};
use sqlx::postgres::{PgRow, PgTypeInfo, PgTypeKind};
use sqlx::{Column, Row, TypeInfo, ValueRef};

/// One decoded cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Uint(u64),
    /// Exact decimal text.
    Decimal(String),
    Float(f64),
    Bool(bool),
    Text(String),
    Date(NaiveDate),
    Datetime(NaiveDateTime),
    Timestamp(DateTime<Utc>),
    Time(String),
    Json(Value),
    Bytes(Vec<u8>),
}

/// How a column is read, decided once per column from its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Int,
    Uint,
    Decimal,
    Float,
    Bool,
    Text,
    Date,
    Datetime,
    Timestamp,
    Time,
    Json,
    Bytes,
    Uuid,
    Null,
}

impl Cell {
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::from(*i),
            Cell::Uint(u) => Value::from(*u),
            Cell::Decimal(s) | Cell::Text(s) | Cell::Time(s) => Value::String(s.clone()),
            Cell::Float(f) => Value::String(float_text(*f)),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
            Cell::Datetime(t) => Value::String(t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
            Cell::Timestamp(t) => {
                Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
            Cell::Json(v) => v.clone(),
            Cell::Bytes(b) => Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
        }
    }

    /// The cell as an increment or key value.
    pub fn to_val(&self) -> Result<Val, String> {
        Ok(match self {
            Cell::Int(i) => Val::Int(*i),
            Cell::Uint(u) => Val::Uint(*u),
            Cell::Decimal(s) => Val::Decimal(
                s.parse::<Decimal>()
                    .map_err(|e| format!("decimal `{s}` out of range ({e})"))?,
            ),
            Cell::Text(s) => Val::Text(s.clone()),
            Cell::Date(d) => Val::Date(*d),
            Cell::Datetime(t) => Val::Datetime(*t),
            Cell::Timestamp(t) => Val::Timestamp(*t),
            Cell::Null => return Err("is NULL".into()),
            other => {
                return Err(format!(
                    "has a type that cannot order rows ({}); use an integer, decimal, text, date \
                     or timestamp column",
                    match other {
                        Cell::Float(_) => "floating point",
                        Cell::Bool(_) => "boolean",
                        Cell::Time(_) => "time of day",
                        Cell::Json(_) => "JSON",
                        _ => "binary",
                    }
                ));
            }
        })
    }
}

/// The shortest text that reads back as the same float (`19.99`, not `19.989999999999998`).
pub fn float_text(f: f64) -> String {
    if f.is_finite() {
        format!("{f}")
    } else {
        f.to_string()
    }
}

fn unsupported(col: &str, ty: &str, cast: &str) -> String {
    format!(
        "column `{col}` has type {ty}, which kontor does not read: cast it in the query ({cast}) or leave it out"
    )
}

/// How a PostgreSQL column is read.
pub fn pg_read(col: &str, ty: &PgTypeInfo) -> Result<Read, String> {
    if let PgTypeKind::Domain(base) = ty.kind() {
        return pg_read(col, base);
    }
    if let PgTypeKind::Enum(_) = ty.kind() {
        return Ok(Read::Text);
    }
    Ok(match ty.name() {
        "BOOL" => Read::Bool,
        "INT2" | "INT4" | "INT8" => Read::Int,
        "NUMERIC" => Read::Decimal,
        "FLOAT4" | "FLOAT8" => Read::Float,
        "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" | "citext" => Read::Text,
        "DATE" => Read::Date,
        "TIMESTAMP" => Read::Datetime,
        "TIMESTAMPTZ" => Read::Timestamp,
        "TIME" => Read::Time,
        "JSON" | "JSONB" => Read::Json,
        "BYTEA" => Read::Bytes,
        "UUID" => Read::Uuid,
        "VOID" | "UNKNOWN" => Read::Null,
        "MONEY" => return Err(unsupported(col, "MONEY", "x::numeric")),
        other => return Err(unsupported(col, other, "x::text")),
    })
}

/// How a MariaDB/MySQL column is read.
pub fn my_read(col: &str, ty: &MySqlTypeInfo) -> Result<Read, String> {
    Ok(match ty.name() {
        // TINYINT(1): kept as the number it holds.
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => Read::Int,
        "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED" => {
            Read::Int
        }
        "BIGINT UNSIGNED" => Read::Uint,
        "DECIMAL" => Read::Decimal,
        "FLOAT" | "DOUBLE" => Read::Float,
        "CHAR" | "VARCHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" => {
            Read::Text
        }
        "DATE" => Read::Date,
        "DATETIME" => Read::Datetime,
        "TIMESTAMP" => Read::Timestamp,
        "TIME" => Read::Time,
        "JSON" => Read::Json,
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => Read::Bytes,
        "NULL" => Read::Null,
        "BIT" => return Err(unsupported(col, "BIT", "CAST(x AS UNSIGNED)")),
        other => return Err(unsupported(col, other, "CAST(x AS CHAR)")),
    })
}

type Res<T> = Result<T, sqlx::Error>;

/// One PostgreSQL value (not NULL) as `read` says.
pub fn pg_cell(row: &PgRow, i: usize, read: Read) -> Res<Cell> {
    if row.try_get_raw(i)?.is_null() {
        return Ok(Cell::Null);
    }
    Ok(match read {
        Read::Int => Cell::Int(match row.column(i).type_info().name() {
            "INT2" => i64::from(row.try_get_unchecked::<i16, _>(i)?),
            "INT4" => i64::from(row.try_get_unchecked::<i32, _>(i)?),
            _ => row.try_get_unchecked::<i64, _>(i)?,
        }),
        Read::Uint => Cell::Uint(row.try_get_unchecked::<i64, _>(i)? as u64),
        Read::Decimal => Cell::Decimal(row.try_get_unchecked::<Decimal, _>(i)?.to_string()),
        Read::Float => Cell::Float(match row.column(i).type_info().name() {
            "FLOAT4" => f64::from(row.try_get_unchecked::<f32, _>(i)?),
            _ => row.try_get_unchecked::<f64, _>(i)?,
        }),
        Read::Bool => Cell::Bool(row.try_get_unchecked::<bool, _>(i)?),
        Read::Text => Cell::Text(row.try_get_unchecked::<String, _>(i)?),
        Read::Date => Cell::Date(row.try_get_unchecked::<NaiveDate, _>(i)?),
        Read::Datetime => Cell::Datetime(row.try_get_unchecked::<NaiveDateTime, _>(i)?),
        Read::Timestamp => Cell::Timestamp(row.try_get_unchecked::<DateTime<Utc>, _>(i)?),
        Read::Time => Cell::Time(
            row.try_get_unchecked::<NaiveTime, _>(i)?
                .format("%H:%M:%S%.f")
                .to_string(),
        ),
        Read::Json => Cell::Json(row.try_get_unchecked::<Value, _>(i)?),
        Read::Bytes => Cell::Bytes(row.try_get_unchecked::<Vec<u8>, _>(i)?),
        Read::Uuid => {
            let b = row.try_get_unchecked::<Vec<u8>, _>(i)?;
            Cell::Text(uuid_text(&b))
        }
        Read::Null => Cell::Null,
    })
}

fn uuid_text(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    if hex.len() != 32 {
        return hex;
    }
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// One MariaDB/MySQL value as `read` says. Zero dates (`0000-00-00`) read as NULL.
pub fn my_cell(row: &MySqlRow, i: usize, read: Read) -> Res<Cell> {
    if row.try_get_raw(i)?.is_null() {
        return Ok(Cell::Null);
    }
    let zero = || -> Res<bool> { Ok(row.try_get_unchecked::<&[u8], _>(i)?.is_empty()) };
    Ok(match read {
        Read::Int => Cell::Int(row.try_get_unchecked::<i64, _>(i)?),
        Read::Uint => Cell::Uint(row.try_get_unchecked::<u64, _>(i)?),
        // Sent as text: kept exactly, also beyond 28 digits.
        Read::Decimal => Cell::Decimal(row.try_get_unchecked::<String, _>(i)?),
        Read::Float => Cell::Float(match row.column(i).type_info().name() {
            "FLOAT" => f64::from(row.try_get_unchecked::<f32, _>(i)?),
            _ => row.try_get_unchecked::<f64, _>(i)?,
        }),
        Read::Bool => Cell::Bool(row.try_get_unchecked::<bool, _>(i)?),
        Read::Text => Cell::Text(row.try_get_unchecked::<String, _>(i)?),
        Read::Date if zero()? => Cell::Null,
        Read::Datetime | Read::Timestamp if zero()? => Cell::Null,
        Read::Date => Cell::Date(row.try_get_unchecked::<NaiveDate, _>(i)?),
        Read::Datetime => Cell::Datetime(row.try_get_unchecked::<NaiveDateTime, _>(i)?),
        // The session's time zone is UTC (set by the driver).
        Read::Timestamp => Cell::Timestamp(row.try_get_unchecked::<DateTime<Utc>, _>(i)?),
        Read::Time => Cell::Time(my_time(
            &row.try_get_unchecked::<sqlx::mysql::types::MySqlTime, _>(i)?,
        )),
        Read::Json => Cell::Json(row.try_get_unchecked::<Value, _>(i)?),
        Read::Bytes | Read::Uuid => text_or_bytes(row.try_get_unchecked::<Vec<u8>, _>(i)?),
        Read::Null => Cell::Null,
    })
}

/// `[-]HH:MM:SS[.ffffff]` (a MariaDB `TIME` is a duration and may exceed 24 hours).
fn my_time(t: &sqlx::mysql::types::MySqlTime) -> String {
    let sign = if t.sign() == sqlx::mysql::types::MySqlTimeSign::Negative {
        "-"
    } else {
        ""
    };
    let mut out = format!(
        "{sign}{:02}:{:02}:{:02}",
        t.hours(),
        t.minutes(),
        t.seconds()
    );
    if t.microseconds() > 0 {
        out.push_str(&format!(".{:06}", t.microseconds()));
    }
    out
}

/// MariaDB/MySQL flag text with a `_bin` collation (and MariaDB's `JSON`) as binary: printable
/// UTF-8 is text, anything else stays bytes (hex).
fn text_or_bytes(b: Vec<u8>) -> Cell {
    match String::from_utf8(b) {
        Ok(s)
            if !s
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) =>
        {
            Cell::Text(s)
        }
        Ok(s) => Cell::Bytes(s.into_bytes()),
        Err(e) => Cell::Bytes(e.into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_render_exactly() {
        assert_eq!(Cell::Decimal("119.00".into()).to_json(), "119.00");
        assert_eq!(Cell::Float(19.99).to_json(), "19.99");
        assert_eq!(Cell::Float(0.1 + 0.2).to_json(), "0.30000000000000004");
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(Cell::Date(d).to_json(), "2026-03-01");
        let t = d.and_hms_micro_opt(9, 5, 0, 120).unwrap();
        assert_eq!(Cell::Datetime(t).to_json(), "2026-03-01 09:05:00.000120");
        assert_eq!(
            Cell::Datetime(d.and_hms_opt(9, 5, 0).unwrap()).to_json(),
            "2026-03-01 09:05:00"
        );
        assert_eq!(
            Cell::Timestamp(t.and_utc()).to_json(),
            "2026-03-01T09:05:00.000120Z"
        );
        assert_eq!(Cell::Int(-3).to_json().to_string(), "-3");
        assert_eq!(Cell::Bytes(vec![0, 255]).to_json(), "00ff");
        assert_eq!(
            text_or_bytes(b"K-0001".to_vec()),
            Cell::Text("K-0001".into())
        );
        assert_eq!(
            text_or_bytes(vec![0x4b, 0x00]),
            Cell::Bytes(vec![0x4b, 0x00])
        );
        assert_eq!(
            text_or_bytes(vec![0xff, 0x10]),
            Cell::Bytes(vec![0xff, 0x10])
        );
        assert_eq!(
            uuid_text(&[0x12; 16]),
            "12121212-1212-1212-1212-121212121212"
        );
    }

    #[test]
    fn only_ordered_types_are_positions() {
        assert_eq!(
            Cell::Decimal("1.50".into()).to_val(),
            Ok(Val::Decimal("1.50".parse().unwrap()))
        );
        assert!(Cell::Float(1.0).to_val().unwrap_err().contains("floating"));
        assert!(Cell::Null.to_val().is_err());
    }
}
