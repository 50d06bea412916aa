//! Statement text that SQLite binds in linear time.
//!
//! sqlx binds a SQLite statement by asking for every parameter's name
//! (`sqlite3_bind_parameter_name`), and SQLite finds a name by walking the list of all named
//! parameters: a statement with `n` parameters written `$1 … $n` costs `n²/2` steps to bind.
//! At the 3 600 parameters of a 400-row VALUES list that is ≈ 6.5 million steps per
//! statement — most of a first identity pass's time on SQLite. An anonymous `?` has no name;
//! sqlx gives the `j`-th anonymous `?` of a statement its `j`-th argument, and a `$k` its
//! `k`-th. So a `$k` where `k` is one more than the anonymous `?` before it is the same
//! argument written as `?`. [`anonymous`] rewrites those and leaves every other `$k` as it is:
//! the statement binds the same values.

/// `sql` with each `$k` that sqlx would bind to the same argument as an anonymous `?`
/// replaced by `?`. Quoted text (`'…'`, `"…"`, `` `…` ``, `[…]`) is left alone.
pub(crate) fn anonymous(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    // Anonymous parameters so far (sqlx's count); text copied up to `done`.
    let (mut anon, mut done, mut i) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`' | b'[') => {
                let close = if q == b'[' { b']' } else { q };
                i = b[i + 1..]
                    .iter()
                    .position(|&c| c == close)
                    .map_or(b.len(), |p| i + 1 + p + 1);
            }
            c @ (b'$' | b'?') => {
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                // `v$1` is a name, not a parameter.
                let in_name = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                let number = sql[i + 1..i + 1 + digits].parse::<usize>().ok();
                match (c, number) {
                    _ if in_name => {}
                    (b'?', None) => anon += 1,
                    (b'$', Some(k)) if k == anon + 1 => {
                        out.push_str(&sql[done..i]);
                        out.push('?');
                        done = i + 1 + digits;
                        anon += 1;
                    }
                    _ => {}
                }
                i += 1 + digits;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[done..]);
    out
}

#[cfg(test)]
mod tests {
    use super::anonymous;
    use sqlx::{Connection, Row, SqliteConnection};

    #[test]
    fn in_order_parameters_become_anonymous_the_rest_stay() {
        assert_eq!(anonymous("VALUES ($1,$2),($3,$4)"), "VALUES (?,?),(?,?)");
        // A `$k` is the k-th argument, the j-th `?` the j-th: only `$1` can be the first `?`.
        assert_eq!(
            anonymous("a = $2 AND b IN ($3, $4) AND c = $1 AND d = $2"),
            "a = $2 AND b IN ($3, $4) AND c = ? AND d = ?"
        );
        assert_eq!(
            anonymous("a = $1 AND b IN ($2, $3)"),
            "a = ? AND b IN (?, ?)"
        );
        assert_eq!(
            anonymous("x = ? AND y = $2 AND z = ?3"),
            "x = ? AND y = ? AND z = ?3"
        );
        // Quoted text and names are not parameters.
        assert_eq!(
            anonymous("json_extract(d, '$.a') = $1 AND \"c$1\" = $2 AND v$3 = [$4]"),
            "json_extract(d, '$.a') = ? AND \"c$1\" = ? AND v$3 = [$4]"
        );
        assert_eq!(anonymous("v$3 = $1 AND x = $4"), "v$3 = ? AND x = $4");
        assert_eq!(anonymous("'it''s $1' || $1"), "'it''s $1' || ?");
    }

    /// The rewritten statement binds every value where the original did.
    #[tokio::test]
    async fn the_rewritten_statement_binds_the_same_values() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        for sql in [
            "SELECT $1, $2, $3, $4",
            "SELECT $2, $3, $1, $4, $2",
            "SELECT '$1' || $1, $3, $2, $4",
            "SELECT $1 WHERE $2 IN ($2, $3, $4)",
            "SELECT $3, $1, $2, $4",
            "SELECT $2 || $2, $1, ?, ?3, $4",
        ] {
            let mut rows = Vec::new();
            for text in [sql.to_owned(), anonymous(sql)] {
                let row = sqlx::query(sqlx::AssertSqlSafe(text))
                    .bind("a")
                    .bind("b")
                    .bind("c")
                    .bind("d")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                let cols: Vec<Option<String>> = (0..row.len())
                    .map(|i| row.get::<Option<String>, _>(i))
                    .collect();
                rows.push(cols);
            }
            assert_eq!(rows[0], rows[1], "{sql} → {}", anonymous(sql));
        }
    }
}
