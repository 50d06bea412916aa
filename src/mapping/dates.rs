//! Date patterns of a mapping: strftime (`%d.%m.%Y`), or the patterns people write in
//! German and English exports (`TT.MM.JJJJ`, `DD.MM.YYYY`, `JJJJ-MM-TT`), translated to
//! strftime. A pattern that could mean two things is rejected, naming the strftime form.

/// The strftime form of a mapping's `date` pattern, or why it is not accepted.
pub fn strftime_of(p: &str) -> Result<String, String> {
    if p.contains('%') {
        check_strftime(p)?;
        return Ok(p.to_owned());
    }
    let mut out = String::new();
    let mut problem: Option<String> = None;
    let mut chars = p.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if !c.is_alphabetic() {
            out.push(c);
            continue;
        }
        let mut run = c.to_string();
        while chars.peek() == Some(&c) {
            run.push(c);
            chars.next();
        }
        any = true;
        let (spec, why) = token(&run);
        out.push_str(spec);
        if let Some(w) = why {
            problem.get_or_insert(w);
        }
    }
    if !any {
        return Err(format!(
            "date format `{p}` has no day, month or year (use e.g. %d.%m.%Y, TT.MM.JJJJ, TTMM or auto)"
        ));
    }
    match problem {
        None => {
            check_strftime(&out)?;
            Ok(out)
        }
        Some(why) => Err(format!(
            "date format `{p}` is ambiguous ({why}): write it in strftime as `{out}`"
        )),
    }
}

/// One run of a letter: its strftime item, and why it is not taken as such (when it is not).
fn token(run: &str) -> (&'static str, Option<String>) {
    match run {
        "TT" | "DD" | "T" | "D" | "tt" | "dd" | "t" | "d" => ("%d", None),
        "MM" | "M" => ("%m", None),
        "JJJJ" | "YYYY" | "jjjj" | "yyyy" => ("%Y", None),
        "JJ" | "YY" | "jj" | "yy" => ("%y", None),
        "mm" | "m" => ("%m", Some(format!("`{run}` also means minutes"))),
        "MMM" | "MMMM" => ("%b", Some(format!("`{run}` is a month name"))),
        _ => ("%d", Some(format!("`{run}` is not a day, month or year"))),
    }
}

pub fn check_strftime(p: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(p).any(|i| matches!(i, Item::Error)) {
        return Err(format!(
            "date format `{p}` is not valid (use e.g. %d.%m.%Y, or TTMM, or auto)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::strftime_of;

    #[test]
    fn german_and_english_patterns_are_strftime_aliases() {
        assert_eq!(strftime_of("TT.MM.JJJJ").unwrap(), "%d.%m.%Y");
        assert_eq!(strftime_of("DD.MM.YYYY").unwrap(), "%d.%m.%Y");
        assert_eq!(strftime_of("JJJJ-MM-TT").unwrap(), "%Y-%m-%d");
        assert_eq!(strftime_of("dd/MM/yy").unwrap(), "%d/%m/%y");
        assert_eq!(strftime_of("%d.%m.%Y").unwrap(), "%d.%m.%Y");
    }

    #[test]
    fn ambiguous_patterns_name_the_strftime_form() {
        let e = strftime_of("dd.mm.yyyy").unwrap_err();
        assert!(e.contains("minutes") && e.contains("`%d.%m.%Y`"), "{e}");
        let e = strftime_of("TT.MMM.JJJJ").unwrap_err();
        assert!(e.contains("month name") && e.contains("`%d.%b.%Y`"), "{e}");
        assert!(strftime_of("heute").is_err());
        assert!(strftime_of("..").unwrap_err().contains("no day"));
        assert!(strftime_of("%Q").is_err());
    }
}
