//! The statements kontor sends: the user's query wrapped for keyset paging over
//! `(increment, key)`, and the bounds query at the start of a run.

use crate::config::Stream;
use crate::position::Pos;
use crate::value::Val;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
}

impl Dialect {
    fn quote(self, name: &str) -> String {
        match self {
            Dialect::Postgres => format!("kontor_q.\"{name}\""),
            Dialect::MySql => format!("kontor_q.`{name}`"),
        }
    }

    fn param(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::MySql => "?".into(),
        }
    }
}

/// The user's query as a derived table. Newlines keep a trailing `-- comment` of the query
/// from swallowing the rest.
fn from(stream: &Stream) -> String {
    format!("SELECT * FROM (\n{}\n) kontor_q", stream.query)
}

/// The next page after `after` (`None`: from the start), at most `limit` rows, and the values
/// to bind in order. With a key in `after` the row at `after` itself is included (`>=`): the
/// reader drops it and so notices a key that is not unique across a page boundary.
pub fn page(d: Dialect, stream: &Stream, after: Option<&Pos>, limit: u32) -> (String, Vec<Val>) {
    let key = d.quote(&stream.key);
    let mut binds = Vec::new();
    let mut p = |v: &Val| {
        binds.push(v.clone());
        d.param(binds.len())
    };
    let mut cond = vec![format!("{key} IS NOT NULL")];
    let order = match &stream.increment {
        Some(inc) => {
            let inc = d.quote(inc);
            cond.push(format!("{inc} IS NOT NULL"));
            match after {
                Some(Pos {
                    increment: Some(i),
                    key: Some(k),
                    ..
                }) => {
                    let (a, b, c) = (p(i), p(i), p(k));
                    cond.push(format!("({inc} > {a} OR ({inc} = {b} AND {key} >= {c}))"));
                }
                Some(Pos {
                    increment: Some(i),
                    key: None,
                    ..
                }) => cond.push(format!("{inc} >= {}", p(i))),
                _ => {}
            }
            format!("{inc}, {key}")
        }
        None => {
            if let Some(Pos {
                key: Some(k),
                complete: false,
                ..
            }) = after
            {
                cond.push(format!("{key} >= {}", p(k)));
            }
            key.clone()
        }
    };
    let sql = format!(
        "{} WHERE {} ORDER BY {order} LIMIT {limit}",
        from(stream),
        cond.join(" AND ")
    );
    (sql, binds)
}

/// The largest increment (NULL for a stream without one) and the number of rows that have no
/// increment or no key (they cannot be paged and are not read).
pub fn bounds(d: Dialect, stream: &Stream) -> String {
    let key = d.quote(&stream.key);
    let (max, missing) = match &stream.increment {
        Some(inc) => {
            let inc = d.quote(inc);
            (
                format!("MAX({inc})"),
                format!("{inc} IS NULL OR {key} IS NULL"),
            )
        }
        None => ("NULL".into(), format!("{key} IS NULL")),
    };
    format!(
        "SELECT {max} AS kontor_max, COUNT(CASE WHEN {missing} THEN 1 END) AS kontor_missing FROM (\n{}\n) kontor_q",
        stream.query
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(inc: Option<&str>) -> Stream {
        Stream {
            name: "orders".into(),
            query: "SELECT * FROM orders -- all".into(),
            increment: inc.map(str::to_owned),
            key: "id".into(),
            margin: None,
            json_columns: Vec::new(),
            page_size: 10,
        }
    }

    #[test]
    fn keyset_paging_per_dialect() {
        let s = stream(Some("updated_at"));
        let (sql, binds) = page(Dialect::Postgres, &s, None, 11);
        assert_eq!(
            sql,
            "SELECT * FROM (\nSELECT * FROM orders -- all\n) kontor_q WHERE kontor_q.\"id\" IS NOT NULL \
             AND kontor_q.\"updated_at\" IS NOT NULL ORDER BY kontor_q.\"updated_at\", kontor_q.\"id\" LIMIT 11"
        );
        assert!(binds.is_empty());
        let after = Pos {
            increment: Some(Val::Int(5)),
            key: Some(Val::Int(9)),
            complete: false,
        };
        let (sql, binds) = page(Dialect::MySql, &s, Some(&after), 11);
        assert!(
            sql.contains(
                "(kontor_q.`updated_at` > ? OR (kontor_q.`updated_at` = ? AND kontor_q.`id` >= ?))"
            ),
            "{sql}"
        );
        assert_eq!(binds, [Val::Int(5), Val::Int(5), Val::Int(9)]);
        let held = Pos {
            increment: Some(Val::Int(5)),
            key: None,
            complete: false,
        };
        let (sql, binds) = page(Dialect::Postgres, &s, Some(&held), 11);
        assert!(
            sql.contains("kontor_q.\"updated_at\" >= $1 ORDER BY"),
            "{sql}"
        );
        assert_eq!(binds, [Val::Int(5)]);
    }

    #[test]
    fn whole_streams_page_by_key() {
        let s = stream(None);
        let after = Pos {
            increment: None,
            key: Some(Val::Text("K1".into())),
            complete: false,
        };
        let (sql, binds) = page(Dialect::Postgres, &s, Some(&after), 3);
        assert!(
            sql.ends_with("kontor_q.\"id\" >= $1 ORDER BY kontor_q.\"id\" LIMIT 3"),
            "{sql}"
        );
        assert_eq!(binds.len(), 1);
        let done = Pos {
            complete: true,
            ..Pos::default()
        };
        let (_, binds) = page(Dialect::Postgres, &s, Some(&done), 3);
        assert!(binds.is_empty());
        assert!(bounds(Dialect::MySql, &s).starts_with("SELECT NULL AS kontor_max"));
    }
}
