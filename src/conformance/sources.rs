//! The checks against a broken source: unreachable, and empty.

use super::*;

pub(super) async fn unreachable_source(
    cfg: &Config,
    cc: &ConnectorConfig,
    report: &mut Report,
    texts: &mut Vec<String>,
) {
    let mut gone = cc.clone();
    let replaced = if gone.settings.contains_key("path") {
        gone.settings
            .insert("path".into(), "/nonexistent/kontor-conformance".into());
        true
    } else if gone.settings.contains_key("base_url") {
        gone.settings
            .insert("base_url".into(), "http://127.0.0.1:9".into());
        true
    } else if ["url", "url_env", "url_file"]
        .iter()
        .any(|k| gone.settings.contains_key(*k))
    {
        // A database nobody listens for (the sql connector).
        for k in ["url", "url_env", "url_file"] {
            gone.settings.remove(k);
        }
        gone.settings
            .insert("url".into(), "postgres://kontor@127.0.0.1:9/none".into());
        true
    } else if gone.settings.contains_key("command") {
        gone.settings.insert(
            "command".into(),
            toml::Value::Array(vec!["/nonexistent/kontor-conformance".into()]),
        );
        true
    } else {
        false
    };
    if !replaced {
        report.add(
            "an unreachable source fails clearly",
            Verdict::Skip,
            "no path, base_url, url or command to change",
        );
        return;
    }
    // The made-up folder is allowed: the check is about the connector's own error.
    let mut cfg = cfg.clone();
    cfg.sync
        .allowed_roots
        .push("/nonexistent/kontor-conformance".into());
    let outcome = match sync::prepare(&cfg, &gone) {
        Err(d) => Err(d
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")),
        Ok(p) => match p.connector.check().await {
            Err(e) => Err(e.to_string()),
            Ok(_) => match p.connector.discover().await {
                Err(e) => Err(e.to_string()),
                Ok(units) if units.is_empty() => Ok("nothing to read".to_owned()),
                Ok(units) => match p.connector.open(&units[0], None).await {
                    Err(e) => Err(e.to_string()),
                    Ok(mut r) => r
                        .next_batch()
                        .await
                        .map(|_| "read something".to_owned())
                        .map_err(|e| e.to_string()),
                },
            },
        },
    };
    match outcome {
        Err(msg) => {
            texts.push(msg.clone());
            report.add("an unreachable source fails clearly", Verdict::Pass, msg);
        }
        Ok(what) if what == "nothing to read" => report.add(
            "an unreachable source fails clearly",
            Verdict::Pass,
            "reported as empty",
        ),
        Ok(what) => report.add("an unreachable source fails clearly", Verdict::Fail, what),
    }
}

pub(super) async fn empty_source(cfg: &Config, cc: &ConnectorConfig, report: &mut Report) {
    if !cc.settings.contains_key("path") {
        report.add(
            "an empty source loads nothing",
            Verdict::Skip,
            "only file sources can be emptied here",
        );
        return;
    }
    let Ok(dir) = tempfile::tempdir() else { return };
    let mut empty = cc.clone();
    empty
        .settings
        .insert("path".into(), dir.path().display().to_string().into());
    let mut cfg = cfg.clone();
    cfg.sync
        .allowed_roots
        .push(dir.path().display().to_string());
    let result = async {
        let p = sync::prepare(&cfg, &empty).map_err(|d| d[0].to_string())?;
        let (store, _d) = scratch().await?;
        let opts = SyncOptions {
            node: "conformance".into(),
            ..Default::default()
        };
        sync::run(&store, &p, &opts)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    match result {
        Ok(r) if r.status == RunStatus::Ok && r.counts.read == 0 => {
            report.add(
                "an empty source loads nothing",
                Verdict::Pass,
                r.summary_line(),
            );
        }
        Ok(r) => report.add(
            "an empty source loads nothing",
            Verdict::Fail,
            format!("{:?}: {}", r.status, r.summary_line()),
        ),
        Err(e) => report.add("an empty source loads nothing", Verdict::Fail, e),
    }
}
