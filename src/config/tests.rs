use super::*;

fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, Vec<String>> {
    Config::parse(
        "k.toml",
        text,
        PathBuf::from("."),
        env.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())),
    )
    .map_err(|d| d.iter().map(ToString::to_string).collect())
}

#[test]
fn defaults_and_connectors() {
    let c = parse("[[connector]]\nname = \"wawi\"\nkind = \"csv\"\npath = \"in/*.csv\"\nmapping = \"m.toml\"\n", &[]).unwrap();
    assert_eq!(c.store.url, "sqlite://kontor.db");
    assert_eq!(c.server.listen, "127.0.0.1:8080");
    let w = c.connector("wawi").unwrap();
    assert_eq!(
        (w.kind.as_str(), w.max_reject_ratio, w.mode),
        ("csv", 0.1, None)
    );
    assert_eq!(
        w.settings.get("path").and_then(|p| p.as_str()),
        Some("in/*.csv")
    );
    assert!(!w.settings.contains_key("name"));
}

#[test]
fn errors_name_line_and_key() {
    let errs = parse("[store]\nurll = \"x\"\n\n[[connector]]\nname = \"Wawi Rechnungen\"\nkind = \"csv\"\nmax_reject_ratio = 2.0\n[bogus]\n", &[]).unwrap_err();
    let all = errs.join("\n");
    assert!(all.contains("k.toml:2:1: unknown field `urll`"), "{all}");
    assert!(
        all.contains("k.toml:5:1: connector name `Wawi Rechnungen`"),
        "{all}"
    );
    assert!(
        all.contains("k.toml:7:1: max_reject_ratio must be between 0 and 1"),
        "{all}"
    );
    assert!(
        all.contains("k.toml:8:2: unknown key `bogus`")
            || all.contains("k.toml:8:1: unknown key `bogus`"),
        "{all}"
    );
    let errs = parse("[[connector]]\nkind = \"csv\"\n", &[]).unwrap_err();
    assert!(errs[0].contains("missing field `name`"), "{errs:?}");
    let errs = parse("[store\n", &[]).unwrap_err();
    assert!(errs[0].starts_with("k.toml:1:"), "{errs:?}");
}

#[test]
fn environment_overrides() {
    let text = "[store]\nurl = \"sqlite://a.db\"\n[[connector]]\nname = \"wawi-invoices\"\nkind = \"csv\"\npath = \"a\"\n";
    let c = parse(
        text,
        &[
            ("KONTOR_STORE__URL", "postgres://k@db/k"),
            ("KONTOR_CONNECTOR__WAWI_INVOICES__PATH", "b/*.csv"),
            ("KONTOR_SYNC__BATCH_SIZE", "100"),
            ("KONTOR_CONFIG", "x"),
        ],
    )
    .unwrap();
    assert_eq!(c.store.url, "postgres://k@db/k");
    assert_eq!(
        c.connector("wawi-invoices").unwrap().settings["path"].as_str(),
        Some("b/*.csv")
    );
    assert_eq!(c.sync.batch_size, 100);
    let errs = parse(text, &[("KONTOR_STOER__URL", "x")]).unwrap_err();
    assert!(
        errs[0].contains("KONTOR_STOER__URL") && errs[0].contains("unknown section"),
        "{errs:?}"
    );
}

#[test]
fn identity_server_and_schedule_errors_name_their_keys() {
    let errs = parse(
        "[server]\nrate_limit = \"fast\"\n[identity]\nrules = [\"vat_id\", \"shoe_size\"]\nconflict = \"loudest\"\n\
         priority = [\"wawi\", \"nope\"]\nfield_priority = { birthday = [\"wawi\"] }\nignore = [\"info@x.de\", \"nobody\"]\n\
         [[connector]]\nname = \"wawi\"\nkind = \"csv\"\nsystem = \"Wa Wi\"\nschedule = \"*/10 * * *\"\n",
        &[],
    )
    .unwrap_err();
    let all = errs.join("\n");
    for want in [
        "k.toml:2:1: invalid rate `fast`",
        "k.toml:4:20: unknown rule `shoe_size`",
        "k.toml:5:1: conflict `loudest`",
        "k.toml:6:21: no connector named `nope`",
        "unknown field `birthday`",
        "ignore `nobody`: neither an e-mail address nor a phone number",
        "k.toml:12:1: system `Wa Wi`",
        "k.toml:13:1: schedule `*/10 * * *`: use 5 fields",
    ] {
        assert!(all.contains(want), "missing {want} in\n{all}");
    }
    let ok = parse(
        "[identity]\npriority = [\"wawi\"]\n[[connector]]\nname = \"wawi\"\nkind = \"csv\"\nschedule = \"*/10 * * * *\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(ok.connector("wawi").unwrap().system, "wawi");
    assert_eq!(ok.identity.conflict, "newest");
    assert_eq!(ok.identity.generic_after, 3);
}

#[test]
fn cti_section_and_connector_labels() {
    let c = parse(
        "[cti]\nextensions = { \"23\" = \"vertrieb-nord\" }\ndefault_area_code = \"0221\"\n\n[[connector]]\nname = \"wawi\"\nkind = \"csv\"\nlabel = \" Warenwirtschaft \"\npath = \"in\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.cti.extensions["23"], "vertrieb-nord");
    assert_eq!(c.cti.default_area_code.as_deref(), Some("0221"));
    assert_eq!(
        c.connector("wawi").unwrap().label.as_deref(),
        Some("Warenwirtschaft")
    );
    assert!(!c.connector("wawi").unwrap().settings.contains_key("label"));
    let errs = parse("[cti]\ndefault_area_code = \"221\"\nringtone = 1\n", &[]).unwrap_err();
    let all = errs.join("\n");
    assert!(
        all.contains("k.toml:3:1: unknown field `ringtone`"),
        "{all}"
    );
    let errs = parse("[cti]\ndefault_area_code = \"221\"\n", &[]).unwrap_err();
    assert!(
        errs.join("\n")
            .contains("k.toml:2:1: default_area_code `221`"),
        "{errs:?}"
    );
}
